import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { map } from 'rxjs';
import { createProfileClient } from '../../src/client';
import { openDatabase } from '../../src/db/database';
import {
  hasPostgresBinaries,
  runSql,
  startPrimary,
  startReplica,
  waitUntil,
  warnIfNoPostgresBinaries,
  type PostgresServer,
} from '../support/postgres-cluster';
import { connect, untilDelivering, type WsConnection } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

// A primary and a streaming replica of this file's own, the replica holding every commit back
// 2 s (recovery_min_apply_delay): a read the replica answers right after a write is sure to miss it.
const APPLY_DELAY_MS = 2000;
const DATABASE = 'profiles';
const NICK = `query($ids: [ID!]!) { users(ids: $ids) { userID nick } }`;
const ME = `{ me { userID nick } }`;
const UPDATE = `mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { userID nick } }`;

jest.setTimeout(60_000);
warnIfNoPostgresBinaries('read replica tests');

let primary: PostgresServer;
let replica: PostgresServer;
/** Two instances on the same primary and replica, as behind a load balancer. */
let first: TestServer;
let second: TestServer;
const sockets: WsConnection[] = [];

function replicaEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: primary.url(DATABASE),
    DATABASE_LISTEN_URL: primary.url(DATABASE),
    DATABASE_READ_URLS: replica.url(DATABASE),
    DATABASE_READ_MAX_LAG_MS: '10000',
    DATABASE_READ_CHECK_MS: '100',
    ...extra,
  };
}

/** As docs/scaling.md shows it: the newest position a response handed back goes with every request. */
function readYourWritesLink(): ApolloLink {
  let readAfter: string | undefined;
  const newer = (known: string | undefined, received: string): string => {
    if (known === undefined) return received;
    const [kh, kl] = known.split('/').map((half) => parseInt(half, 16));
    const [rh, rl] = received.split('/').map((half) => parseInt(half, 16));
    return rh > kh || (rh === kh && rl > kl) ? received : known;
  };
  return new ApolloLink((operation, forward) => {
    if (readAfter !== undefined) {
      const position = readAfter;
      operation.setContext(({ headers = {} }) => ({ headers: { ...headers, 'x-read-after': position } }));
    }
    return forward(operation).pipe(
      map((result) => {
        const position = result.extensions?.readAfter;
        if (typeof position === 'string') readAfter = newer(readAfter, position);
        return result;
      }),
    );
  });
}

const base = (server: TestServer) => server.url.replace(/\/graphql$/, '');

async function metric(server: TestServer, name: string, labels = ''): Promise<number | undefined> {
  const text = await (await fetch(`${base(server)}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The replica's label on the metrics that carry one (`server` on db_reads_total). */
const replicaLabel = (label: 'replica' | 'server') => `{${label}="127.0.0.1:${replica.port}/${DATABASE}"}`;
const replicaReads = async (server: TestServer) =>
  (await metric(server, 'db_reads_total', replicaLabel('server'))) ?? 0;
const usable = async (server: TestServer) => (await metric(server, 'db_replica_usable', replicaLabel('replica'))) === 1;

async function readiness(server: TestServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base(server)}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function nickSeenBy(server: TestServer, viewer: string, owner: string, headers?: Record<string, string>) {
  const response = await server.request(NICK, { as: viewer, variables: { ids: [owner] }, headers });
  expect(response.errors).toBeUndefined();
  return response.data!.users[0]?.nick as string | undefined;
}

/** A user whose profile (with `nick`) the replica has replayed: a later stale read shows this nick. */
async function replicatedUser(nick: string): Promise<string> {
  const owner = uniqueUserID('owner');
  expect((await first.request(UPDATE, { as: owner, variables: { nick } })).errors).toBeUndefined();
  const reader = uniqueUserID('reader');
  await waitUntil('the replica to replay the change', async () => (await nickSeenBy(first, reader, owner)) === nick);
  return owner;
}

(hasPostgresBinaries ? describe : describe.skip)('profile reads with a streaming replica', () => {
  beforeAll(async () => {
    primary = await startPrimary();
    replica = await startReplica(primary, { applyDelayMs: APPLY_DELAY_MS });
    await runSql(primary.url(), `CREATE DATABASE ${DATABASE}`);
    const database = await openDatabase(primary.url(DATABASE), { poolMax: 1, migrate: true });
    await database.close();
    // The schema reaches the replica 2 s later.
    await waitUntil('the replica to have the schema', async () => {
      const rows = await runSql<{ n: number }>(
        replica.url(DATABASE),
        "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'user_profile'",
      ).catch(() => [{ n: 0 }]);
      return rows[0].n === 1;
    });
    first = await startTestServer(replicaEnv());
    second = await startTestServer(replicaEnv());
  }, 120_000);

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
  });

  afterAll(async () => {
    // Each step runs whatever failed before it: no server or Postgres outlives the file.
    const steps = [() => first?.stop(), () => second?.stop(), () => replica?.destroy(), () => primary?.destroy()];
    for (const step of steps) await Promise.resolve(step()).catch(() => undefined);
  }, 60_000);

  it('sends another user’s read to the replica, which has not replayed a write made a moment ago', async () => {
    const owner = await replicatedUser('before');
    const viewer = uniqueUserID('viewer');
    const readsBefore = await replicaReads(first);

    expect((await first.request(UPDATE, { as: owner, variables: { nick: 'after' } })).errors).toBeUndefined();
    expect(await nickSeenBy(first, viewer, owner)).toBe('before');
    expect(await replicaReads(first)).toBeGreaterThan(readsBefore);
    // ...and once the replica has replayed it, the same read shows it.
    await waitUntil(
      'the replica to replay the change',
      async () => (await nickSeenBy(first, viewer, owner)) === 'after',
    );
  });

  it('shows a writer their own write at once on the same instance, with no header', async () => {
    const owner = await replicatedUser('before');
    const written = await first.request(UPDATE, { as: owner, variables: { nick: 'mine' } });
    expect(written.errors).toBeUndefined();

    expect((await first.request(ME, { as: owner })).data!.me.nick).toBe('mine');
    expect(await nickSeenBy(first, owner, owner)).toBe('mine');
    // Another user reading the same profile at the same moment still gets the replica's copy.
    expect(await nickSeenBy(first, uniqueUserID('viewer'), owner)).toBe('before');
  });

  it('shows a writer their own write at once on another instance, with the position the write handed back', async () => {
    const owner = await replicatedUser('before');
    const response = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await first.token(owner)}` },
      body: JSON.stringify({ query: UPDATE, variables: { nick: 'elsewhere' } }),
    });
    const body = (await response.json()) as { data: unknown; extensions?: { readAfter?: string } };
    const readAfter = response.headers.get('x-read-after');
    expect(readAfter).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(body.extensions?.readAfter).toBe(readAfter);

    const headers = { 'x-read-after': readAfter! };
    expect((await second.request(ME, { as: owner, headers })).data!.me.nick).toBe('elsewhere');
    expect(await nickSeenBy(second, owner, owner, headers)).toBe('elsewhere');
    // Without the position, the second instance knows of no write by this user: the replica answers.
    expect(await nickSeenBy(second, owner, owner)).toBe('before');
  });

  it('hands the position back over WebSocket too, and remembers the writer there', async () => {
    const owner = await replicatedUser('before');
    const socket = connect(first.url, await first.token(owner));
    try {
      const written = await socket.execute(UPDATE, { nick: 'over the socket' });
      expect(written.errors).toBeUndefined();
      const readAfter = (written as { extensions?: { readAfter?: unknown } }).extensions?.readAfter;
      expect(readAfter).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      // Remembered on this instance: the writer's next read, with no header, sees the write.
      expect(await nickSeenBy(first, owner, owner)).toBe('over the socket');
      // Handed back: another instance given the position sees it too.
      expect(await nickSeenBy(second, owner, owner, { 'x-read-after': String(readAfter) })).toBe('over the socket');
    } finally {
      await socket.dispose();
    }
  });

  it('hands the position back the same way from Apollo and from the fast path', async () => {
    const owner = uniqueUserID('owner');
    // A text of its own: Apollo answers it first, the fast path the same text again.
    const update = `mutation PositionCheck($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }`;
    const fastBefore = (await metric(first, 'graphql_fast_path_operations_total')) ?? 0;
    const answers = [];
    for (const nick of ['one', 'two']) {
      const response = await fetch(first.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await first.token(owner)}` },
        body: JSON.stringify({ query: update, variables: { nick } }),
      });
      answers.push({ header: response.headers.get('x-read-after'), body: await response.text() });
    }
    for (const [index, { header, body }] of answers.entries()) {
      expect(header).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      const nick = ['one', 'two'][index];
      expect(body).toBe(
        `${JSON.stringify({ data: { updateMyProfile: { nick } }, extensions: { readAfter: header } })}\n`,
      );
    }
    // The second one did take the fast path.
    expect(await metric(first, 'graphql_fast_path_operations_total')).toBe(fastBefore + 1);
  });

  it('the client sends the position back by itself, to whichever instance answers', async () => {
    const owner = await replicatedUser('before');
    let turn = 0;
    const client = createProfileClient({
      url: first.url,
      getToken: () => first.token(owner),
      // A load balancer that alternates between the two instances.
      fetch: (_url, init) => fetch([first.url, second.url][turn++ % 2], init),
    });
    await client.updateMyProfile({ nick: 'via client' });
    expect(turn).toBe(1);
    expect((await client.getMyProfile()).data.nick).toBe('via client');
    expect((await client.getUserProfile({ userIDList: [owner] })).data[0].nick).toBe('via client');
    expect(turn).toBe(3);
  });

  it('an Apollo link does the same with extensions.readAfter (the one in docs/scaling.md)', async () => {
    const owner = await replicatedUser('before');
    let turn = 0;
    const client = new ApolloClient({
      link: ApolloLink.from([
        readYourWritesLink(),
        new HttpLink({
          uri: first.url,
          headers: { authorization: `Bearer ${await first.token(owner)}` },
          fetch: (_url, init) => fetch([first.url, second.url][turn++ % 2], init),
        }),
      ]),
      cache: new InMemoryCache({ typePolicies: { User: { keyFields: ['userID'] } } }),
    });
    await client.mutate({ mutation: gql(UPDATE), variables: { nick: 'via Apollo' } });
    const me = await client.query({ query: gql(ME), fetchPolicy: 'network-only' });
    expect(turn).toBe(2);
    expect(me.data).toEqual({ me: { __typename: 'User', userID: owner, nick: 'via Apollo' } });
  });

  it('delivers a subscribed change as committed, not the replica’s older copy', async () => {
    const owner = await replicatedUser('before');
    const socket = connect(first.url, await first.token(uniqueUserID('watcher')));
    sockets.push(socket);
    const live = socket.subscribe(`subscription($ids: [ID!]!) { profileUpdated(userIDs: $ids) { userID nick } }`, {
      ids: [owner],
    });
    await untilDelivering(
      'a change to be delivered',
      (attempt) => first.request(UPDATE, { as: owner, variables: { nick: `fresh ${attempt}` } }),
      () => live.results.length > 0,
    );
    const delivered = live.results.map((result) => result.data?.profileUpdated?.nick as string);
    // Read from the replica as it stood, each delivery would show "before".
    expect(delivered.every((nick) => nick.startsWith('fresh'))).toBe(true);
  });

  it('skips a replica further behind than DATABASE_READ_MAX_LAG_MS, and uses it again once it has caught up', async () => {
    const strict = await startTestServer(replicaEnv({ DATABASE_READ_MAX_LAG_MS: '500' }));
    try {
      const owner = await replicatedUser('start');
      const viewer = uniqueUserID('viewer');
      await waitUntil('the strict instance to use the replica', () => usable(strict));
      // A stream of writes keeps the replica 2 s behind.
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          written += 1;
          await first.request(UPDATE, { as: owner, variables: { nick: `stream ${written}` } });
        }
      })();
      try {
        await waitUntil('the replica to count as lagging', async () => !(await usable(strict)));
        expect(await metric(strict, 'db_replica_lag_seconds', replicaLabel('replica'))).toBeGreaterThan(0.5);
        const latest = written;
        const seen = await nickSeenBy(strict, viewer, owner);
        // From the primary: at least the last write that had answered before the read.
        expect(Number(seen!.split(' ')[1])).toBeGreaterThanOrEqual(latest - 1);
        // The lenient instance still reads from the replica meanwhile.
        expect(await usable(first)).toBe(true);
      } finally {
        writing = false;
        await writer;
      }
      await waitUntil('the replica to catch up', () => usable(strict), 15_000);
    } finally {
      await strict.stop();
    }
  });

  it('skips a stopped replica, and uses it again when it is back', async () => {
    const owner = await replicatedUser('before');
    const viewer = uniqueUserID('viewer');
    await replica.stop();
    try {
      expect((await first.request(UPDATE, { as: owner, variables: { nick: 'replica away' } })).errors).toBeUndefined();
      // The primary answers, so the write shows at once.
      expect(await nickSeenBy(first, viewer, owner)).toBe('replica away');
      await waitUntil(
        'the replica to count as down',
        async () => (await metric(first, 'db_replica_up', replicaLabel('replica'))) === 0,
      );
      expect(await readiness(first)).toEqual({ status: 200, body: { status: 'degraded', missing: ['replicas'] } });
    } finally {
      await replica.start();
    }
    await waitUntil('the replica to take reads again', () => usable(first));
    expect(await readiness(first)).toEqual({ status: 200, body: { status: 'ready' } });
    await waitUntil(
      'the replica to replay the change',
      async () => (await nickSeenBy(first, viewer, owner)) === 'replica away',
    );
    expect((await first.request(UPDATE, { as: owner, variables: { nick: 'replica back' } })).errors).toBeUndefined();
    expect(await nickSeenBy(first, viewer, owner)).toBe('replica away');
  });

  it('falls back to the primary when a replica hangs, and skips it from then on', async () => {
    // Checks far apart, so the read itself is what finds the replica hanging.
    const impatient = await startTestServer(
      replicaEnv({ DB_STATEMENT_TIMEOUT_MS: '500', DB_CONNECT_TIMEOUT_MS: '500', DATABASE_READ_CHECK_MS: '60000' }),
    );
    try {
      const owner = await replicatedUser('before');
      const viewer = uniqueUserID('viewer');
      expect(await usable(impatient)).toBe(true);
      expect((await first.request(UPDATE, { as: owner, variables: { nick: 'frozen' } })).errors).toBeUndefined();
      replica.freeze();
      try {
        const started = Date.now();
        expect(await nickSeenBy(impatient, viewer, owner)).toBe('frozen');
        // It waited for the replica (pg gives up 1 s after the statement timeout), then asked the primary.
        expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
        expect(await usable(impatient)).toBe(false);
        const again = Date.now();
        expect(await nickSeenBy(impatient, viewer, owner)).toBe('frozen');
        expect(Date.now() - again).toBeLessThan(1000);
      } finally {
        replica.thaw();
      }
    } finally {
      await impatient.stop();
    }
  });

  it('answers reads from the replica while the primary is down, refuses writes, and writes again once it is back', async () => {
    const owner = await replicatedUser('kept');
    const viewer = uniqueUserID('viewer');
    await primary.stop();
    try {
      expect(await nickSeenBy(first, viewer, owner)).toBe('kept');
      expect(await nickSeenBy(second, viewer, owner)).toBe('kept');
      const refused = await first.request(UPDATE, { as: owner, variables: { nick: 'refused' } });
      expect(refused.status).toBe(503);
      expect(refused.errors?.[0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
      await waitUntil('the primary to count as down', async () => (await metric(first, 'db_primary_up')) === 0);
      expect(await readiness(first)).toEqual({ status: 200, body: { status: 'degraded', missing: ['primary'] } });
      expect(await nickSeenBy(first, viewer, owner)).toBe('kept');
    } finally {
      await primary.start();
    }
    // No restart: the pool reconnects.
    await waitUntil('writes to succeed again', async () => {
      const written = await first.request(UPDATE, { as: owner, variables: { nick: 'resumed' } });
      return written.errors === undefined;
    });
    expect((await first.request(ME, { as: owner })).data!.me.nick).toBe('resumed');
    await waitUntil('the readiness to recover', async () => (await readiness(first)).body.status === 'ready');
  });
});
