import { Client } from 'pg';
import { startAppProcess, type AppProcess } from '../support/app-process';
import { connect, untilDelivering, waitFor, type WsConnection } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

jest.setTimeout(120_000);

/** Short enough for a test to see a killed instance's users turn OFFLINE; the default is 30 s. */
const TIMEOUT_MS = 3000;
const COALESCE_MS = 200;
const PRESENCE = { PRESENCE_TIMEOUT_MS: String(TIMEOUT_MS), USER_STATUS_COALESCE_MS: String(COALESCE_MS) };

const STATUSES = `query ($ids: [ID!]!) { userStatuses(ids: $ids) { userID statusType customStatus lastSeenAt } }`;
const SET_STATUS = `mutation ($s: String!) { setMyStatus(customStatus: $s) { userID statusType customStatus lastSeenAt } }`;
const WATCH = `subscription ($ids: [ID!]!) { userStatusUpdated(userIDs: $ids) { userID statusType customStatus lastSeenAt } }`;
const ME = '{ me { userID } }';

interface Status {
  userID: string;
  statusType: string;
  customStatus: string;
  lastSeenAt: string | null;
}

let a: TestServer;
let b: AppProcess;
const sockets: WsConnection[] = [];

/** A connection on instance `url` for `userID`, open (acknowledged) when this resolves. */
async function online(url: string, userID: string): Promise<WsConnection> {
  const socket = connect(url, await a.token(userID));
  sockets.push(socket);
  await waitFor('the connection to be acknowledged', () => socket.connectedAt());
  return socket;
}

async function statusesOn(server: TestServer, ids: string[], as = 'reader'): Promise<Status[]> {
  const response = await server.request(STATUSES, { as, variables: { ids } });
  expect(response.errors).toBeUndefined();
  return response.data!.userStatuses;
}

/** Instance B's answer (a separate process) to an operation as `as`. */
async function onB(query: string, variables: Record<string, unknown>, as: string) {
  const response = await fetch(b.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await a.token(as)}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: any[] };
}

/**
 * A subscription on instance A watching `user` (an account), delivering: its first delivery, of a
 * custom status set through `setStatus`, shows it is set up (see untilDelivering).
 */
async function watching(
  user: string,
  setStatus: (s: string) => Promise<unknown> = (s) => onB(SET_STATUS, { s }, user),
) {
  await a.request(ME, { as: user });
  const watcher = await online(a.url, uniqueUserID('watcher'));
  const watch = watcher.subscribe(WATCH, { ids: [user] });
  await untilDelivering(
    'the first status change',
    (attempt) => setStatus(`ready ${attempt}`),
    () => watch.results.length > 0,
  );
  return watch;
}

const statusOf = async (userID: string) => (await statusesOn(a, [userID]))[0];

beforeAll(async () => {
  a = await startTestServer(PRESENCE);
  b = await startAppProcess(PRESENCE);
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

describe('userStatuses across instances', () => {
  it('reads ONLINE on one instance while the user holds a connection on the other, OFFLINE once it closes', async () => {
    const user = uniqueUserID('pres');
    const socket = await online(b.url, user);
    await waitFor('ONLINE on the other instance', async () =>
      (await statusOf(user)).statusType === 'ONLINE' ? true : undefined,
    );
    expect(await statusOf(user)).toEqual({ userID: user, statusType: 'ONLINE', customStatus: '', lastSeenAt: null });

    const closedAt = Date.now();
    await socket.dispose();
    const offline = await waitFor('OFFLINE after the close', async () => {
      const status = await statusOf(user);
      return status.statusType === 'OFFLINE' ? status : undefined;
    });
    // lastSeenAt is when the connection ended (server clock; the database is on this machine).
    expect(Math.abs(Date.parse(offline.lastSeenAt!) - closedAt)).toBeLessThan(5000);
  });

  it('tells UNLOGINED (an account that never connected) from UNKNOWN (no account), in the order given', async () => {
    const never = uniqueUserID('never');
    await a.request(ME, { as: never });
    const nobody = uniqueUserID('nobody');
    const statuses = await statusesOn(a, [nobody, never, nobody]);
    expect(statuses).toEqual([
      { userID: nobody, statusType: 'UNKNOWN', customStatus: '', lastSeenAt: null },
      { userID: never, statusType: 'UNLOGINED', customStatus: '', lastSeenAt: null },
    ]);
  });

  it('counts a connection as the account’s first use', async () => {
    const user = uniqueUserID('first');
    await online(b.url, user);
    await waitFor('ONLINE', async () => ((await statusOf(user)).statusType === 'ONLINE' ? true : undefined));
    expect((await a.request(ME, { as: user })).data?.me.userID).toBe(user);
  });

  it('turns the users of an instance killed without closing its sockets OFFLINE within the timeout', async () => {
    const doomed = await startAppProcess(PRESENCE);
    const user = uniqueUserID('killed');
    const watcher = await online(a.url, uniqueUserID('watcher'));
    const watch = watcher.subscribe(WATCH, { ids: [user] });
    await online(doomed.url, user);
    await waitFor('ONLINE', async () => ((await statusOf(user)).statusType === 'ONLINE' ? true : undefined));
    await watch.next('ONLINE delivered', (r) => r.data?.userStatusUpdated.statusType === 'ONLINE');

    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');
    const offline = await waitFor(
      'OFFLINE after the kill',
      async () => {
        const status = await statusOf(user);
        return status.statusType === 'OFFLINE' ? status : undefined;
      },
      TIMEOUT_MS * 4,
    );
    // The documented bound: OFFLINE within PRESENCE_TIMEOUT_MS of the instance's death (plus polling).
    expect(Date.now() - killedAt).toBeLessThanOrEqual(TIMEOUT_MS + 1000);
    // Last seen when the dead instance was last alive: at most a beat before the kill.
    expect(killedAt - Date.parse(offline.lastSeenAt!)).toBeLessThanOrEqual(TIMEOUT_MS / 3 + 1000);
    // The sweep tells the subscribers, on any instance.
    await watch.next('OFFLINE delivered', (r) => r.data?.userStatusUpdated.statusType === 'OFFLINE');
    await doomed.stop();
  });

  it('refuses an empty list and more than 500 IDs, and reads 500', async () => {
    const tooMany = await a.request(STATUSES, {
      as: 'reader',
      variables: { ids: Array.from({ length: 501 }, (_, i) => `many_${i}`) },
    });
    expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids', reason: 'TOO_MANY' });
    expect(tooMany.data).toBeNull();
    const none = await a.request(STATUSES, { as: 'reader', variables: { ids: [] } });
    expect(none.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'ids',
      reason: 'INVALID_VALUE',
    });
    const five = Array.from({ length: 500 }, (_, i) => `many_${i}`);
    expect(await statusesOn(a, five)).toHaveLength(500);
  });
});

describe('setMyStatus', () => {
  it('sets a custom status, clears it with "", and refuses one over 100 UTF-8 bytes without changing it', async () => {
    const user = uniqueUserID('custom');
    const set = await a.request(SET_STATUS, { as: user, variables: { s: 'in a meeting' } });
    expect(set.data?.setMyStatus).toEqual({
      userID: user,
      statusType: 'UNLOGINED',
      customStatus: 'in a meeting',
      lastSeenAt: null,
    });
    // Another instance reads it.
    expect((await onB(STATUSES, { ids: [user] }, 'reader')).data.userStatuses[0].customStatus).toBe('in a meeting');

    // 34 three-byte characters: 102 bytes, 34 characters.
    const tooLong = await a.request(SET_STATUS, { as: user, variables: { s: '会'.repeat(34) } });
    expect(tooLong.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'customStatus',
      reason: 'TOO_LONG',
    });
    const exactly = await a.request(SET_STATUS, { as: user, variables: { s: 'x'.repeat(100) } });
    expect(exactly.data?.setMyStatus.customStatus).toBe('x'.repeat(100));
    const control = await a.request(SET_STATUS, { as: user, variables: { s: 'bad\u0007' } });
    expect(control.errors?.[0].extensions).toMatchObject({ field: 'customStatus', reason: 'INVALID_CHARACTERS' });
    expect((await statusOf(user)).customStatus).toBe('x'.repeat(100));

    const cleared = await a.request(SET_STATUS, { as: user, variables: { s: '' } });
    expect(cleared.data?.setMyStatus.customStatus).toBe('');
    expect((await statusOf(user)).customStatus).toBe('');
  });

  it('keeps the custom status across connections', async () => {
    const user = uniqueUserID('keeps');
    await a.request(SET_STATUS, { as: user, variables: { s: 'away' } });
    const socket = await online(b.url, user);
    await waitFor('ONLINE', async () => ((await statusOf(user)).statusType === 'ONLINE' ? true : undefined));
    expect((await statusOf(user)).customStatus).toBe('away');
    await socket.dispose();
    await waitFor('OFFLINE', async () => ((await statusOf(user)).statusType === 'OFFLINE' ? true : undefined));
    expect((await statusOf(user)).customStatus).toBe('away');
  });
});

describe('userStatusUpdated', () => {
  it('delivers online, custom status and offline changes made on another instance', async () => {
    const user = uniqueUserID('watched');
    const watch = await watching(user);
    const seen = () => watch.results.map((r) => r.data?.userStatusUpdated as Status);

    const socket = await online(b.url, user);
    await watch.next('ONLINE', (r) => r.data?.userStatusUpdated.statusType === 'ONLINE');
    await onB(SET_STATUS, { s: 'lunch' }, user);
    await watch.next('the custom status', (r) => r.data?.userStatusUpdated.customStatus === 'lunch');
    await socket.dispose();
    const offline = await watch.next('OFFLINE', (r) => r.data?.userStatusUpdated.statusType === 'OFFLINE');
    expect(offline.data?.userStatusUpdated).toMatchObject({ userID: user, customStatus: 'lunch' });
    expect(offline.data?.userStatusUpdated.lastSeenAt).not.toBeNull();
    expect(seen().at(-1)?.statusType).toBe('OFFLINE');
  });

  it('coalesces a user flapping: many reconnects send a few messages, ending in the real state', async () => {
    const user = uniqueUserID('flap');
    const watch = await watching(user);
    const before = watch.results.length;
    const flaps = 20;
    for (let i = 0; i < flaps; i += 1) {
      const socket = await online(b.url, user);
      await socket.dispose();
    }
    const last = await online(b.url, user);
    await watch.next(
      'the final ONLINE',
      (r) => watch.results.at(-1) === r && r.data?.userStatusUpdated.statusType === 'ONLINE',
    );
    // Let any message still gathered arrive: a notice reaches the hub in milliseconds, then waits COALESCE_MS.
    await waitFor('ONLINE read', async () => ((await statusOf(user)).statusType === 'ONLINE' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, COALESCE_MS * 5));
    const messages = watch.results.slice(before).map((r) => r.data?.userStatusUpdated.statusType);

    // 41 transitions (20 flaps and the last connect); without coalescing each would be a message.
    expect(messages.length).toBeLessThanOrEqual(10);
    expect(messages.at(-1)).toBe('ONLINE');
    await last.dispose();
  });

  it('refuses more than 100 users and an empty list', async () => {
    const watcher = await online(a.url, uniqueUserID('watcher'));
    const tooMany = await watcher.execute(WATCH, { ids: Array.from({ length: 101 }, (_, i) => `w_${i}`) });
    expect(tooMany.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'userIDs',
      reason: 'TOO_MANY',
    });
    const none = await watcher.execute(WATCH, { ids: [] });
    expect(none.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE' });
  });

  it('reads a deactivated account as UNKNOWN and tells its watchers', async () => {
    const user = uniqueUserID('deact');
    const watch = await watching(user, (s) => a.request(SET_STATUS, { as: user, variables: { s } }));
    const deactivate = await a.request(`mutation ($ids: [ID!]!) { deactivateAccounts(ids: $ids) { userID } }`, {
      as: 'admin',
      admin: true,
      variables: { ids: [user] },
    });
    expect(deactivate.errors).toBeUndefined();
    await watch.next('UNKNOWN', (r) => r.data?.userStatusUpdated.statusType === 'UNKNOWN');
    expect(await statusOf(user)).toEqual({ userID: user, statusType: 'UNKNOWN', customStatus: '', lastSeenAt: null });
  });

  it('forgets a deleted account’s status with it', async () => {
    const user = uniqueUserID('erased');
    await a.request(SET_STATUS, { as: user, variables: { s: 'bye' } });
    const deleted = await a.request('mutation { deleteMyAccount }', { as: user });
    expect(deleted.errors).toBeUndefined();
    expect((await statusOf(user)).statusType).toBe('UNKNOWN');
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT 1 FROM user_status WHERE user_id = $1', [user]);
      expect(rows).toEqual([]);
    } finally {
      await db.end();
    }
  });
});
