import { DELETE_EXPIRED } from '../../src/events/profile-event.repository';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

const insertEvents = (prefix: string, count: number, age: string, relayed: boolean, webhookPending: boolean) =>
  server.app.database.pool.query(
    `INSERT INTO profile_event (user_id, operator, event_time, changed_fields, changed_custom_fields, relay_owner, relayed, webhook_pending)
     SELECT $1 || (i % 50), 'pruning-test', now() - $3::interval, '{"nick":"x"}', '{}', 'pruning-test', $4, $5
     FROM generate_series(1, $2) AS i`,
    [prefix, count, age, relayed, webhookPending],
  );

const countOf = async (prefix: string) =>
  (
    await server.app.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM profile_event WHERE user_id LIKE $1 || '%'`,
      [prefix],
    )
  ).rows[0].n;

describe('outbox pruning', () => {
  it('removes every expired event in one pass, in batches, and keeps the rest', async () => {
    const expired = uniqueUserID('expired');
    const kept = uniqueUserID('kept');
    // 12,000 expired events: at the default pass every 10 s, more than 1,000 writes a second's worth.
    await insertEvents(expired, 12_000, '48 hours', true, false);
    await insertEvents(kept, 10, '1 minute', true, false); // within the retention
    await insertEvents(kept, 5, '48 hours', true, true); // still waiting for the webhook
    await insertEvents(kept, 5, '48 hours', false, false); // not yet published

    // Only the rows' state is asserted, not the count this call returns: the servers of other test
    // files on the same database prune expired events too, and may take some of these first.
    await server.app.services.profileEvents.relay.pruneExpired();
    expect(await countOf(expired)).toBe(0);
    expect(await countOf(kept)).toBe(20);
  });

  it('reads the oldest expired events from the expiry index, whatever the statistics', async () => {
    // The statement pruning runs, planned as it would run (EXPLAIN without ANALYZE deletes nothing).
    const { rows } = await server.app.database.pool.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) ${DELETE_EXPIRED.text}`,
      [24, 5000],
    );
    expect(JSON.stringify(rows[0]['QUERY PLAN'])).toContain('"Index Name":"profile_event_expiry"');
  });
});

describe('subscriptions starting together', () => {
  it('read the latest events of all their users in one statement', async () => {
    const hub = server.app.services.profileEventHub;
    const viewer = { userID: uniqueUserID('storm'), isAdmin: false };
    await server.stopBackgroundWork();
    const before = server.statements();
    // As a reconnect storm brings them: many subscriptions in one turn of the event loop.
    const feeds = await Promise.all(
      Array.from({ length: 20 }, () => hub.subscribe(viewer, [uniqueUserID(), uniqueUserID()])),
    );
    expect(server.statements() - before).toBe(1);
    await Promise.all(feeds.map((feed) => feed.return?.()));
  });
});
