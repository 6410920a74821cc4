import type { MigrationInterface } from 'typeorm';
import type { RunningApp } from '../../src/app';
import { issueToken } from '../../src/auth/token-issuer';
import { createReadinessCheck } from '../../src/db/readiness';
import { startLoggedApp } from '../support/logged-app';
import { TEST_JWT_SECRET, uniqueUserID } from '../support/test-server';

const post = (app: RunningApp, body: unknown, headers: Record<string, string> = {}) =>
  fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const base = (app: RunningApp) => app.url.replace(/\/graphql$/, '');

describe('health checks', () => {
  let app: RunningApp;
  beforeAll(async () => ({ app } = await startLoggedApp()));
  afterAll(() => app.stop());

  it('GET /healthz answers while the process is alive', async () => {
    const response = await fetch(`${base(app)}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers ready when the database is reachable and every migration has run', async () => {
    const response = await fetch(`${base(app)}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it('the readiness check reports a migration this build knows but the database has not run', async () => {
    const pending = { name: 'AddSomethingNew9999999999999', up: async () => {}, down: async () => {} };
    const dataSource = Object.create(app.database.dataSource, {
      migrations: { value: [...app.database.dataSource.migrations, pending as MigrationInterface] },
    });
    const check = createReadinessCheck({ ...app.database, dataSource });
    expect(await check()).toEqual({ ready: false, reason: 'MIGRATIONS_PENDING' });
    expect(await createReadinessCheck(app.database)()).toEqual({ ready: true });
  });
});

describe('request logs', () => {
  let app: RunningApp;
  let lines: any[];
  beforeAll(async () => ({ app, lines } = await startLoggedApp({ LOG_LEVEL: 'info' })));
  afterAll(() => app.stop());

  it('writes one JSON line per request with its ID, operation, duration and outcome, and no secrets', async () => {
    const userID = uniqueUserID('log');
    const token = await issueToken(TEST_JWT_SECRET, userID);
    const secretNick = `private-nick-${uniqueUserID()}`;
    const response = await post(
      app,
      {
        query: 'mutation SetNick($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }',
        variables: { nick: secretNick },
      },
      { authorization: `Bearer ${token}`, 'x-request-id': 'req-log-1' },
    );
    expect(response.headers.get('x-request-id')).toBe('req-log-1');
    expect(((await response.json()) as any).data.updateMyProfile.nick).toBe(secretNick);

    const failed = await post(app, { query: 'query Mine { me { nick } }' }, { 'x-request-id': 'req-log-2' });
    expect(failed.status).toBe(200);

    const generated = await post(app, { query: '{ __typename }' });
    const generatedID = generated.headers.get('x-request-id');
    expect(generatedID).toMatch(/^[0-9a-f-]{36}$/);

    const requestLines = lines.filter((line) => line.msg === 'request');
    const first = requestLines.filter((line) => line.reqId === 'req-log-1');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      method: 'POST',
      path: '/graphql',
      status: 200,
      operations: ['SetNick'],
      outcome: 'success',
    });
    expect(typeof first[0].durationMs).toBe('number');
    const second = requestLines.filter((line) => line.reqId === 'req-log-2');
    expect(second).toHaveLength(1);
    expect(second[0]).toMatchObject({ operations: ['Mine'], outcome: 'error', errorCodes: ['UNAUTHENTICATED'] });
    expect(requestLines.filter((line) => line.reqId === generatedID)).toHaveLength(1);

    const everything = JSON.stringify(lines);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.split('.')[2]);
    expect(everything).not.toContain(secretNick);
  });

  it('ignores an unsafe x-request-id and makes its own', async () => {
    const response = await post(app, { query: '{ __typename }' }, { 'x-request-id': 'bad id\twith "quotes"' });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes nothing below the configured level', async () => {
    const quiet = await startLoggedApp({ LOG_LEVEL: 'warn' });
    try {
      await post(quiet.app, { query: '{ __typename }' });
      expect(quiet.lines.filter((line) => line.msg === 'request')).toEqual([]);
    } finally {
      await quiet.app.stop();
    }
  });
});

describe('metrics', () => {
  let app: RunningApp;
  beforeAll(async () => ({ app } = await startLoggedApp()));
  afterAll(() => app.stop());

  const scrape = async () => {
    const response = await fetch(`${base(app)}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  };
  const value = (text: string, series: string): number => {
    const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };

  it('counts operations by name and outcome, latency, loader batch sizes, pool use and error codes', async () => {
    const before = await scrape();
    const token = await issueToken(TEST_JWT_SECRET, uniqueUserID('m'));
    const ids = Array.from({ length: 7 }, () => uniqueUserID());
    await post(
      app,
      { query: 'query Several($ids: [ID!]!) { users(ids: $ids) { userID } }', variables: { ids } },
      { authorization: `Bearer ${token}` },
    );
    await post(app, { query: 'query Several { me { userID } }' });
    await post(app, { query: '{ me { nik } }' }, { authorization: `Bearer ${token}` });
    const after = await scrape();

    const delta = (series: string) => value(after, series) - value(before, series);
    expect(delta('graphql_operations_total{operation="Several",outcome="success"}')).toBe(1);
    expect(delta('graphql_operations_total{operation="Several",outcome="error"}')).toBe(1);
    expect(delta('graphql_operation_duration_seconds_count{operation="Several"}')).toBe(2);
    expect(delta('graphql_errors_total{code="UNAUTHENTICATED"}')).toBe(1);
    expect(delta('graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}')).toBe(1);
    expect(delta('dataloader_batch_size_sum{loader="profile"}')).toBe(7);
    expect(delta('dataloader_batch_size_count{loader="profile"}')).toBe(1);
    expect(value(after, 'db_pool_connections')).toBeGreaterThanOrEqual(1);
    expect(after).toContain('db_pool_idle_connections');
    expect(after).toContain('db_pool_waiting_requests');
  });

  it("serves Node's process metrics without those that walk every handle on each scrape", async () => {
    const text = await scrape();
    expect(value(text, 'process_open_fds')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_heap_size_used_bytes ');
    // Listing ten thousand sockets per scrape held the event loop for up to 130 ms.
    for (const name of ['nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_resources_total']) {
      expect(text).not.toContain(`# TYPE ${name} `);
    }
  });

  it('can be turned off', async () => {
    const off = await startLoggedApp({ METRICS_ENABLED: 'false' });
    try {
      expect((await fetch(`${base(off.app)}/metrics`)).status).toBe(404);
    } finally {
      await off.app.stop();
    }
  });
});
