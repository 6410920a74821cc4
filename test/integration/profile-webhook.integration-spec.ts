import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client as PgClient } from 'pg';
import { verifyWebhookSignature } from '../../src/webhook/webhook-signature';
import type { ProfileUpdatedPayload, WebhookPayload as AnyPayload } from '../../src/webhook/webhook-worker';

/** Any payload; the profile-change fields are there on PROFILE_UPDATED only. */
type WebhookPayload = AnyPayload & Partial<Pick<ProfileUpdatedPayload, 'changedFields' | 'changedCustomFields'>>;
import { waitFor } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const SECRET = 'webhook-test-secret-0123456789';
const UPDATE = `mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`;

/**
 * An idempotent receiver: verifies the signature, remembers processed event IDs and acknowledges
 * a repeat without processing it again. It misbehaves at first: three 503s, one answer slower than
 * the sender's timeout, and one event processed whose acknowledgement is "lost" (a 500).
 */
class Receiver {
  readonly processed: WebhookPayload[] = [];
  readonly processedIDs = new Set<string>();
  requests = 0;
  badSignatures = 0;
  duplicatesIgnored = 0;
  headerMismatches = 0;
  private server: http.Server | undefined;
  port = 0;

  async listen(port = 0): Promise<void> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.handle(Buffer.concat(chunks), request, response));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Only these users' events are answered with failures (older runs may have left others pending). */
  users = new Set<string>();

  private handle(raw: Buffer, request: http.IncomingMessage, response: http.ServerResponse): void {
    if (!verifyWebhookSignature(SECRET, raw, request.headers['x-profile-signature'] as string | undefined)) {
      this.badSignatures += 1;
      response.writeHead(401).end();
      return;
    }
    const payload = JSON.parse(raw.toString('utf8')) as WebhookPayload;
    if (request.headers['x-profile-event-id'] !== payload.eventID) this.headerMismatches += 1;
    if (!this.users.has(payload.userID)) {
      response.writeHead(200).end();
      return;
    }
    this.requests += 1;
    const n = this.requests;
    if (n <= 3) {
      response.writeHead(503).end();
      return;
    }
    if (n === 4) {
      setTimeout(() => response.writeHead(200).end(), 1500).unref();
      return;
    }
    if (this.processedIDs.has(payload.eventID)) {
      this.duplicatesIgnored += 1;
      response.writeHead(200).end();
      return;
    }
    this.processedIDs.add(payload.eventID);
    this.processed.push(payload);
    response.writeHead(n === 5 ? 500 : 200).end();
  }
}

describe('profile webhook', () => {
  const receiver = new Receiver();
  const servers: TestServer[] = [];
  let db: PgClient;

  const env = () => ({
    PROFILE_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hooks/profile`,
    PROFILE_WEBHOOK_SECRET: SECRET,
    PROFILE_WEBHOOK_TIMEOUT_MS: '500',
    PROFILE_WEBHOOK_RETRY_BASE_MS: '50',
    PROFILE_WEBHOOK_RETRY_MAX_MS: '400',
    PROFILE_WEBHOOK_POLL_MS: '50',
    // The receiver is down for a while on purpose: nothing here may become a dead letter.
    PROFILE_WEBHOOK_MAX_ATTEMPTS: '1000',
  });

  beforeAll(async () => {
    db = new PgClient({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    await receiver.listen();
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
    await receiver.close();
    await db?.end();
  });

  async function start(): Promise<TestServer> {
    const server = await startTestServer(env());
    servers.push(server);
    return server;
  }

  async function update(server: TestServer, userID: string, input: Record<string, unknown>) {
    const response = await server.request(UPDATE, { as: userID, variables: { input } });
    expect(response.errors).toBeUndefined();
  }

  it('delivers every change once, signed and in order per user, across failures, a receiver outage and a restart', async () => {
    const alice = uniqueUserID('alice');
    const bob = uniqueUserID('bob');
    const users = [alice, bob];
    receiver.users = new Set(users);

    // Phase 1: the receiver fails its first attempts.
    const first = await start();
    await update(first, alice, { nick: 'a1' });
    await update(first, bob, { nick: 'b1', profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'x' }] });
    await update(first, alice, { nick: 'a2', gender: 'FEMALE' });
    await update(first, alice, { nick: 'a2', gender: 'FEMALE' }); // changes nothing: no event
    await update(first, bob, { profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: '' }] });
    await waitFor('the first deliveries', () => (receiver.processed.length >= 2 ? true : undefined));

    // Phase 2: the receiver goes down; changes keep coming; the server restarts.
    await receiver.close();
    await update(first, alice, { nick: 'a3' });
    await update(first, bob, { nick: 'b2' });
    await first.stop();
    const { rows: pending } = await db.query(
      'SELECT count(*)::int AS n FROM profile_event WHERE user_id = ANY($1) AND webhook_pending',
      [users],
    );
    expect(pending[0].n).toBeGreaterThan(0);

    // Phase 3: two instances after the restart, more changes, then the receiver is back.
    const second = await start();
    const third = await start();
    await update(second, alice, { nick: 'a4' });
    await update(third, bob, { nick: 'b3' });
    await receiver.listen(receiver.port);

    const { rows: events } = await db.query<{ event_id: string; user_id: string }>(
      'SELECT event_id::text, user_id FROM profile_event WHERE user_id = ANY($1) ORDER BY profile_event.event_id',
      [users],
    );
    expect(events).toHaveLength(8);
    const mine = () => receiver.processed.filter((p) => users.includes(p.userID));
    await waitFor('every event to be processed', () => (mine().length === events.length ? true : undefined), 30000);

    expect(receiver.badSignatures).toBe(0);
    expect(receiver.headerMismatches).toBe(0);
    expect(receiver.duplicatesIgnored).toBeGreaterThanOrEqual(1);
    expect(receiver.requests).toBeGreaterThan(receiver.processed.length);
    expect(new Set(mine().map((p) => p.eventID)).size).toBe(events.length);

    const of = (userID: string) => mine().filter((p) => p.userID === userID);
    for (const userID of users) {
      const ids = of(userID).map((p) => BigInt(p.eventID));
      expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      expect(of(userID).map((p) => p.eventID)).toEqual(
        events.filter((e) => e.user_id === userID).map((e) => e.event_id),
      );
    }
    expect(of(alice).map((p) => p.changedFields)).toEqual([
      { nick: 'a1' },
      { nick: 'a2', gender: 'FEMALE' },
      { nick: 'a3' },
      { nick: 'a4' },
    ]);
    expect(of(bob).map((p) => [p.changedFields, p.changedCustomFields])).toEqual([
      [{ nick: 'b1' }, { Tag_Profile_Custom_Test1: 'x' }],
      [{}, { Tag_Profile_Custom_Test1: null }],
      [{ nick: 'b2' }, {}],
      [{ nick: 'b3' }, {}],
    ]);
    for (const payload of mine()) {
      expect(payload).toMatchObject({ eventType: 'PROFILE_UPDATED', operator: payload.userID });
      expect(Number.isNaN(Date.parse(payload.eventTime))).toBe(false);
    }

    // The worker records a delivery in the transaction it commits after the receiver answered, so
    // the last record may land just after the receiver processed the last event.
    await waitFor('every delivery to be recorded', async () => {
      const { rows: left } = await db.query(
        'SELECT count(*)::int AS n FROM profile_event WHERE user_id = ANY($1) AND (webhook_pending OR webhook_delivered_at IS NULL)',
        [users],
      );
      return left[0].n === 0 ? true : undefined;
    });
  });
});

type Answer = 'ok' | 'fail' | 'hang';

/** A receiver whose answer each test chooses per payload; a held request is answered when released. */
class ScriptedReceiver {
  readonly requests: Array<{ payload: WebhookPayload; attempt: number }> = [];
  answer: (payload: WebhookPayload) => Answer = () => 'ok';
  private held: http.ServerResponse[] = [];
  private server: http.Server | undefined;
  port = 0;

  async listen(): Promise<void> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.handle(Buffer.concat(chunks), request, response));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  of(userID: string): Array<{ payload: WebhookPayload; attempt: number }> {
    return this.requests.filter((request) => request.payload.userID === userID);
  }

  release(): void {
    for (const response of this.held.splice(0)) response.writeHead(200).end();
  }

  async close(): Promise<void> {
    this.release();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(raw: Buffer, request: http.IncomingMessage, response: http.ServerResponse): void {
    if (!verifyWebhookSignature(SECRET, raw, request.headers['x-profile-signature'] as string | undefined)) {
      response.writeHead(401).end();
      return;
    }
    const payload = JSON.parse(raw.toString('utf8')) as WebhookPayload;
    this.requests.push({ payload, attempt: Number(request.headers['x-profile-delivery-attempt']) });
    const answer = this.answer(payload);
    if (answer === 'hang') this.held.push(response);
    else response.writeHead(answer === 'ok' ? 200 : 500).end();
  }
}

describe('profile webhook leases and dead letters', () => {
  const MAX_ATTEMPTS = 3;
  const TIMEOUT_MS = 20_000;
  // The server's connections carry this name, so the test can tell its sessions from every other.
  const APPLICATION = `webhook-lease-${randomBytes(4).toString('hex')}`;
  const DEAD_LETTERS = `query($after: ID) { webhookDeadLetters(first: 100, after: $after) {
    eventID userID operator eventTime attempts lastError deadAt } }`;
  const RETRY = `mutation($eventIDs: [ID!]!) { retryWebhookDeliveries(eventIDs: $eventIDs) }`;
  const admin = uniqueUserID('admin');
  const receiver = new ScriptedReceiver();
  let server: TestServer;
  let db: PgClient;

  beforeAll(async () => {
    db = new PgClient({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    await receiver.listen();
    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set('application_name', APPLICATION);
    server = await startTestServer({
      DATABASE_URL: url.toString(),
      PROFILE_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hooks/profile`,
      PROFILE_WEBHOOK_SECRET: SECRET,
      PROFILE_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      PROFILE_WEBHOOK_RETRY_BASE_MS: '20',
      PROFILE_WEBHOOK_RETRY_MAX_MS: '100',
      PROFILE_WEBHOOK_POLL_MS: '50',
      PROFILE_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    });
  });

  afterEach(() => {
    receiver.release();
    receiver.answer = () => 'ok';
  });

  afterAll(async () => {
    await receiver.close();
    await server?.stop();
    await db?.end();
  });

  async function update(userID: string, input: Record<string, unknown>): Promise<void> {
    const response = await server.request(UPDATE, { as: userID, variables: { input } });
    expect(response.errors).toBeUndefined();
  }

  async function eventIDsOf(userID: string): Promise<string[]> {
    const { rows } = await db.query<{ event_id: string }>(
      'SELECT event_id::text FROM profile_event WHERE user_id = $1 ORDER BY profile_event.event_id',
      [userID],
    );
    return rows.map((row) => row.event_id);
  }

  function delivered(eventID: string): Promise<true> {
    return waitFor(`event ${eventID} to be delivered`, async () => {
      const { rows } = await db.query(
        'SELECT 1 FROM profile_event WHERE event_id = $1 AND NOT webhook_pending AND webhook_delivered_at IS NOT NULL',
        [eventID],
      );
      return rows.length === 1 ? true : undefined;
    });
  }

  function deadLettered(eventID: string): Promise<{ attempts: number; error: string }> {
    return waitFor(`event ${eventID} to become a dead letter`, async () => {
      const { rows } = await db.query<{ attempts: number; error: string }>(
        `SELECT webhook_attempts AS attempts, webhook_last_error AS error FROM profile_event
          WHERE event_id = $1 AND webhook_pending AND webhook_dead_at IS NOT NULL`,
        [eventID],
      );
      return rows[0];
    });
  }

  async function deadLetterMetrics(): Promise<{ total: number; waiting: number }> {
    const text = await (await fetch(new URL('/metrics', server.url))).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    return { total: value('profile_webhook_dead_letters_total'), waiting: value('profile_webhook_dead_letters') };
  }

  it('sends account events in order with the profile changes, without field values', async () => {
    const userID = uniqueUserID('acct');
    await update(userID, { nick: 'before' });
    const asAdmin = { as: admin, admin: true };
    for (const operation of ['deactivateAccounts', 'reactivateAccounts', 'deleteAccounts']) {
      const response = await server.request(`mutation ($ids: [ID!]!) { ${operation}(ids: $ids) { userID } }`, {
        ...asAdmin,
        variables: { ids: [userID] },
      });
      expect(response.errors).toBeUndefined();
    }
    const sent = () => receiver.requests.filter((r) => r.payload.userID === userID).map((r) => r.payload);
    await waitFor('the deletion event', () =>
      sent().some((p) => p.eventType === 'ACCOUNT_DELETED') ? true : undefined,
    );
    // The profile change is delivered first, or, if still waiting at the erasure, erased with it.
    const payloads = sent();
    const accountEvents = payloads.filter((p) => p.eventType !== 'PROFILE_UPDATED');
    expect(accountEvents.map((p) => p.eventType)).toEqual([
      'ACCOUNT_DEACTIVATED',
      'ACCOUNT_REACTIVATED',
      'ACCOUNT_DELETED',
    ]);
    for (const payload of accountEvents) {
      expect(Object.keys(payload)).toEqual(['eventID', 'eventType', 'operator', 'userID', 'eventTime']);
      expect(payload).toMatchObject({ operator: admin, userID });
    }
    const ids = payloads.map((p) => BigInt(p.eventID));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  });

  it('holds no transaction or row lock while the receiver takes its time', async () => {
    const user = uniqueUserID('slow');
    receiver.answer = (payload) => (payload.userID === user ? 'hang' : 'ok');
    await update(user, { nick: 's1' });
    const [eventID] = await eventIDsOf(user);
    await waitFor('the receiver to hold the delivery', () => receiver.of(user)[0]);

    const { rows: idle } = await db.query(
      `SELECT pid, query FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
      [APPLICATION],
    );
    expect(idle).toEqual([]);
    await db.query('BEGIN');
    try {
      // NOWAIT: a lock held by the worker would fail this at once (55P03) instead of waiting.
      const { rows } = await db.query(
        `SELECT webhook_attempts AS attempts, webhook_lease IS NOT NULL AS leased,
            webhook_next_attempt_at > now() + $2::integer * interval '1 millisecond' AS "leaseOutlastsTimeout"
          FROM profile_event WHERE event_id = $1 FOR UPDATE NOWAIT`,
        [eventID, TIMEOUT_MS],
      );
      expect(rows).toEqual([{ attempts: 1, leased: true, leaseOutlastsTimeout: true }]);
    } finally {
      await db.query('ROLLBACK');
    }

    receiver.release();
    await delivered(eventID);
    expect(receiver.of(user).map((request) => request.attempt)).toEqual([1]);
  });

  it('picks up an event again once the lease of an instance that stopped mid-delivery ends', async () => {
    const user = uniqueUserID('orphan');
    const insert = `INSERT INTO profile_event (user_id, operator, event_time, changed_fields, changed_custom_fields,
        relay_owner, relayed, webhook_pending, webhook_attempts, webhook_lease, webhook_next_attempt_at)
      VALUES ($1, $1, now(), $2, '{}', 'gone', true, true, $3, gen_random_uuid(), now() - interval '1 second')
      RETURNING event_id::text`;
    // What an instance leaves behind when it stops between leasing an attempt and recording it.
    const { rows: retried } = await db.query(insert, [user, { nick: 'o1' }, 1]);
    await delivered(retried[0].event_id);
    expect(receiver.of(user).map((r) => [r.payload.eventID, r.attempt])).toEqual([[retried[0].event_id, 2]]);

    // Its last attempt's lease ran out: a dead letter, not sent again.
    const { rows: spent } = await db.query(insert, [user, { nick: 'o2' }, MAX_ATTEMPTS]);
    await expect(deadLettered(spent[0].event_id)).resolves.toEqual({
      attempts: MAX_ATTEMPTS,
      error: 'no outcome recorded before the lease ended',
    });
    expect(receiver.of(user).map((r) => r.payload.eventID)).toEqual([retried[0].event_id]);
    await server.request(RETRY, { as: admin, admin: true, variables: { eventIDs: [spent[0].event_id] } });
    await delivered(spent[0].event_id);
  });

  it('gives up after PROFILE_WEBHOOK_MAX_ATTEMPTS, shows the dead letter to administrators only, and retries it', async () => {
    const user = uniqueUserID('dead');
    const countedBefore = (await deadLetterMetrics()).total;
    let healthy = false;
    receiver.answer = (payload) => (payload.userID === user && !healthy ? 'fail' : 'ok');
    await update(user, { nick: 'd1' });
    const [eventID] = await eventIDsOf(user);
    await expect(deadLettered(eventID)).resolves.toEqual({ attempts: MAX_ATTEMPTS, error: 'HTTP 500' });
    expect(receiver.of(user).map((request) => request.attempt)).toEqual([1, 2, 3]);

    await waitFor('the dead letter to be counted', async () => {
      const metrics = await deadLetterMetrics();
      return metrics.total === countedBefore + 1 ? metrics : undefined;
    });
    expect((await deadLetterMetrics()).waiting).toBeGreaterThanOrEqual(1);

    // Dead letters of earlier runs may come first: list from this one on.
    const after = String(BigInt(eventID) - 1n);
    const listed = await server.request(DEAD_LETTERS, { as: admin, admin: true, variables: { after } });
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.webhookDeadLetters[0]).toEqual({
      eventID,
      userID: user,
      operator: user,
      eventTime: expect.any(String),
      attempts: MAX_ATTEMPTS,
      lastError: 'HTTP 500',
      deadAt: expect.any(String),
    });

    const refusedList = await server.request(DEAD_LETTERS, { as: user, variables: { after } });
    expect(refusedList.data).toBeNull();
    expect(refusedList.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });
    const refusedRetry = await server.request(RETRY, { as: user, variables: { eventIDs: [eventID] } });
    expect(refusedRetry.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_ONLY' });
    const tooMany = await server.request(RETRY, {
      as: admin,
      admin: true,
      variables: { eventIDs: Array.from({ length: 101 }, () => eventID) },
    });
    expect(tooMany.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'TOO_MANY',
      field: 'eventIDs',
    });
    const notAnID = await server.request(RETRY, { as: admin, admin: true, variables: { eventIDs: ['x'] } });
    expect(notAnID.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_VALUE',
      field: 'eventIDs[0]',
    });
    await expect(deadLettered(eventID)).resolves.toEqual({ attempts: MAX_ATTEMPTS, error: 'HTTP 500' });

    healthy = true;
    const retried = await server.request(RETRY, {
      as: admin,
      admin: true,
      variables: { eventIDs: [eventID, eventID] },
    });
    expect(retried.errors).toBeUndefined();
    expect(retried.data).toEqual({ retryWebhookDeliveries: 1 });
    await delivered(eventID);
    expect(receiver.of(user).map((request) => request.attempt)).toEqual([1, 2, 3, 1]);
    const again = await server.request(DEAD_LETTERS, { as: admin, admin: true, variables: { after } });
    expect(again.data!.webhookDeadLetters.map((d: { eventID: string }) => d.eventID)).not.toContain(eventID);

    const { rows: audit } = await db.query(
      `SELECT actor_id AS actor, operation, outcome, error_reason AS reason FROM admin_audit
        WHERE actor_id = ANY($1) ORDER BY id`,
      [[admin, user]],
    );
    expect(audit).toEqual(
      expect.arrayContaining([
        { actor: user, operation: 'webhookDeadLetters', outcome: 'FORBIDDEN', reason: 'ADMIN_ONLY' },
        { actor: user, operation: 'retryWebhookDeliveries', outcome: 'FORBIDDEN', reason: 'ADMIN_ONLY' },
        { actor: admin, operation: 'retryWebhookDeliveries', outcome: 'REJECTED', reason: 'TOO_MANY' },
        { actor: admin, operation: 'retryWebhookDeliveries', outcome: 'SUCCEEDED', reason: null },
      ]),
    );
  });

  it("no longer holds back the user's later changes once an event is a dead letter", async () => {
    const user = uniqueUserID('next');
    receiver.answer = (payload) => (payload.userID === user && payload.changedFields?.nick === 'n1' ? 'fail' : 'ok');
    await update(user, { nick: 'n1' });
    await update(user, { nick: 'n2' });
    const [first, second] = await eventIDsOf(user);
    await delivered(second);
    await expect(deadLettered(first)).resolves.toEqual({ attempts: MAX_ATTEMPTS, error: 'HTTP 500' });
    // The later change waited for every attempt at the earlier one.
    expect(receiver.of(user).map((r) => [r.payload.eventID, r.attempt])).toEqual([
      [first, 1],
      [first, 2],
      [first, 3],
      [second, 1],
    ]);

    // Retried, the dead letter arrives after the change that overtook it.
    receiver.answer = () => 'ok';
    const retried = await server.request(RETRY, { as: admin, admin: true, variables: { eventIDs: [first] } });
    expect(retried.data).toEqual({ retryWebhookDeliveries: 1 });
    await delivered(first);
    expect(receiver.of(user).map((r) => r.payload.eventID)).toEqual([first, first, first, second, first]);
  });
});
