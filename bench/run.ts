/**
 * `npm run bench`: the profile service against the floor server (bench/floor-server.ts), same
 * machine, same database, same run. See docs/performance.md for what it prints and how to read it.
 *
 *   npm run bench -- [--duration 5] [--connections 32] [--rounds 3] [--warmup 2] [--only me,...]
 *                    [--port 4791] [--floor-port 4792] [--pg-port 54339] [--pool 10] [--count 50]
 *   npm run bench -- --only accounts [--rows 1000000]   (the bulk commands: bench/accounts-bulk.ts)
 *   npm run bench -- --only search [--users 1000000]    (searchUsers: bench/search.ts)
 *   npm run bench -- --only live [--sockets 1000,3000,10000] [--bus postgres,redis] (bench/live.ts)
 *   npm run bench -- --only status [--sockets 10000] [--idle 30]  (who is online: bench/presence.ts)
 *
 * DATABASE_URL: the Postgres to seed and use; unset, an embedded Postgres is started in
 * .data/bench-postgres on --pg-port. SERVER_NODE_OPTIONS / FLOOR_NODE_OPTIONS: extra node flags for the service or the floor process
 * only (e.g. --cpu-prof), to profile it under the same load.
 * SERVICE_DATABASE_URL: the service's DATABASE_URL in the timed runs (a pooler in front of
 * DATABASE_URL); DATABASE_LISTEN_URL, DATABASE_PREPARED_STATEMENTS and DATABASE_READ_URLS (with
 * DATABASE_READ_MAX_LAG_MS) are passed on to the service (docs/scaling.md).
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueToken } from '../src/auth/token-issuer.js';
import { openDatabase } from '../src/db/database.js';
import { benchDatabase } from './bench-database.js';
import { runAccountsBench } from './accounts-bulk.js';
import { runLiveBench } from './live.js';
import { runPresenceBench } from './presence.js';
import { runSearchBench } from './search.js';
import { createOperations, READER_COUNT, readerID, WRITER_COUNT, writerID, type Operation } from './operations.js';
import { BENCH_CUSTOM_FIELDS, BENCH_USERS, seed } from './seed.js';
import { startStatementProxy } from './statement-proxy.js';

const JWT_SECRET = 'bench-secret-of-more-than-thirty-two-characters';
const ROOT = path.resolve(__dirname, '..', '..');

interface Options {
  duration: number;
  connections: number;
  rounds: number;
  warmup: number;
  only: string[] | undefined;
  port: number;
  floorPort: number;
  pgPort: number;
  pool: number;
  count: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    duration: 5,
    connections: 32,
    rounds: 3,
    warmup: 2,
    only: undefined,
    port: 4791,
    floorPort: 4792,
    pgPort: 54339,
    pool: 10,
    count: 50,
  };
  const numeric: Record<string, keyof Options> = {
    '--duration': 'duration',
    '--connections': 'connections',
    '--rounds': 'rounds',
    '--warmup': 'warmup',
    '--port': 'port',
    '--floor-port': 'floorPort',
    '--pg-port': 'pgPort',
    '--pool': 'pool',
    '--count': 'count',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--only' && value !== undefined) {
      options.only = value.split(',');
      continue;
    }
    const key = numeric[flag];
    const parsed = Number(value);
    if (key === undefined || !Number.isFinite(parsed) || parsed < 0) {
      throw new Error(`unknown flag or bad value: ${flag} ${value ?? ''}`);
    }
    (options as unknown as Record<string, number>)[key] = parsed;
  }
  return options;
}

/** The service's pooler and replica settings, from the bench's own environment (see the header). */
function scalingSettings(): Record<string, string> {
  const names = [
    'DATABASE_LISTEN_URL',
    'DATABASE_PREPARED_STATEMENTS',
    'DATABASE_READ_URLS',
    'DATABASE_READ_MAX_LAG_MS',
  ];
  return Object.fromEntries(names.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));
}

interface Target {
  readonly name: 'service' | 'floor';
  readonly port: number;
  readonly child: ChildProcess;
}

function startTarget(name: Target['name'], port: number, databaseUrl: string, pool: number): Promise<Target> {
  const script = name === 'service' ? 'dist/src/main.js' : 'dist/bench/floor-server.js';
  const nodeFlags = ((name === 'service' ? process.env.SERVER_NODE_OPTIONS : process.env.FLOOR_NODE_OPTIONS) ?? '')
    .split(' ')
    .filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, script], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DB_MIGRATE: 'false',
      DB_POOL_MAX: String(pool),
      ...(name === 'service' ? scalingSettings() : {}),
      JWT_SECRET,
      PROFILE_CUSTOM_FIELDS: BENCH_CUSTOM_FIELDS.join(','),
      // 32 clients writing as fast as they can are exactly what the write rate limit refuses; the
      // bench measures the service's own work, so the limit (and its statement) is off here.
      RATE_LIMIT_WRITES_PER_USER: '0',
      RATE_LIMIT_WRITES_PER_IP: '0',
    },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = async () => {
      if (child.exitCode !== null) return reject(new Error(`${name} exited (${child.exitCode}): ${stderr}`));
      try {
        // Any HTTP answer means it listens; the counting pass checks the answers themselves.
        await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', body: '{}' });
        resolve({ name, port, child });
      } catch {
        if (Date.now() - started > 30_000) return reject(new Error(`${name} did not start: ${stderr}`));
        setTimeout(poll, 100);
      }
    };
    void poll();
  });
}

async function stopTarget(target: Target): Promise<void> {
  if (target.child.exitCode !== null) return;
  const exited = new Promise((resolve) => target.child.once('exit', resolve));
  target.child.kill('SIGTERM');
  await exited;
}

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]);
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (`getconf CLK_TCK`, 100 almost everywhere). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time the process has used (user + system, all its threads), in milliseconds. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces) start with the state, field 3; utime
  // and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

async function post(port: number, request: { token: string; body: string }): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${request.token}` },
    body: request.body,
  });
  return response.json();
}

/** Same request, same answer (timestamps of writes aside): the floor really does the service's work. */
function comparable(result: any): string {
  // A mutation's `extensions.readAfter` (with DATABASE_READ_URLS) is the service's alone.
  const { extensions: _extensions, ...answer } = result ?? {};
  return JSON.stringify(answer, (key, value) => (key === 'lastUpdatedTime' ? '<time>' : value));
}

/**
 * Statements per request: sends `count` requests one at a time through a proxy that counts the
 * statements on the wire (or through pg_stat_statements' calls where that extension is loaded).
 */
async function countStatements(
  databaseUrl: string,
  pool: number,
  options: Options,
  operations: (tokens: import('./operations.js').BenchTokens) => Operation[],
  tokens: import('./operations.js').BenchTokens,
  statementsQuery: (() => Promise<number>) | undefined,
): Promise<{ method: string; perRequest: Map<string, Record<Target['name'], number>> }> {
  const url = new URL(databaseUrl);
  const proxy = await startStatementProxy({ host: url.hostname, port: Number(url.port || 5432) });
  const proxied = new URL(databaseUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const counter = statementsQuery ?? (async () => proxy.statements());
  const method = statementsQuery
    ? 'pg_stat_statements calls'
    : 'Execute/Query messages on the wire (pg_stat_statements is not loaded)';
  const perRequest = new Map<string, Record<Target['name'], number>>();
  try {
    const targets = [
      await startTarget('service', options.port, proxied.toString(), pool),
      await startTarget('floor', options.floorPort, proxied.toString(), pool),
    ];
    try {
      const service = operations(tokens);
      const floor = operations(tokens);
      for (let o = 0; o < service.length; o += 1) {
        if (options.only && !options.only.some((part) => service[o].name.includes(part))) continue;
        const counts = { service: 0, floor: 0 };
        for (const [target, op] of [
          [targets[0], service[o]],
          [targets[1], floor[o]],
        ] as const) {
          const before = await counter();
          for (let i = 0; i < options.count; i += 1) {
            const request = op.next();
            const result = await post(target.port, request);
            if (result.errors !== undefined || result.data === undefined) {
              throw new Error(`${target.name} answered ${op.name} with ${JSON.stringify(result).slice(0, 500)}`);
            }
            if (target.name === 'service' && i < 3) {
              const floorAnswer = await post(targets[1].port, request);
              if (op.name.startsWith('update')) {
                // The floor's write of the same value is a second write: compare shapes only.
                if (comparable(floorAnswer).length !== comparable(result).length) {
                  throw new Error(`floor and service differ on ${op.name}`);
                }
              } else if (comparable(floorAnswer) !== comparable(result)) {
                throw new Error(
                  `floor and service differ on ${op.name}:\n${comparable(result).slice(0, 300)}\n${comparable(floorAnswer).slice(0, 300)}`,
                );
              }
            }
          }
          // The comparison requests above went to the floor in the middle of the service's count.
          const extra = target.name === 'service' ? Math.min(3, options.count) : 0;
          const after = await counter();
          counts[target.name] = (after - before - extra) / options.count;
        }
        perRequest.set(service[o].name, counts);
      }
    } finally {
      for (const target of targets) await stopTarget(target);
    }
  } finally {
    await proxy.close();
  }
  return { method, perRequest };
}

interface RunResult {
  rps: number;
  p50: number;
  p99: number;
  peakRssKiB: number;
  /** Server CPU (user + system) over the run divided by the requests it completed, in ms. */
  cpuMsPerRequest: number;
  non2xx: number;
  errors: number;
}

async function load(target: Target, op: Operation, options: Options, duration: number): Promise<RunResult> {
  let peakRssKiB = 0;
  const pid = target.child.pid!;
  const sample = () => (peakRssKiB = Math.max(peakRssKiB, rssKiB(pid, 'VmRSS')));
  sample();
  const sampler = setInterval(sample, 100);
  const cpuBefore = cpuMs(pid);
  try {
    const result = await autocannon({
      url: `http://127.0.0.1:${target.port}/graphql`,
      connections: options.connections,
      duration,
      requests: [
        {
          method: 'POST',
          setupRequest: (request: any) => {
            const next = op.next();
            return {
              ...request,
              path: '/graphql',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${next.token}` },
              body: next.body,
            };
          },
        },
      ],
    });
    const cpu = cpuMs(pid) - cpuBefore;
    sample();
    return {
      rps: result.requests.total / duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      peakRssKiB,
      cpuMsPerRequest: result.requests.total > 0 ? cpu / result.requests.total : 0,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    };
  } finally {
    clearInterval(sampler);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function machine(): string {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  return `${os.availableParallelism()} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // `--only accounts`: the bulk import and export commands, a benchmark of their own (bench/accounts-bulk.ts).
  if (argv.includes('--only') && argv[argv.indexOf('--only') + 1] === 'accounts') return runAccountsBench(argv);
  // `--only live`: profileUpdated subscribers at scale, a benchmark of its own (bench/live.ts).
  if (argv.includes('--only') && argv[argv.indexOf('--only') + 1] === 'live') return runLiveBench(argv);
  // `--only search`: searchUsers on a million seeded users, a benchmark of its own (bench/search.ts).
  if (argv.includes('--only') && argv[argv.indexOf('--only') + 1] === 'search') return runSearchBench(argv);
  // `--only status`: who is online with ten thousand connections, a benchmark of its own (bench/presence.ts).
  if (argv.includes('--only') && argv[argv.indexOf('--only') + 1] === 'status') return runPresenceBench(argv);
  const options = parseOptions(argv);
  const { url: databaseUrl, stop: stopEmbedded } = await benchDatabase(options.pgPort);
  const targets: Target[] = [];
  const cleanUp = async () => {
    for (const target of targets) await stopTarget(target);
    await stopEmbedded();
  };
  process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  try {
    const database = await openDatabase(databaseUrl, {
      poolMax: 2,
      migrate: true,
      listenUrl: process.env.DATABASE_LISTEN_URL || undefined,
    });
    let postgresVersion = '';
    let statementsQuery: (() => Promise<number>) | undefined;
    try {
      let started = Date.now();
      const { written } = await seed(database.pool);
      console.log(`seed: ${BENCH_USERS} users, ${written} written, ${Date.now() - started} ms`);
      started = Date.now();
      await database.pool.query('VACUUM ANALYZE user_profile');
      postgresVersion = (await database.pool.query('SHOW server_version')).rows[0].server_version;
      const pgss = await database.pool
        .query(`SELECT 1 FROM pg_stat_statements LIMIT 1`)
        .then(() => true)
        .catch(() => false);
      if (pgss) {
        const countPool = database.pool;
        statementsQuery = async () =>
          Number(
            (
              await countPool.query(
                `SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND query NOT ILIKE '%pg_stat_statements%'`,
              )
            ).rows[0].calls,
          );
      }

      const tokens = {
        readers: await Promise.all(
          Array.from({ length: READER_COUNT }, (_, i) => issueToken(JWT_SECRET, readerID(i), { expiresIn: '12h' })),
        ),
        writers: await Promise.all(
          Array.from({ length: WRITER_COUNT }, (_, i) => issueToken(JWT_SECRET, writerID(i), { expiresIn: '12h' })),
        ),
      };

      const counted = await countStatements(
        databaseUrl,
        options.pool,
        options,
        createOperations,
        tokens,
        statementsQuery,
      );
      await seed(database.pool); // put back the nicks the counting pass changed

      const serviceUrl = process.env.SERVICE_DATABASE_URL || databaseUrl;
      targets.push(await startTarget('service', options.port, serviceUrl, options.pool));
      targets.push(await startTarget('floor', options.floorPort, databaseUrl, options.pool));
      const [service, floor] = targets;
      const all = createOperations(tokens);
      const unmatched = (options.only ?? []).filter((part) => !all.some((op) => op.name.includes(part)));
      if (unmatched.length > 0) {
        throw new Error(
          `--only ${unmatched.join(',')} names no operation; the operations are: ${all.map((op) => op.name).join(', ')} ` +
            '(or live, search, accounts, status for the other benchmarks)',
        );
      }
      const operations = all.filter((op) => !options.only || options.only.some((part) => op.name.includes(part)));
      console.log(
        `load: ${options.rounds} interleaved rounds x ${options.duration}s per operation and server, ` +
          `${options.connections} connections, ${options.warmup}s warm-up each`,
      );
      const runs = new Map<string, { service: RunResult[]; floor: RunResult[] }>();
      for (const op of operations) {
        runs.set(op.name, { service: [], floor: [] });
        if (options.warmup > 0) {
          await load(service, op, options, options.warmup);
          await load(floor, op, options, options.warmup);
        }
      }
      for (let round = 0; round < options.rounds; round += 1) {
        for (const op of operations) {
          // Alternate which server goes first, so drift in the machine's load hits both alike.
          const order = round % 2 === 0 ? [service, floor] : [floor, service];
          for (const target of order) {
            const result = await load(target, op, options, options.duration);
            runs.get(op.name)![target.name].push(result);
            console.log(
              `  round ${round + 1} ${op.name.padEnd(24)} ${target.name.padEnd(7)} ${result.rps.toFixed(0).padStart(6)} req/s` +
                `  p50 ${result.p50} ms  p99 ${result.p99} ms` +
                `  CPU ${result.cpuMsPerRequest.toFixed(3)} ms/req (${((result.cpuMsPerRequest * result.rps) / 1000).toFixed(2)} cores)` +
                (result.non2xx + result.errors > 0 ? `  (${result.non2xx} non-2xx, ${result.errors} errors)` : ''),
            );
          }
        }
      }
      const hwm = { service: rssKiB(service.child.pid!, 'VmHWM'), floor: rssKiB(floor.child.pid!, 'VmHWM') };

      console.log(`\nMachine: ${machine()}; Postgres ${postgresVersion}`);
      console.log(
        `Run: ${options.rounds} rounds x ${options.duration}s, ${options.connections} connections, pool ${options.pool}; ` +
          `medians over rounds; ratio = median of per-round service/floor requests/s`,
      );
      console.log(`Statements per request: ${counted.method}, ${options.count} sequential requests each`);
      console.log(
        `CPU per request: the server process's user + system time (/proc/<pid>/stat, ${CLOCK_TICKS} ticks/s) ` +
          `over each timed run / the requests it completed; CPU vs floor = median of per-round ratios\n`,
      );
      const header = [
        'operation',
        'service req/s',
        'floor req/s',
        'ratio',
        'service p50 / p99 ms',
        'floor p50 / p99 ms',
        'p99 vs floor',
        'peak RSS service / floor MiB',
        'statements/req service / floor',
        'CPU ms/req service / floor',
        'CPU vs floor',
      ];
      const rows = operations.map((op) => {
        const r = runs.get(op.name)!;
        const ratios = r.service.map((s, i) => s.rps / r.floor[i].rps);
        const p99s = median(r.service.map((s) => s.p99));
        const p99f = median(r.floor.map((s) => s.p99));
        const mib = (kib: number) => (kib / 1024).toFixed(0);
        const counts = counted.perRequest.get(op.name);
        return [
          op.name,
          median(r.service.map((s) => s.rps)).toFixed(0),
          median(r.floor.map((s) => s.rps)).toFixed(0),
          `${median(ratios).toFixed(2)}x`,
          `${median(r.service.map((s) => s.p50))} / ${p99s}`,
          `${median(r.floor.map((s) => s.p50))} / ${p99f}`,
          `${(p99s / p99f).toFixed(2)}x`,
          `${mib(Math.max(...r.service.map((s) => s.peakRssKiB)))} / ${mib(Math.max(...r.floor.map((s) => s.peakRssKiB)))}`,
          counts === undefined ? '-' : `${counts.service.toFixed(2)} / ${counts.floor.toFixed(2)}`,
          `${median(r.service.map((s) => s.cpuMsPerRequest)).toFixed(3)} / ${median(r.floor.map((s) => s.cpuMsPerRequest)).toFixed(3)}`,
          `${median(r.service.map((s, i) => s.cpuMsPerRequest / r.floor[i].cpuMsPerRequest)).toFixed(2)}x`,
        ];
      });
      console.log(`| ${header.join(' | ')} |`);
      console.log(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
      for (const row of rows) console.log(`| ${row.join(' | ')} |`);
      console.log(
        `\nPeak RSS over the whole run (VmHWM): service ${(hwm.service / 1024).toFixed(0)} MiB, floor ${(hwm.floor / 1024).toFixed(0)} MiB`,
      );
      const failures = [...runs.values()]
        .flatMap((r) => [...r.service, ...r.floor])
        .filter((x) => x.non2xx + x.errors > 0);
      if (failures.length > 0) console.log(`WARNING: ${failures.length} runs had non-2xx answers or errors`);
      await seed(database.pool);
    } finally {
      await database.close();
    }
  } finally {
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  // A failed run's own work (a writer still sending, sockets retrying) must not keep it alive;
  // every benchmark has stopped the processes it started by now.
  process.exit(1);
});
