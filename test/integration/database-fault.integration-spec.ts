import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase } from '../../src/db/database';
import { WebSocket } from 'ws';
import { createProfileClient, EVENT } from '../../src/client';
import { connect, untilDelivering, waitFor } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

jest.setTimeout(180_000);

const BIN = '/usr/lib/postgresql/15/bin';
const PORT = 54420 + (process.pid % 20);

/** Postgres refuses to run as root: run its tools as the `postgres` OS user then. */
function pgTool(tool: string, args: string[]): void {
  const command = userInfo().uid === 0 ? 'runuser' : path.join(BIN, tool);
  const argv = userInfo().uid === 0 ? ['-u', 'postgres', '--', path.join(BIN, tool), ...args] : args;
  const result = spawnSync(command, argv, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 1200; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('Postgres stopped and restarted under a write load', () => {
  const folder = mkdtempSync('/tmp/profile-fault-');
  const dataDir = path.join(folder, 'data');
  const url = `postgres://postgres@127.0.0.1:${PORT}/postgres`;
  const start = () =>
    pgTool('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      path.join(folder, 'postgres.log'),
      '-o',
      `-p ${PORT} -k ${folder} -c listen_addresses=127.0.0.1`,
      '-w',
      'start',
    ]);
  const stop = () => pgTool('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  let server: TestServer | undefined;

  beforeAll(async () => {
    chmodSync(folder, 0o777);
    pgTool('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--encoding=UTF8', '--locale=C']);
    start();
    const database = await openDatabase(url, { poolMax: 1, migrate: true });
    await database.close();
  });

  afterAll(async () => {
    await server?.stop();
    try {
      stop();
    } catch {
      /* already stopped */
    }
    rmSync(folder, { recursive: true, force: true });
  });

  it('fails fast with SERVICE_UNAVAILABLE, recovers without a restart, and loses no acknowledged write', async () => {
    server = await startTestServer({
      DATABASE_URL: url,
      DB_CONNECT_TIMEOUT_MS: '1000',
      DB_STATEMENT_TIMEOUT_MS: '3000',
    });
    const app = server;
    const acknowledged = new Map<string, string>();
    const errorCodes: string[] = [];
    let phase: 'before' | 'down' | 'after' = 'before';
    const acksIn = { before: 0, down: 0, after: 0 };
    let watcher: ReturnType<typeof createProfileClient> | undefined;
    let running = true;

    const worker = async () => {
      while (running) {
        const userID = uniqueUserID('fault');
        const nick = `nick-${userID}`;
        const attemptPhase = phase;
        try {
          const result = await app.request(
            'mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }',
            { as: userID, variables: { nick } },
          );
          if (result.errors === undefined && result.data?.updateMyProfile.nick === nick) {
            acknowledged.set(userID, nick);
            acksIn[attemptPhase] += 1;
          } else {
            errorCodes.push(String(result.errors?.[0].extensions?.code));
          }
        } catch (error) {
          errorCodes.push(`HTTP failure: ${String(error)}`);
          running = false;
        }
      }
    };
    const base = app.url.replace(/\/graphql$/, '');
    const workers = Array.from({ length: 4 }, () => worker());
    try {
      await until(() => acksIn.before >= 20, 'writes to succeed before the fault');
      stop();
      phase = 'down';
      const errorsAtStop = errorCodes.length;
      await until(() => errorCodes.length - errorsAtStop >= 8, 'writes to fail while Postgres is down');

      // The process stays up and says it is not ready.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', reason: 'DATABASE_UNREACHABLE' });
      // Twice: the first through Apollo's pipeline, the repeat through the fast path.
      for (let i = 0; i < 2; i += 1) {
        const read = await app.request('{ me { userID } }', { as: uniqueUserID() });
        expect(read.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
        expect(read.errors?.[0].extensions?.http).toBeUndefined();
        expect(read.status).toBe(503);
      }
      // A subscription starting now cannot read its users' latest events: SERVICE_UNAVAILABLE too.
      const socket = connect(app.url, await app.token(uniqueUserID()));
      try {
        const live = socket.subscribe('subscription ($ids: [ID!]!) { profileUpdated(userIDs: $ids) { userID } }', {
          ids: [uniqueUserID()],
        });
        // graphql-ws sends a failed subscribe as one result with errors, then completes it.
        const refused = await waitFor('the subscription to be refused', () => live.errors() ?? live.results[0]?.errors);
        expect(refused[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
      } finally {
        await socket.dispose();
      }
      // Our client, refused the same way, subscribes again by itself once the database is back.
      const watchedUser = uniqueUserID('watched');
      const warnings: string[] = [];
      watcher = createProfileClient({
        url: app.url,
        getToken: () => app.token(uniqueUserID('watcher')),
        webSocketImpl: WebSocket,
        logger: { warn: (message) => warnings.push(message) },
      });
      const nicks: string[] = [];
      watcher.on(EVENT.PROFILE_UPDATED, (event) => nicks.push(...event.data.map((profile) => profile.nick)));
      watcher.watchProfiles([watchedUser]);
      await until(
        () => warnings.some((warning) => warning.includes('SERVICE_UNAVAILABLE')),
        "the client's subscription to be refused",
      );

      start();
      phase = 'after';
      await until(() => acksIn.after >= 20, 'writes to succeed again after the restart');
      await untilDelivering(
        'a change to reach the client refused while Postgres was down',
        (attempt) =>
          app.request('mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }', {
            as: watchedUser,
            variables: { nick: `back ${attempt}` },
          }),
        () => nicks.some((nick) => nick.startsWith('back')),
        30_000,
      );
    } finally {
      running = false;
      await Promise.all(workers);
      await watcher?.close();
    }

    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(errorCodes.length).toBeGreaterThanOrEqual(8);
    expect([...new Set(errorCodes)]).toEqual(['SERVICE_UNAVAILABLE']);

    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ user_id: string; nick: string }>(
        'SELECT user_id, nick FROM user_profile WHERE user_id = ANY($1)',
        [[...acknowledged.keys()]],
      );
      const stored = new Map(rows.map((row) => [row.user_id, row.nick]));
      const missing = [...acknowledged].filter(([userID, nick]) => stored.get(userID) !== nick);
      expect(missing).toEqual([]);
      expect(stored.size).toBe(acknowledged.size);
    } finally {
      await client.end();
    }
  });
});
