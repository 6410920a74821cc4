import { randomBytes } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { createClient as createRedisClient } from 'redis';
import { createSqlRunner } from '../../src/db/sql-runner';
import { UserProfileRepository } from '../../src/user/user.repository';
import { buildProfilePatch } from '../../src/user/user.rules';
import { startAppProcess, type AppProcess } from '../support/app-process';
import {
  connect,
  untilDelivering,
  waitFor,
  type LiveSubscription,
  type WsConnection,
} from '../support/subscription-client';
import { defineField, eventually, uniqueFieldKey } from '../support/custom-fields';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PROFILE_FIELDS = `userID nick gender selfSignature level profileCustomField { key value } lastUpdatedTime`;
const SUBSCRIPTION = `subscription($ids: [ID!]!) { profileUpdated(userIDs: $ids) { ${PROFILE_FIELDS} } }`;
const USERS = `query($ids: [ID!]!) { users(ids: $ids) { ${PROFILE_FIELDS} } }`;
const UPDATE = `mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID nick } }`;

// Events written by the test itself (owner "nobody") are published by no relay of this file's
// servers within a test; the servers of other test files, on the same database, take them over
// and publish them on their channel, not this file's own. A subscriber can only learn of them
// through the catch-up that follows a listener reconnect.
const COMMON_ENV = { PROFILE_EVENTS_RELAY_TAKEOVER_MS: '600000', PROFILE_EVENTS_RELAY_POLL_MS: '200' };
const ownChannel = () => `profile-service-test:${randomBytes(6).toString('hex')}`;

const buses: Array<[string, Record<string, string>]> = [
  ['Postgres LISTEN/NOTIFY', { PROFILE_EVENTS_CHANNEL: ownChannel() }],
  ['Redis pub/sub', { REDIS_URL, PROFILE_EVENTS_CHANNEL: ownChannel() }],
];

describe.each(buses)('profileUpdated over %s', (busName, busEnv) => {
  let a: TestServer;
  let b: AppProcess;
  let db: PgClient;
  const connections: WsConnection[] = [];

  beforeAll(async () => {
    a = await startTestServer({
      ...COMMON_ENV,
      ...busEnv,
    });
    b = await startAppProcess({ ...COMMON_ENV, ...busEnv });
    db = new PgClient({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    expect(a.app.services.profileEvents.bus.kind).toBe(busName.startsWith('Redis') ? 'redis' : 'postgres');
  });

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((connection) => connection.dispose()));
  });

  afterAll(async () => {
    await a?.stop();
    const code = await b?.stop();
    await db?.end();
    expect(code).toBe(0);
  });

  /** Updates `userID`'s own profile through the second server process over real HTTP. */
  async function updateThroughB(userID: string, input: Record<string, unknown>) {
    const response = await fetch(b.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await a.token(userID)}` },
      body: JSON.stringify({ query: UPDATE, variables: { input } }),
    });
    return (await response.json()) as { data?: any; errors?: Array<{ extensions: Record<string, any> }> };
  }

  /**
   * A subscription on A to `ids` that changes committed from now on reach (changes before it are
   * not sent): it also watches a probe user, changed until a change of it arrives. The probe's
   * deliveries are left out of what it returns.
   */
  async function subscribeOnA(viewer: string, ids: string[]): Promise<LiveSubscription> {
    const connection = connect(a.url, await a.token(viewer));
    connections.push(connection);
    const probe = uniqueUserID('probe');
    const live = connection.subscribe(SUBSCRIPTION, { ids: [...ids, probe] });
    const isProbe = (r: { data?: Record<string, any> | null }) => r.data?.profileUpdated?.userID === probe;
    await untilDelivering(
      'the subscription to deliver',
      (attempt) => a.request(UPDATE, { as: probe, variables: { input: { nick: `probe ${attempt}` } } }),
      () => live.results.some(isProbe),
    );
    return {
      get results() {
        return live.results.filter((r) => !isProbe(r));
      },
      errors: live.errors,
      completed: live.completed,
      next: (what, match) => live.next(what, (r) => !isProbe(r) && match(r)),
      unsubscribe: live.unsubscribe,
    };
  }

  async function eventCount(userID: string): Promise<number> {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM profile_event WHERE user_id = $1', [userID]);
    return rows[0].n;
  }

  it('delivers a change made through a second server process, as users(ids:) shows it', async () => {
    const viewer = uniqueUserID('viewer');
    const owner = uniqueUserID('owner');
    expect((await updateThroughB(owner, { nick: 'before' })).errors).toBeUndefined();
    const live = await subscribeOnA(viewer, [owner]);

    expect((await updateThroughB(owner, { nick: 'after', level: 7 })).errors).toBeUndefined();

    const result = await live.next('the change', (r) => r.data?.profileUpdated?.nick === 'after');
    const viaQuery = await a.request(USERS, { as: viewer, variables: { ids: [owner] } });
    expect(result.errors).toBeUndefined();
    expect(result.data!.profileUpdated).toEqual(viaQuery.data!.users[0]);
    expect(result.data!.profileUpdated).toMatchObject({ userID: owner, nick: 'after', level: 7 });
  });

  it('sends nothing for an update that changes no value', async () => {
    const viewer = uniqueUserID('viewer');
    const owner = uniqueUserID('owner');
    const sentinel = uniqueUserID('sentinel');
    // Subscribed before the first change, so its message is expected, and awaited, here: a change
    // committed just before a subscription may still be delivered to it.
    const live = await subscribeOnA(viewer, [owner, sentinel]);
    await updateThroughB(owner, { nick: 'same', level: 3 });
    await live.next('the first change', (r) => r.data?.profileUpdated?.userID === owner);
    const events = await eventCount(owner);

    const noOp = await updateThroughB(owner, { nick: 'same', level: 3 });
    expect(noOp.errors).toBeUndefined();
    expect(await eventCount(owner)).toBe(events);
    // A later real change on the same path arrives; nothing about the owner came before it.
    await updateThroughB(sentinel, { nick: 'marker' });
    await live.next('the sentinel change', (r) => r.data?.profileUpdated?.userID === sentinel);
    expect(live.results.map((r) => r.data?.profileUpdated?.userID)).toEqual([owner, sentinel]);
  });

  it('sends nothing for rejected or rolled-back updates', async () => {
    const viewer = uniqueUserID('viewer');
    const owner = uniqueUserID('owner');
    const sentinel = uniqueUserID('sentinel');
    const live = await subscribeOnA(viewer, [owner, sentinel]);
    await updateThroughB(owner, { nick: 'kept' });
    await live.next('the first change', (r) => r.data?.profileUpdated?.userID === owner);
    const events = await eventCount(owner);

    // 1. Rejected by validation: nothing reaches the database.
    const rejected = await updateThroughB(owner, { nick: 'x'.repeat(501) });
    expect(rejected.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'nick' });

    // 2. The real write statement inside a transaction the test rolls back.
    // A connection of the server's pool, so it names statements (or not, behind a pooler) as the server does.
    const tx = await a.app.database.pool.connect();
    try {
      await tx.query('BEGIN');
      const inTx = new UserProfileRepository(createSqlRunner(tx), { relayOwner: 'nobody', webhookPending: false });
      const patch = buildProfilePatch({ nick: 'rolled back' }, { isAdmin: false, customField: () => undefined });
      const written = await inTx.applyPatch(owner, patch, owner);
      expect(written?.changed).toBe(true);
      await tx.query('ROLLBACK');
    } finally {
      tx.release();
    }

    // 3. A statement the database refuses (location over 16 bytes violates a CHECK constraint).
    const pool = a.app.database.pool;
    const direct = new UserProfileRepository(createSqlRunner(pool), { relayOwner: 'nobody', webhookPending: false });
    await expect(
      direct.applyPatch(owner, { standard: { location: 'x'.repeat(40) }, customSet: {}, customRemove: [] }, owner),
    ).rejects.toThrow(/user_profile_location_length/);

    expect(await eventCount(owner)).toBe(events);
    await updateThroughB(sentinel, { nick: 'marker' });
    await live.next('the sentinel change', (r) => r.data?.profileUpdated?.userID === sentinel);
    expect(live.results.map((r) => r.data?.profileUpdated?.userID)).toEqual([owner, sentinel]);
    const stored = await a.request(USERS, { as: viewer, variables: { ids: [owner] } });
    expect(stored.data!.users[0].nick).toBe('kept');
  });

  it('does not leak fields the viewer may not see', async () => {
    const viewer = uniqueUserID('viewer');
    const owner = uniqueUserID('owner');
    const privateKey = uniqueFieldKey();
    await defineField(a, privateKey, { read: 'PRIVATE' });
    const live = await subscribeOnA(viewer, [owner]);
    const own = await subscribeOnA(owner, [owner]);

    // B learns of the new definition through the registry's notification; retry until it has.
    let written: Awaited<ReturnType<typeof updateThroughB>> | undefined;
    await eventually(async () => {
      written = await updateThroughB(owner, {
        nick: 'with secret',
        profileCustomField: [
          { key: privateKey, value: 'secret mood' },
          { key: 'Tag_Profile_Custom_Test1', value: 'public' },
        ],
      });
      return written.errors === undefined;
    });

    const result = await live.next('the change', (r) => r.data?.profileUpdated?.nick === 'with secret');
    const viaQuery = await a.request(USERS, { as: viewer, variables: { ids: [owner] } });
    expect(result.data!.profileUpdated).toEqual(viaQuery.data!.users[0]);
    expect(result.data!.profileUpdated.profileCustomField).toEqual([
      { key: 'Tag_Profile_Custom_Test1', value: 'public' },
    ]);
    expect(JSON.stringify(live.results)).not.toContain('secret mood');

    // The owner's own subscription does carry the private value: visibility is per viewer.
    const mine = await own.next('the change', (r) => r.data?.profileUpdated?.nick === 'with secret');
    expect(mine.data!.profileUpdated.profileCustomField).toEqual(
      expect.arrayContaining([{ key: privateKey, value: 'secret mood' }]),
    );
  });

  it('catches up after the listener connection drops, so nothing is missed', async () => {
    const viewer = uniqueUserID('viewer');
    const owner = uniqueUserID('owner');
    await updateThroughB(owner, { nick: 'before drop' });
    const live = await subscribeOnA(viewer, [owner]);

    // Written with an owner no relay serves: no notice is ever published for it during this test.
    const silent = new UserProfileRepository(createSqlRunner(a.app.database.pool), {
      relayOwner: 'nobody',
      webhookPending: false,
    });
    const patch = buildProfilePatch({ nick: 'missed notice' }, { isAdmin: false, customField: () => undefined });
    expect((await silent.applyPatch(owner, patch, owner))?.changed).toBe(true);

    const name = `profile-events:${a.app.services.profileEvents.instanceID}`;
    if (busName.startsWith('Redis')) {
      const admin = createRedisClient({ url: REDIS_URL });
      await admin.connect();
      try {
        const list = await admin.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
        const ids = list
          .split('\n')
          .filter((line) => line.includes(` name=${name}:sub `))
          .map((line) => /(?:^|\s)id=(\d+)/.exec(line)![1]);
        expect(ids).toHaveLength(1);
        await admin.sendCommand(['CLIENT', 'KILL', 'ID', ids[0]]);
      } finally {
        await admin.close();
      }
    } else {
      const killed = await db.query(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [name],
      );
      expect(killed.rows).toEqual([{ ok: true }]);
    }

    const result = await live.next('the change made while no notice was sent', (r) =>
      r.data?.profileUpdated?.nick === 'missed notice' ? true : false,
    );
    expect(result.data!.profileUpdated.userID).toBe(owner);
    if (!busName.startsWith('Redis')) {
      await waitFor('a new listener backend', async () => {
        const { rows } = await db.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
          name,
        ]);
        return rows[0].n === 1 ? true : undefined;
      });
    }
  });
});
