import type { Pool, PoolClient } from 'pg';
import {
  connect,
  untilDelivering,
  waitFor,
  type ReceivedResult,
  type WsConnection,
} from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const WATCH = `subscription ($ids: [ID!]!, $since: String) { profileUpdated(userIDs: $ids, since: $since) { userID nick } }`;
const UPDATE = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`;

let server: TestServer;
const sockets: WsConnection[] = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server.stop();
});

async function socketFor(userID: string): Promise<WsConnection> {
  const socket = connect(server.url, await server.token(userID));
  sockets.push(socket);
  return socket;
}

const setNick = async (userID: string, nick: string) => {
  const response = await server.request(UPDATE, { as: userID, variables: { input: { nick } } });
  expect(response.errors).toBeUndefined();
};

const cursorOf = (result: ReceivedResult) => (result as { extensions?: { cursor?: string } }).extensions?.cursor;
const nicks = (results: ReceivedResult[]) =>
  results.map((r) => [r.data!.profileUpdated.userID, r.data!.profileUpdated.nick]).sort();

/** Counts the statements of this name sent on `pool` from now on. */
function countNamed(pool: Pool, name: string): () => number {
  let count = 0;
  const wrapped = new WeakSet<PoolClient>();
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query;
    client.query = function (this: PoolClient, ...args: unknown[]) {
      if ((args[0] as { name?: string } | undefined)?.name === name) count += 1;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof client.query;
  });
  return () => count;
}

async function latestEvent(userID: string): Promise<string> {
  const { rows } = await server.app.database.pool.query<{ id: string }>(
    'SELECT max(event_id)::text AS id FROM profile_event WHERE user_id = $1',
    [userID],
  );
  return rows[0].id;
}

describe('resuming profileUpdated with a cursor', () => {
  it('carries the event each message reflects; after a reconnect, since: delivers every change missed', async () => {
    const [alice, bob, carol] = [uniqueUserID('alice'), uniqueUserID('bob'), uniqueUserID('carol')];
    await server.request('{ me { userID } }', { as: carol }); // an account with no change
    const first = await socketFor(uniqueUserID('watcher'));
    const live = first.subscribe(WATCH, { ids: [alice, bob, carol] });
    let attempt = 0;
    await untilDelivering(
      'the subscription',
      (n) => setNick(alice, `a${(attempt = n)}`),
      () => live.results.some((r) => r.data?.profileUpdated.nick === `a${attempt}`),
    );
    const last = live.results[live.results.length - 1];
    expect(cursorOf(last)).toBe(await latestEvent(alice));
    await first.dispose();

    // While no socket is open: changes to two of the three.
    await setNick(alice, 'alice-while-away');
    await setNick(bob, 'bob-while-away');

    const second = await socketFor(uniqueUserID('watcher'));
    const resumed = second.subscribe(WATCH, { ids: [alice, bob, carol], since: cursorOf(last) });
    await waitFor('the missed changes', () => (resumed.results.length >= 2 ? true : undefined));
    expect(nicks(resumed.results.slice(0, 2))).toEqual(
      [
        [alice, 'alice-while-away'],
        [bob, 'bob-while-away'],
      ].sort(),
    );
    expect(cursorOf(resumed.results.find((r) => r.data!.profileUpdated.userID === bob)!)).toBe(await latestEvent(bob));
    // And it goes on live.
    await setNick(carol, 'carol-later');
    await resumed.next('a live change', (r) => r.data?.profileUpdated.nick === 'carol-later');
    expect(resumed.results.filter((r) => r.data!.profileUpdated.userID === carol)).toHaveLength(1);
  });

  it("delivers every watched user's current state when the cursor's event is no longer kept", async () => {
    const [dave, erin] = [uniqueUserID('dave'), uniqueUserID('erin')];
    await setNick(dave, 'dave');
    await server.request('{ me { userID } }', { as: erin });
    const gone = await latestEvent(dave);
    // As pruning does once an event is older than the retention.
    await server.app.database.pool.query('DELETE FROM profile_event WHERE event_id = $1', [gone]);

    const socket = await socketFor(uniqueUserID('watcher'));
    const resumed = socket.subscribe(WATCH, { ids: [dave, erin], since: gone });
    await waitFor('every current state', () => (resumed.results.length >= 2 ? true : undefined));
    expect(nicks(resumed.results)).toEqual(
      [
        [dave, 'dave'],
        [erin, ''],
      ].sort(),
    );
  });

  it('answers subscriptions resuming together with one look-up for all of them, each with its own backlog', async () => {
    const [frank, gina, hal] = [uniqueUserID('frank'), uniqueUserID('gina'), uniqueUserID('hal')];
    await setNick(frank, 'frank');
    const since = await latestEvent(frank);
    await setNick(gina, 'gina-while-away');
    await setNick(hal, 'hal-while-away');
    const lookups = countNamed(server.app.database.pool, 'profile_event_latest_with_time');
    // Twenty sockets resubscribe at once, as after a restart; half watch only gina.
    const resuming = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const socket = await socketFor(uniqueUserID('watcher'));
        await waitFor('the connection', () => (socket.connectedAt() === undefined ? undefined : true));
        return { index, socket };
      }),
    );
    const subscriptions = resuming.map(({ index, socket }) =>
      socket.subscribe(WATCH, { ids: index % 2 === 0 ? [frank, gina, hal] : [gina], since }),
    );
    await waitFor('every backlog', () =>
      subscriptions.every((live, index) => live.results.length >= (index % 2 === 0 ? 3 : 1)) ? true : undefined,
    );
    for (const [index, live] of subscriptions.entries()) {
      expect(nicks(live.results)).toEqual(
        index % 2 === 0
          ? [
              // frank's change is the cursor's own: within the slack, so sent again (harmless)
              [frank, 'frank'],
              [gina, 'gina-while-away'],
              [hal, 'hal-while-away'],
            ].sort()
          : [[gina, 'gina-while-away']],
      );
    }
    // One statement per batch of subscriptions that arrived in the same turn, where each used to run its own.
    expect(lookups()).toBeLessThanOrEqual(5);
  });

  it('hands resumed backlogs out over several turns of the event loop, at most 100 deliveries a turn', async () => {
    const [ivy, jon, kim] = [uniqueUserID('ivy'), uniqueUserID('jon'), uniqueUserID('kim')];
    await setNick(ivy, 'ivy');
    const since = await latestEvent(ivy);
    await setNick(jon, 'jon-while-away');
    await setNick(kim, 'kim-while-away');
    const hub = server.app.services.profileEventHub;
    const viewer = { userID: uniqueUserID('watcher'), isAdmin: false };
    let turn = 0;
    let counting = true;
    const turns = (async () => {
      while (counting) {
        await new Promise((resolve) => setImmediate(resolve));
        turn += 1;
      }
    })();
    // 300 subscriptions resuming in one turn, three users each: 900 deliveries once handed out.
    const handedOutIn: number[] = [];
    const feeds = await Promise.all(
      Array.from({ length: 300 }, () =>
        hub.subscribe(viewer, [ivy, jon, kim], since).then((feed) => {
          handedOutIn.push(turn);
          return feed;
        }),
      ),
    );
    counting = false;
    await turns;
    await Promise.all(feeds.map((feed) => feed.return?.()));
    const perTurn = new Map<number, number>();
    for (const handed of handedOutIn) perTurn.set(handed, (perTurn.get(handed) ?? 0) + 1);
    // 33 backlogs of three fit a turn's 100; all in one turn, they held it for all 900.
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(34);
    expect(perTurn.size).toBeGreaterThanOrEqual(9);
  });

  it.each(['abc', '0', '-1', '99999999999999999999', ' 12'])('refuses %p as a cursor', async (since) => {
    const socket = await socketFor(uniqueUserID('watcher'));
    const refused = socket.subscribe(WATCH, { ids: [uniqueUserID()], since });
    const errors = await waitFor('the refusal', () => refused.errors() ?? refused.results[0]?.errors);
    expect(errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'since', reason: 'INVALID_VALUE' });
  });
});
