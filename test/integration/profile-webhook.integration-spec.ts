import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client as PgClient } from 'pg';
import { verifyWebhookSignature } from '../../src/webhook/webhook-signature';
import type { WebhookPayload } from '../../src/webhook/webhook-worker';
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
      'SELECT event_id::text, user_id FROM profile_event WHERE user_id = ANY($1) ORDER BY event_id',
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
