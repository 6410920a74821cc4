import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { findFreePort } from '../../src/db/free-port';

/** Debian's PostgreSQL 15 (`apt-get install postgresql-15`); .ci/run uses the machine's. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
export const hasPostgresBinaries = ['initdb', 'pg_ctl', 'pg_basebackup'].every((name) =>
  existsSync(path.join(POSTGRES_BIN, name)),
);

/** Says once, clearly, why a test file that starts its own servers is skipped. */
export function warnIfNoPostgresBinaries(what: string): void {
  if (!hasPostgresBinaries) {
    console.warn(
      `${what} SKIPPED: ${POSTGRES_BIN} lacks initdb, pg_ctl or pg_basebackup (apt-get install postgresql-15).`,
    );
  }
}

/** One throwaway Postgres server in a temporary folder, trusted on 127.0.0.1 only. */
export interface PostgresServer {
  readonly port: number;
  readonly dataDir: string;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  /** pg_ctl start, waiting until it accepts connections. */
  start(): Promise<void>;
  /** pg_ctl stop -m fast: connections are cut, the data stays. */
  stop(): Promise<void>;
  readonly running: boolean;
  /** SIGSTOP to the server and its backends: it hangs (a frozen machine), connections stay open. */
  freeze(): void;
  /** SIGCONT: it carries on where it stopped. */
  thaw(): void;
  /** Its server log so far, for failure messages. */
  log(): string;
  /** Stops it if it runs and deletes its folder. */
  destroy(): Promise<void>;
}

/** As root, Postgres runs as the `postgres` OS user (it refuses root), which owns the folders. */
function owner(): { uid?: number; gid?: number } {
  if (os.userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(POSTGRES_BIN, command), args, {
      ...owner(),
      env: { PATH: process.env.PATH, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`)),
    );
  });
}

/** A temporary folder the `postgres` OS user owns (mode 700, as Postgres requires of a data folder). */
async function ownedFolder(prefix: string): Promise<string> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  const { uid, gid } = owner();
  if (uid !== undefined) await fs.chown(folder, uid, gid!);
  await fs.chmod(folder, 0o700);
  return folder;
}

/** Postmasters still running when the test process exits (a crash): stopped on the way out. */
const running = new Set<string>();
process.once('exit', () => {
  for (const dataDir of running) {
    try {
      const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGQUIT');
      }
    } catch {
      // already gone
    }
  }
});

/** Sends `signal` to the postmaster of `dataDir` and every process it started. */
function signalAll(dataDir: string, signal: NodeJS.Signals): void {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Field 4, after the command name (which may hold spaces), is the parent's pid.
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  for (const pid of [postmaster, ...children]) process.kill(pid, signal);
}

async function serve(root: string, dataDir: string, port: number): Promise<PostgresServer> {
  const logFile = path.join(root, 'server.log');
  let isRunning = false;
  const server: PostgresServer = {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return isRunning;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    freeze: () => signalAll(dataDir, 'SIGSTOP'),
    thaw: () => signalAll(dataDir, 'SIGCONT'),
    async start() {
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
      await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      isRunning = true;
      running.add(dataDir);
    },
    async stop() {
      if (!isRunning) return;
      await run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
      isRunning = false;
      running.delete(dataDir);
    },
    async destroy() {
      if (isRunning) {
        try {
          signalAll(dataDir, 'SIGCONT');
        } catch {
          // not running after all
        }
      }
      await server.stop().catch(() => undefined);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * Serves `dataDir` on a port outside the ephemeral range that nothing listened on a moment ago (see
 * src/db/free-port.ts); another process may take it first, so a port found taken is replaced.
 */
async function startOnFreePort(root: string, dataDir: string): Promise<PostgresServer> {
  for (let attempt = 1; ; attempt += 1) {
    const server = await serve(root, dataDir, await findFreePort());
    try {
      await server.start();
      return server;
    } catch (error) {
      if (attempt === 3 || !/could not bind|Address already in use/.test(`${String(error)}${server.log()}`))
        throw error;
    }
  }
}

/**
 * A new primary: initdb in a temporary folder (trust on 127.0.0.1, replication allowed), started.
 * `settings` go to postgresql.auto.conf.
 */
export async function startPrimary(settings: Record<string, string> = {}): Promise<PostgresServer> {
  const root = await ownedFolder('profile-service-primary-');
  const dataDir = path.join(root, 'data');
  try {
    await run('initdb', ['-D', dataDir, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C']);
    const conf = { wal_level: 'replica', max_wal_senders: '10', fsync: 'off', ...settings };
    await fs.appendFile(
      path.join(dataDir, 'postgresql.auto.conf'),
      Object.entries(conf)
        .map(([name, value]) => `${name} = '${value}'\n`)
        .join(''),
    );
    return await startOnFreePort(root, dataDir);
  } catch (error) {
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A streaming replica of `primary`: a base backup through a replication slot of its own (so it
 * catches up after being stopped), started in hot standby; `applyDelayMs` sets
 * recovery_min_apply_delay, which holds every commit back that long and makes its lag certain.
 */
export async function startReplica(
  primary: PostgresServer,
  options: { applyDelayMs?: number; slot?: string } = {},
): Promise<PostgresServer> {
  const root = await ownedFolder('profile-service-replica-');
  const dataDir = path.join(root, 'data');
  const slot =
    options.slot ??
    `replica_${path
      .basename(root)
      .replace(/[^a-z0-9]/gi, '_')
      .toLowerCase()}`;
  try {
    await run('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      dataDir,
      '-R',
      '-C',
      '-S',
      slot,
      '-X',
      'stream',
      '-c',
      'fast',
    ]);
    await fs.appendFile(
      path.join(dataDir, 'postgresql.auto.conf'),
      `hot_standby = 'on'\nrecovery_min_apply_delay = '${options.applyDelayMs ?? 0}ms'\n`,
    );
    return await startOnFreePort(root, dataDir);
  } catch (error) {
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** Runs one statement on `url` on a connection of its own. */
export async function runSql<R = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws, naming `what`). */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      if (await condition()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
