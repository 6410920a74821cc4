import { Pool } from 'pg';
import { hasPgBouncer, startPgBouncer, warnIfNoPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { runSql } from '../support/postgres-cluster';
import { connect, untilDelivering, type WsConnection } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

// The server behind Debian's PgBouncer 1.18 in transaction mode, as a deployment with many
// instances runs it: DATABASE_URL is the pooler, DATABASE_LISTEN_URL the direct primary, and
// statements are sent unnamed (the pooler hands each transaction any server connection, where a
// named statement prepared on another is unknown).
const direct = process.env.DATABASE_URL!;
const database = new URL(direct).pathname.slice(1);
const PROFILE = 'userID nick level';
const UPDATE = `mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { ${PROFILE} } }`;
const USERS = `query($ids: [ID!]!) { users(ids: $ids) { ${PROFILE} } }`;

jest.setTimeout(60_000);
warnIfNoPgBouncer('PgBouncer tests');

let pooler: PgBouncer;
let server: TestServer;
let pool: Pool;
const sockets: WsConnection[] = [];

// pg_advisory_lock(7_351_940_221), the migration lock (src/db/database.ts), as pg_locks shows it.
const MIGRATION_LOCK = { classid: 1, objid: 7_351_940_221 - 2 ** 32 };

(hasPgBouncer ? describe : describe.skip)('behind PgBouncer in transaction mode', () => {
  beforeAll(async () => {
    // Two server connections for a pool of eight: every request shares them with the others.
    pooler = await startPgBouncer({ target: direct, poolMode: 'transaction', poolSize: 2 });
    pool = new Pool({ connectionString: direct, max: 2 });
    server = await startTestServer({
      DATABASE_URL: pooler.url(database),
      DATABASE_LISTEN_URL: direct,
      DATABASE_PREPARED_STATEMENTS: 'false',
      // Pending migrations are looked for under the lock, which must not go through the pooler.
      DB_MIGRATE: 'true',
      DB_POOL_MAX: '8',
    });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
  });

  afterAll(async () => {
    for (const step of [() => server?.stop(), () => pool?.end(), () => pooler?.stop()]) {
      await Promise.resolve(step()).catch(() => undefined);
    }
  }, 30_000);

  it('leaves no migration lock behind on the pooler’s server connections', async () => {
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2",
      [MIGRATION_LOCK.classid, MIGRATION_LOCK.objid],
    );
    expect(rows[0].n).toBe(0);
  });

  it('answers concurrent reads and writes, each statement on whichever server connection is free', async () => {
    const users = Array.from({ length: 12 }, () => uniqueUserID('pooled'));
    const writes = await Promise.all(
      users.map((userID, index) => server.request(UPDATE, { as: userID, variables: { nick: `n${index}` } })),
    );
    expect(writes.map((response) => response.errors)).toEqual(users.map(() => undefined));
    const reads = await Promise.all(
      users.map((userID) => server.request(USERS, { as: userID, variables: { ids: users } })),
    );
    for (const response of reads) {
      expect(response.errors).toBeUndefined();
      expect(response.data!.users.map((user: { nick: string }) => user.nick)).toEqual(users.map((_, i) => `n${i}`));
    }
    const me = await Promise.all(users.map((userID) => server.request(`{ me { ${PROFILE} } }`, { as: userID })));
    expect(me.map((response) => response.data?.me?.nick)).toEqual(users.map((_, i) => `n${i}`));
  });

  it('delivers live changes: LISTEN goes to the primary directly', async () => {
    const owner = uniqueUserID('owner');
    const socket = connect(server.url, await server.token(uniqueUserID('watcher')));
    sockets.push(socket);
    const live = socket.subscribe(`subscription($ids: [ID!]!) { profileUpdated(userIDs: $ids) { ${PROFILE} } }`, {
      ids: [owner],
    });
    await untilDelivering(
      'a change to be delivered',
      (attempt) => server.request(UPDATE, { as: owner, variables: { nick: `live ${attempt}` } }),
      () => live.results.length > 0,
    );
    expect(live.errors()).toBeUndefined();
    expect(live.results[0].data!.profileUpdated.nick).toMatch(/^live \d+$/);
  });

  it('runs an administrator’s audited operations, each in one transaction', async () => {
    const admin = uniqueUserID('admin');
    const userID = uniqueUserID('imported');
    const imported = await server.request(
      `mutation($accounts: [ImportAccountInput!]!) { importAccounts(accounts: $accounts) { ${PROFILE} } }`,
      { as: admin, admin: true, variables: { accounts: [{ userID, nick: 'imported' }] } },
    );
    expect(imported.errors).toBeUndefined();
    const set = await server.request(
      `mutation($userID: ID!) { setUserProfile(userID: $userID, input: { level: 9 }) { ${PROFILE} } }`,
      { as: admin, admin: true, variables: { userID } },
    );
    expect(set.data?.setUserProfile).toEqual({ userID, nick: 'imported', level: 9 });
    const audited = await runSql<{ operation: string }>(
      direct,
      'SELECT operation FROM admin_audit WHERE actor_id = $1 ORDER BY id',
      [admin],
    );
    expect(audited.map((row) => row.operation)).toEqual(['importAccounts', 'setUserProfile']);
  });

  it('reports ready', async () => {
    const response = await fetch(server.url.replace(/\/graphql$/, '/readyz'));
    expect(response.status).toBe(200);
  });
});
