import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/db/free-port';
import { waitUntil } from './postgres-cluster';

/** Debian's PgBouncer (`apt-get install pgbouncer`, 1.18 on Debian 12); .ci/run installs it. */
export const PGBOUNCER = '/usr/sbin/pgbouncer';
export const hasPgBouncer = existsSync(PGBOUNCER);

/** Says once, clearly, why a pooler test file is skipped. */
export function warnIfNoPgBouncer(what: string): void {
  if (!hasPgBouncer) {
    console.warn(
      `${what} SKIPPED: ${PGBOUNCER} does not exist. Install it with \`apt-get install -y pgbouncer\` (.ci/run does).`,
    );
  }
}

export interface PgBouncer {
  readonly port: number;
  /** A URL through the pooler to `database` on the target server. */
  url(database: string): string;
  /** Everything it logged, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The server it pools connections to, e.g. postgres://postgres@127.0.0.1:5432/any. */
  readonly target: string;
  readonly poolMode?: 'transaction' | 'session';
  /** Server connections per database and user. */
  readonly poolSize?: number;
}

function owner(): { uid?: number; gid?: number } {
  if (os.userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a PgBouncer of the test's own in front of `target`, with a generated configuration and
 * auth file in a temporary folder: every database name is passed through, clients authenticate
 * with SCRAM (the password is the target's, or a random one when the target trusts), and the
 * timeout node-postgres sends as a startup parameter is accepted and dropped, as a production
 * configuration must (see docs/scaling.md). As root it runs as the `postgres` OS user.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const target = new URL(options.target);
  const user = decodeURIComponent(target.username || 'postgres');
  const password = target.password === '' ? randomBytes(12).toString('hex') : decodeURIComponent(target.password);
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'profile-service-pgbouncer-'));
  const { uid, gid } = owner();
  const port = await findFreePort();
  const ini = path.join(folder, 'pgbouncer.ini');
  const auth = path.join(folder, 'userlist.txt');
  await fs.writeFile(auth, `"${user}" "${password}"\n`, { mode: 0o600 });
  await fs.writeFile(
    ini,
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${auth}`,
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `default_pool_size = ${options.poolSize ?? 5}`,
      'max_client_conn = 500',
      'ignore_startup_parameters = statement_timeout',
      // A failed server login would otherwise refuse new logins for 15 s.
      'server_login_retry = 1',
      '',
    ].join('\n'),
  );
  if (uid !== undefined) {
    for (const file of [folder, ini, auth]) await fs.chown(file, uid, gid!);
  }
  const child: ChildProcess = spawn(PGBOUNCER, [ini], { uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await fs.rm(folder, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      'pgbouncer to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}:\n${output}`);
        return accepts(port);
      },
      10_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    url: (database) =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    output: () => output,
    stop,
  };
}
