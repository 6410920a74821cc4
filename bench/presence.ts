/**
 * Who is online at scale: one instance holding `--sockets` authenticated connections (10,000), each
 * a user of its own.
 *
 *   npm run bench -- --only status [--sockets 10000] [--idle 30] [--reads 400]
 *
 * DATABASE_URL is required. Printed: the connect phase (time, presence statements), then, over an
 * `--idle`-second window with every socket open, the presence statements a second (heartbeats and
 * sweeps) and the instance's CPU a second, beside the same window measured with no socket open
 * first; `userStatuses` of 500 IDs (all online) p50 / p99 over `--reads` requests, eight at a time,
 * beside the floor: the same statement sent straight to Postgres with the same concurrency; and the
 * disconnect phase (time until every user reads OFFLINE).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import WebSocket from 'ws';
import { issueToken } from '../src/auth/token-issuer.js';
import { openDatabase } from '../src/db/database.js';
import { findFreePort } from '../src/db/free-port.js';
import { STATUSES } from '../src/presence/presence.repository.js';

const ROOT = path.resolve(__dirname, '..', '..');
const JWT_SECRET = 'presence-bench-secret-that-is-at-least-32-characters';
const CONCURRENCY = 8;
const READ_IDS = 500;

const userID = (index: number) => `presence_u${index}`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Instance {
  readonly child: ChildProcess;
  readonly url: string;
  stop(): Promise<void>;
}

async function startInstance(databaseUrl: string): Promise<Instance> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DB_MIGRATE: 'false',
      JWT_SECRET,
      RATE_LIMIT_WRITES_PER_USER: '0',
      RATE_LIMIT_WRITES_PER_IP: '0',
      // Every socket of the bench comes from one address.
      WS_MAX_SOCKETS_PER_ADDRESS: '1000000',
    },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`instance exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000) throw new Error(`instance did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The instance's CPU seconds, presence statements and online users so far, from /metrics. */
async function scrape(instance: Instance): Promise<{ cpu: number; statements: number; online: number }> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    cpu: read('process_cpu_seconds_total'),
    statements: read('presence_statements_total'),
    online: read('presence_online_users'),
  };
}

/** CPU seconds a second and presence statements a second over `seconds`. */
async function idleWindow(
  instance: Instance,
  seconds: number,
): Promise<{ cpuPerSecond: number; statementsPerSecond: number }> {
  const before = await scrape(instance);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await scrape(instance);
  const elapsed = (performance.now() - started) / 1000;
  return {
    cpuPerSecond: (after.cpu - before.cpu) / elapsed,
    statementsPerSecond: (after.statements - before.statements) / elapsed,
  };
}

async function openSockets(instance: Instance, count: number): Promise<WebSocket[]> {
  const wsUrl = `${instance.url.replace(/^http/, 'ws')}/graphql`;
  const sockets: WebSocket[] = [];
  for (let start = 0; start < count; start += 200) {
    const batch: Promise<void>[] = [];
    for (let index = start; index < Math.min(count, start + 200); index += 1) {
      batch.push(
        (async () => {
          const token = await issueToken(JWT_SECRET, userID(index), { expiresIn: '2h' });
          const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
          sockets.push(socket);
          await new Promise<void>((resolve, reject) => {
            socket.once('error', reject);
            socket.on('message', (data) => {
              if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve();
            });
            socket.once('open', () =>
              socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
            );
          });
        })(),
      );
    }
    await Promise.all(batch);
  }
  return sockets;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** p50 / p99 (ms) of `total` calls of `call`, `CONCURRENCY` at a time. */
async function latencies(total: number, call: (index: number) => Promise<void>): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const index = next++;
        const started = performance.now();
        await call(index);
        times.push(performance.now() - started);
      }
    }),
  );
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

export async function runPresenceBench(argv: string[]): Promise<void> {
  const value = (flag: string, fallback: number) =>
    Number(argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const socketCount = value('--sockets', 10_000);
  const idleSeconds = value('--idle', 30);
  const reads = value('--reads', 400);
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl === undefined) throw new Error('the presence benchmark needs DATABASE_URL');
  const database = await openDatabase(databaseUrl, { poolMax: 1, migrate: true });
  await database.close();
  const pool = new Pool({ connectionString: databaseUrl, max: CONCURRENCY });
  const instance = await startInstance(databaseUrl);
  try {
    await pool.query(
      `INSERT INTO user_profile (user_id) SELECT 'presence_u' || i FROM generate_series(0, $1::int - 1) AS i
       ON CONFLICT (user_id) DO NOTHING`,
      [socketCount],
    );
    console.log(`presence: ${socketCount} users connected to one instance, idle windows of ${idleSeconds} s`);

    const idleBefore = await idleWindow(instance, idleSeconds);
    const connectStart = await scrape(instance);
    let started = performance.now();
    const sockets = await openSockets(instance, socketCount);
    await until('every user online', async () => (await scrape(instance)).online === socketCount);
    const connected = await scrape(instance);
    const connectSeconds = (performance.now() - started) / 1000;

    const idleConnected = await idleWindow(instance, idleSeconds);

    const token = await issueToken(JWT_SECRET, 'presence_reader', { expiresIn: '2h' });
    const idsOf = (index: number) =>
      Array.from({ length: READ_IDS }, (_, i) => userID((index * READ_IDS + i) % socketCount));
    const check = await (
      await fetch(`${instance.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'query ($ids: [ID!]!) { userStatuses(ids: $ids) { userID statusType customStatus lastSeenAt } }',
          variables: { ids: idsOf(0) },
        }),
      })
    ).json();
    const online = (check as any).data?.userStatuses?.filter((s: any) => s.statusType === 'ONLINE').length;
    if (online !== READ_IDS)
      throw new Error(`userStatuses read ${online} of ${READ_IDS} online: ${JSON.stringify(check).slice(0, 300)}`);
    const service = await latencies(reads, async (index) => {
      const response = await fetch(`${instance.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'query ($ids: [ID!]!) { userStatuses(ids: $ids) { userID statusType customStatus lastSeenAt } }',
          variables: { ids: idsOf(index) },
        }),
      });
      await response.text();
    });
    // The floor: the statement userStatuses runs (src/presence/presence.repository.ts), straight to Postgres.
    const floor = await latencies(reads, async (index) => {
      await pool.query({ text: STATUSES.text, values: [idsOf(index), 20_000] });
    });

    const beforeDisconnect = await scrape(instance);
    started = performance.now();
    for (const socket of sockets) socket.close(1000);
    await until('every user offline', async () => (await scrape(instance)).online === 0);
    await until(
      'every session removed',
      async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM presence_session WHERE user_id LIKE 'presence\\_u%'`)).rows[0]
          .n === 0,
    );
    const disconnectSeconds = (performance.now() - started) / 1000;
    const disconnected = await scrape(instance);
    const f = (n: number, digits = 1) => n.toFixed(digits);
    console.log(
      `\n| measure | with ${socketCount} users connected | baseline: no socket open / Postgres alone |\n|---|---:|---:|` +
        `\n| presence statements a second, idle | ${f(idleConnected.statementsPerSecond, 2)} | ${f(idleBefore.statementsPerSecond, 2)} |` +
        `\n| instance CPU, idle (ms a second) | ${f(idleConnected.cpuPerSecond * 1000)} | ${f(idleBefore.cpuPerSecond * 1000)} |` +
        `\n| userStatuses of 500 IDs p50 / p99 ms (${CONCURRENCY} at a time) | ${f(service.p50)} / ${f(service.p99)} | ${f(floor.p50)} / ${f(floor.p99)} |` +
        `\n| connect all: seconds, presence statements | ${f(connectSeconds)} s, ${connected.statements - connectStart.statements} | - |` +
        `\n| disconnect all: seconds until no session, statements | ${f(disconnectSeconds)} s, ${disconnected.statements - beforeDisconnect.statements} | - |`,
    );
  } finally {
    await instance.stop();
    await pool.end();
  }
}
