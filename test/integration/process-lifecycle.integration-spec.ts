import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { issueToken } from '../../src/auth/token-issuer';
import { TEST_JWT_SECRET, uniqueUserID } from '../support/test-server';

const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

interface Spawned {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

/** Runs the built server (`node dist/src/main.js`) as `npm start` does, with only the given environment. */
function spawnServer(env: Record<string, string>): Spawned {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => out, stderr: () => err };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('configuration errors at start', () => {
  it('lists every problem at once and exits non-zero', async () => {
    const server = spawnServer({
      NODE_ENV: 'production',
      PORT: 'eighty',
      DB_POOL_MAX: '0',
      LOG_LEVEL: 'loud',
      GRAPHQL_MAX_DEPTH: '0',
      HTTP_BODY_LIMIT_BYTES: 'lots',
      RATE_LIMIT_WRITES_PER_USER: '-1',
      JWT_JWKS_URL: 'ftp://keys.example.test',
      JWT_PUBLIC_KEY: 'not a key',
      PROFILE_CUSTOM_FIELDS: 'Nope',
    });
    const { code } = await server.exited;
    expect(code).toBe(1);
    const stderr = server.stderr();
    for (const name of [
      'PORT',
      'DB_POOL_MAX',
      'LOG_LEVEL',
      'GRAPHQL_MAX_DEPTH',
      'HTTP_BODY_LIMIT_BYTES',
      'RATE_LIMIT_WRITES_PER_USER',
      'JWT_JWKS_URL',
      'JWT_PUBLIC_KEY',
      'PROFILE_CUSTOM_FIELDS',
      'DATABASE_URL',
    ]) {
      expect(stderr).toContain(name);
    }
    expect(stderr.match(/^ {2}- /gm)).toHaveLength(10);
    expect(server.stdout()).not.toContain('ready');
  });

  it('requires a way to verify tokens in production', async () => {
    const server = spawnServer({ NODE_ENV: 'production', DATABASE_URL: 'mysql://nope' });
    expect((await server.exited).code).toBe(1);
    expect(server.stderr()).toContain('JWT_SECRET');
    expect(server.stderr()).toContain('DATABASE_URL');
  });
});

describe('graceful shutdown on SIGTERM', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
  });
  afterAll(() => client.end());

  it('stops accepting, finishes the requests in flight, closes the pool and exits 0', async () => {
    const server = spawnServer({
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: process.env.DATABASE_URL!,
      DB_MIGRATE: 'false',
      JWT_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_WRITES_PER_IP: '0',
      // The updates wait on the test's lock for as long as the test needs.
      DB_STATEMENT_TIMEOUT_MS: '120000',
      LOG_LEVEL: 'info',
    });
    try {
      const url = await waitFor(async () => /"url":"([^"]+)"/.exec(server.stdout())?.[1], 'the server to start');
      const userID = uniqueUserID('drain');
      const token = await issueToken(TEST_JWT_SECRET, userID);
      const send = (query: string, variables?: object) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
      expect((await send('{ me { userID } }')).status).toBe(200);

      // Hold the profile row so the updates wait inside Postgres, in flight.
      await client.query('BEGIN');
      await client.query('SELECT 1 FROM user_profile WHERE user_id = $1 FOR UPDATE', [userID]);
      const update = 'mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }';
      const inFlight = ['first', 'second', 'third'].map((nick) => send(update, { nick }));
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
      await waitFor(async () => {
        // Inside a transaction pg_stat_activity is a snapshot: drop it to see the current state.
        await client.query('SELECT pg_stat_clear_snapshot()');
        // The first update waits on this lock, the others on the first: follow the chain.
        const blocked = await client.query(
          `WITH RECURSIVE waiting(pid) AS (
             SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))
             UNION SELECT a.pid FROM pg_stat_activity a JOIN waiting w ON w.pid = ANY(pg_blocking_pids(a.pid))
           ) SELECT count(*)::int AS n FROM waiting`,
          [rows[0].pid],
        );
        return blocked.rows[0].n === 3 ? true : undefined;
      }, 'three updates to wait on the lock');

      server.child.kill('SIGTERM');
      // New connections are refused once the server has stopped listening.
      await waitFor(
        () =>
          fetch(url.replace('/graphql', '/healthz')).then(
            () => undefined,
            () => true,
          ),
        'the server to stop accepting connections',
      );
      expect(server.child.exitCode).toBeNull();

      await client.query('COMMIT');
      const responses = await Promise.all(inFlight);
      const bodies = (await Promise.all(responses.map((response) => response.json()))) as any[];
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
      expect(bodies.map((body) => body.errors)).toEqual([undefined, undefined, undefined]);
      expect(bodies.map((body) => body.data.updateMyProfile.nick).sort()).toEqual(['first', 'second', 'third']);

      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.stdout()).toContain('shutting down');
      // Logged after the HTTP server, Apollo and the database pool have all closed.
      expect(server.stdout()).toContain('stopped: requests drained, database pool closed');
      const stored = await client.query('SELECT nick FROM user_profile WHERE user_id = $1', [userID]);
      expect(['first', 'second', 'third']).toContain(stored.rows[0].nick);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });
});
