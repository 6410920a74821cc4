/**
 * `npm run bench -- --only accounts`: the bulk import and export of `npm run accounts` on
 * 1,000,000 profiles, each beside `psql \copy` of the same rows into and out of a plain table
 * (no key, no index, no check) in the same database, same run. See docs/accounts.md.
 *
 *   npm run bench -- --only accounts [--rows 1000000] [--pg-port 54339] [--keep] [--full]
 *
 * Steps: write the rows once as JSON Lines (our format) and as COPY text; import into an empty
 * database; import the same file again (every row unchanged); export in our format and in Tencent's.
 * With --full also: import a file that changes every profile's nick (one change event each), and
 * import the Tencent export into another empty database. Each import and export is the real command, a process of its
 * own, timed from its start to its exit; its peak memory is read from /proc.
 *
 * DATABASE_URL: the server to create the throwaway databases on; unset, an embedded Postgres is
 * started in .data/bench-postgres on --pg-port.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Client } from 'pg';
import { openDatabase } from '../src/db/database.js';
import { benchDatabase } from './bench-database.js';
import {
  postgresTypeOf,
  PROFILE_FIELDS,
  specOf,
  STANDARD_FIELDS,
  type StandardField,
} from '../src/user/profile-fields.js';
import { BENCH_CUSTOM_FIELDS } from './seed.js';

const ROOT = path.resolve(__dirname, '..', '..');
const COMMAND = path.join(ROOT, 'dist', 'scripts', 'accounts.js');

interface Options {
  rows: number;
  pgPort: number;
  keep: boolean;
  /** Also the import that changes every profile and the import of the Tencent export. */
  full: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rows: 1_000_000, pgPort: 54339, keep: false, full: false };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--only') {
      i += 1;
      continue;
    }
    if (flag === '--keep' || flag === '--full') {
      options[flag === '--keep' ? 'keep' : 'full'] = true;
      continue;
    }
    const value = Number(argv[i + 1]);
    if ((flag === '--rows' || flag === '--pg-port') && Number.isInteger(value) && value > 0) {
      if (flag === '--rows') options.rows = value;
      else options.pgPort = value;
      i += 1;
      continue;
    }
    throw new Error(`unknown flag or bad value: ${flag} ${argv[i + 1] ?? ''}`);
  }
  return options;
}

/** The i-th profile's value of each standard field, from its kind (a new field gets values too). */
function valueOf(field: StandardField, i: number, variant: string): string | number {
  const spec = specOf(field);
  switch (spec.kind) {
    case 'text':
      if (spec.url === true) return `https://cdn.example.com/${field}/${i}.png`;
      if (spec.maxBytes < 40) return `${field.slice(0, 4)}-${i % 1000}`.slice(0, spec.maxBytes);
      // A status line is a sentence; a name (the nickname) is a few words, as the service bench seeds them.
      if (spec.multiline === true)
        return `${variant}Status line of bench account ${i}, long enough to look like a real one.`;
      return `${variant}Bench ${field} ${i}`.slice(0, spec.maxBytes);
    case 'uint32':
      return spec.date === true ? 19700101 + (i % 50) * 10000 + (i % 12) * 100 + (i % 28) : i % 1000;
    case 'choice':
      return spec.values[i % spec.values.length];
    case 'enum': {
      const values = Object.values(spec.values);
      return values[i % values.length];
    }
  }
}

const accountID = (i: number): string => `bulk_${String(i).padStart(7, '0')}`;

function customFieldsOf(i: number): Record<string, string> {
  const [a, b, c] = BENCH_CUSTOM_FIELDS;
  return { [a]: `first-${i}`, [b]: `second-${(i * 7) % 1000}`, [c]: `third value ${i}` };
}

function jsonLine(i: number, variant: string): string {
  const profile: Record<string, unknown> = { userID: accountID(i) };
  for (const field of STANDARD_FIELDS) profile[field] = valueOf(field, i, variant);
  profile.profileCustomField = Object.entries(customFieldsOf(i)).map(([key, value]) => ({ key, value }));
  return `${JSON.stringify(profile)}\n`;
}

/** The same row as COPY text for the plain table (no value here needs escaping). */
function copyLine(i: number): string {
  const values = [
    accountID(i),
    ...STANDARD_FIELDS.map((field) => String(valueOf(field, i, ''))),
    JSON.stringify(customFieldsOf(i)),
  ];
  return `${values.join('\t')}\n`;
}

async function writeFile(file: string, rows: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1024 * 1024 });
  let batch = '';
  for (let i = 0; i < rows; i += 1) {
    batch += line(i);
    if (batch.length > 512 * 1024) {
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  out.end(batch);
  await once(out, 'finish');
}

const PLAIN_TABLE = 'accounts_bench_plain';
const PLAIN_COLUMNS = [
  'user_id text',
  ...STANDARD_FIELDS.map((field) => `${PROFILE_FIELDS[field].column} ${postgresTypeOf(PROFILE_FIELDS[field])}`),
  'custom_fields jsonb',
];

interface Timed {
  readonly ms: number;
  readonly peakRssMiB?: number;
  readonly stdout: string;
}

function peakRssKiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Runs a process to its end; fails unless it exits with 0. */
async function timed(command: string, args: string[], env: Record<string, string>): Promise<Timed> {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  let peak: number | undefined;
  const sampler = setInterval(() => {
    peak = Math.max(peak ?? 0, peakRssKiB(child.pid!) ?? 0);
  }, 100);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(sampler);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0)
    throw new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}:\n${stderr}${stdout}`);
  return { ms, peakRssMiB: peak === undefined ? undefined : peak / 1024, stdout };
}

function expectSummary(run: Timed, pattern: RegExp, what: string): void {
  if (!pattern.test(run.stdout)) throw new Error(`${what}: unexpected summary ${run.stdout}`);
}

async function withDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase(url.toString(), { poolMax: 1, migrate: true });
  await database.close();
  return url.toString();
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mib = (value: number | undefined): string => (value === undefined ? '-' : `${value.toFixed(0)} MiB`);

export async function runAccountsBench(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const loadAtStart = os.loadavg()[0];
  const { url: serverUrl, stop: stopEmbedded } = await benchDatabase(options.pgPort);
  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' });
  const havePsql = psql.status === 0;
  const folder = await mkdtemp(path.join(os.tmpdir(), 'profile-service-bench-accounts-'));
  const names = [`accounts_bench_${process.pid}`, `accounts_bench_${process.pid}_tencent`];
  try {
    const rows = options.rows;
    const files = {
      profiles: path.join(folder, 'profiles.jsonl'),
      changed: path.join(folder, 'changed.jsonl'),
      copy: path.join(folder, 'profiles.copy'),
      exported: path.join(folder, 'exported.jsonl'),
      exportedTencent: path.join(folder, 'exported-tencent.jsonl'),
      copiedOut: path.join(folder, 'copied-out.copy'),
    };
    const started = Date.now();
    await writeFile(files.profiles, rows, (i) => jsonLine(i, ''));
    if (options.full) await writeFile(files.changed, rows, (i) => jsonLine(i, 'Changed: '));
    await writeFile(files.copy, rows, copyLine);
    const size = (file: string) => `${(statSync(file).size / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `files: ${rows} rows, ${size(files.profiles)} of JSON Lines, ${size(files.copy)} of COPY text, written in ${Date.now() - started} ms (${folder})`,
    );

    const url = await withDatabase(serverUrl, names[0]);
    const env = { DATABASE_URL: url, PROFILE_CUSTOM_FIELDS: BENCH_CUSTOM_FIELDS.join(','), NODE_ENV: 'production' };
    const psqlRun = (command: string) =>
      timed('psql', ['--no-psqlrc', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', command], {});

    const results: [string, Timed | undefined, Timed | undefined][] = [];
    let copyIn: Timed | undefined;
    if (havePsql) {
      await psqlRun(`CREATE TABLE ${PLAIN_TABLE} (${PLAIN_COLUMNS.join(', ')})`);
      copyIn = await psqlRun(`\\copy ${PLAIN_TABLE} FROM '${files.copy}'`);
    }
    const imported = await timed(process.execPath, [COMMAND, 'import', files.profiles], env);
    expectSummary(imported, new RegExp(`created ${rows}, changed 0, unchanged 0, skipped 0`), 'import');
    results.push(['import into an empty database', imported, copyIn]);

    const again = await timed(process.execPath, [COMMAND, 'import', files.profiles], env);
    expectSummary(
      again,
      new RegExp(`created 0, changed 0, unchanged ${rows}, skipped 0 .*, 0 change events`),
      're-import',
    );
    results.push(['import the same file again (all unchanged)', again, undefined]);

    const exported = await timed(process.execPath, [COMMAND, 'export', files.exported], env);
    expectSummary(exported, new RegExp(`${rows} profiles written`), 'export');
    const copyOut = havePsql ? await psqlRun(`\\copy ${PLAIN_TABLE} TO '${files.copiedOut}'`) : undefined;
    results.push(['export (our format)', exported, copyOut]);

    const exportedTencent = await timed(
      process.execPath,
      [COMMAND, 'export', files.exportedTencent, '--format', 'tencent'],
      env,
    );
    results.push(['export (Tencent format)', exportedTencent, undefined]);

    if (options.full) {
      const changed = await timed(process.execPath, [COMMAND, 'import', files.changed], env);
      expectSummary(
        changed,
        new RegExp(`created 0, changed ${rows}, unchanged 0, skipped 0 .*, ${rows} change events`),
        'changes',
      );
      results.push(['import changing every profile (one event each)', changed, undefined]);

      const tencentUrl = await withDatabase(serverUrl, names[1]);
      const importedTencent = await timed(process.execPath, [COMMAND, 'import', files.exportedTencent], {
        ...env,
        DATABASE_URL: tencentUrl,
      });
      expectSummary(importedTencent, new RegExp(`created ${rows}, changed 0`), 'Tencent import');
      results.push(['import of the Tencent export into an empty database', importedTencent, undefined]);
    }

    const client = new Client({ connectionString: url });
    await client.connect();
    const version = (await client.query('SHOW server_version')).rows[0].server_version as string;
    const indexes = (
      await client.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'user_profile' ORDER BY indexname`)
    ).rows.map((row) => row.indexname as string);
    await client.end();

    const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
    console.log(
      `\nMachine: ${os.availableParallelism()} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; Postgres ${version}`,
    );
    console.log(`user_profile indexes: ${indexes.join(', ')}`);
    // Other work on the machine slows both columns alike; the load says how much there was.
    console.log(
      `load average (1 min) at the start ${loadAtStart.toFixed(1)}, at the end ${os.loadavg()[0].toFixed(1)}`,
    );
    console.log(`${rows} profiles; wall time of each command from its start to its exit\n`);
    console.log('| step | accounts command | rows/s | peak RSS | psql \\copy, plain table |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [step, run, copy] of results) {
      console.log(
        `| ${step} | ${run === undefined ? '-' : seconds(run.ms)} | ${run === undefined ? '-' : Math.round((rows * 1000) / run.ms).toLocaleString('en-US')} | ${mib(run?.peakRssMiB)} | ${copy === undefined ? '-' : seconds(copy.ms)} |`,
      );
    }
    if (!havePsql) console.log('\npsql was not found: the \\copy figures are left out');
  } finally {
    if (!options.keep) {
      rmSync(folder, { recursive: true, force: true });
      for (const name of names) await dropDatabase(serverUrl, name).catch(() => undefined);
    } else {
      console.log(`kept ${folder} and the databases ${names.join(', ')}`);
    }
    await stopEmbedded();
  }
}
