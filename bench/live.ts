/**
 * The live benchmark: one instance serving profileUpdated subscribers, a second instance taking
 * profile writes to watched users, on one database, over either bus.
 *
 *   npm run bench -- --only live [--sockets 1000,3000,10000] [--watch 60] [--users 10000]
 *                    [--writes 150] [--duration 30] [--bus postgres,redis]
 *
 * DATABASE_URL is required (REDIS_URL for the Redis bus, default redis://127.0.0.1:6379). Each
 * socket is a user of its own watching `--watch` users on average (20 to 100), drawn from
 * `--users` accounts; the writer changes a random watched user's nick `--writes` times a second.
 * Printed per run: sockets, messages/s, delivery p50 / p99 from the write's acknowledgement to
 * the message, stale (socket, user) pairs at the end (their last message is not the last write),
 * the subscriber instance's worst event-loop delay and peak RSS (scraped from /metrics), and the
 * sockets the server closed. The floor beside it is the write path alone: the same writes'
 * acknowledgement p50 / p99 in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import WebSocket from 'ws';
import { issueToken } from '../src/auth/token-issuer.js';
import { openDatabase } from '../src/db/database.js';
import { findFreePort } from '../src/db/free-port.js';

const ROOT = path.resolve(__dirname, '..', '..');
const JWT_SECRET = 'live-bench-secret-that-is-at-least-32-characters';
const SETTLE_MS = 3000;

interface LiveOptions {
  sockets: number[];
  watch: number;
  users: number;
  writes: number;
  duration: number;
  buses: Array<'postgres' | 'redis'>;
}

function parse(argv: string[]): LiveOptions {
  const value = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const number = (flag: string, fallback: number) => Number(value(flag) ?? fallback);
  return {
    sockets: (value('--sockets') ?? '1000').split(',').map(Number),
    watch: number('--watch', 60),
    users: number('--users', 10_000),
    writes: number('--writes', 150),
    duration: number('--duration', 30),
    buses: (value('--bus') ?? 'postgres,redis').split(',') as LiveOptions['buses'],
  };
}

const userID = (index: number) => `live_u${index}`;
const socketUser = (index: number) => `live_s${index}`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function seed(url: string, users: number): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO user_profile (user_id, nick) SELECT 'live_u' || i, 'seed' FROM generate_series(0, $1::int - 1) AS i
       ON CONFLICT (user_id) DO NOTHING`,
      [users],
    );
  } finally {
    await client.end();
  }
}

interface Instance {
  readonly child: ChildProcess;
  readonly url: string;
  stop(): Promise<void>;
}

async function startInstance(databaseUrl: string, bus: 'postgres' | 'redis'): Promise<Instance> {
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
      ...(bus === 'redis' ? { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } : {}),
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

/** The subscriber instance's worst event-loop delay and RSS since the last scrape (prom-client resets the first). */
async function scrape(instance: Instance): Promise<{ loopMaxMs: number; rssMiB: number }> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  const read = (name: string) =>
    Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '')?.[2] ?? NaN);
  return {
    loopMaxMs: read('nodejs_eventloop_lag_max_seconds') * 1000,
    rssMiB: read('process_resident_memory_bytes') / 2 ** 20,
  };
}

interface Watcher {
  readonly socket: WebSocket;
  readonly watched: string[];
  /** Per watched user, the last nick received. */
  readonly last: Map<string, string>;
  closedByServer: boolean;
}

async function openWatchers(instance: Instance, count: number, options: LiveOptions, onNick: (nick: string) => void) {
  const watchers: Watcher[] = [];
  const wsUrl = `${instance.url.replace(/^http/, 'ws')}/graphql`;
  const batch = 200;
  for (let start = 0; start < count; start += batch) {
    const opening: Promise<void>[] = [];
    for (let index = start; index < Math.min(count, start + batch); index += 1) {
      const size = Math.max(20, Math.min(100, Math.round(options.watch + (Math.random() - 0.5) * 2 * 40)));
      const watched = new Set<string>();
      while (watched.size < Math.min(size, options.users))
        watched.add(userID(Math.floor(Math.random() * options.users)));
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
      const watcher: Watcher = { socket, watched: [...watched], last: new Map(), closedByServer: false };
      watchers.push(watcher);
      opening.push(
        (async () => {
          const token = await issueToken(JWT_SECRET, socketUser(index), { expiresIn: '2h' });
          await new Promise<void>((resolve, reject) => {
            socket.once('error', reject);
            socket.on('message', (data) => {
              const message = JSON.parse(String(data)) as { type: string; payload?: any };
              if (message.type === 'connection_ack') {
                socket.send(
                  JSON.stringify({
                    id: '1',
                    type: 'subscribe',
                    payload: {
                      query: 'subscription ($ids: [ID!]!) { profileUpdated(userIDs: $ids) { userID nick } }',
                      variables: { ids: watcher.watched },
                    },
                  }),
                );
                resolve();
              } else if (message.type === 'next') {
                const profile = message.payload?.data?.profileUpdated;
                if (profile) {
                  watcher.last.set(profile.userID, profile.nick);
                  onNick(profile.nick);
                }
              } else if (message.type === 'ping') {
                socket.send(JSON.stringify({ type: 'pong' }));
              }
            });
            socket.once('open', () =>
              socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
            );
          });
          socket.once('close', (code) => {
            if (code !== 1000) watcher.closedByServer = true;
          });
        })(),
      );
    }
    await Promise.all(opening);
  }
  return watchers;
}

interface RunResult {
  sockets: number;
  bus: string;
  messagesPerSecond: number;
  deliveryP50: number;
  deliveryP99: number;
  stalePairs: number;
  pairs: number;
  loopMaxMs: number;
  rssMiB: number;
  closed: number;
  ackP50: number;
  ackP99: number;
}

async function run(
  databaseUrl: string,
  sockets: number,
  bus: 'postgres' | 'redis',
  options: LiveOptions,
): Promise<RunResult> {
  const subscriberInstance = await startInstance(databaseUrl, bus);
  const writerInstance = await startInstance(databaseUrl, bus);
  const acknowledged = new Map<string, number>();
  const delays: number[] = [];
  let messages = 0;
  let measuring = false;
  const watchers = await openWatchers(subscriberInstance, sockets, options, (nick) => {
    if (!measuring) return;
    messages += 1;
    const at = acknowledged.get(nick);
    if (at !== undefined) delays.push(performance.now() - at);
  });
  const watchedUsers = [...new Set(watchers.flatMap((watcher) => watcher.watched))];
  const lastWrite = new Map<string, string>();
  const acks: number[] = [];
  let peakLoop = 0;
  let peakRss = 0;
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  await scrape(subscriberInstance);
  measuring = true;
  const started = performance.now();
  let sequence = 0;
  const writes: Promise<void>[] = [];
  const tokens = new Map<string, string>();
  const tokenOf = async (user: string) =>
    tokens.get(user) ?? tokens.set(user, await issueToken(JWT_SECRET, user)).get(user)!;
  const scraper = setInterval(() => {
    void scrape(subscriberInstance).then(({ loopMaxMs, rssMiB }) => {
      peakLoop = Math.max(peakLoop, loopMaxMs);
      peakRss = Math.max(peakRss, rssMiB);
    });
  }, 1000);
  while (performance.now() - started < options.duration * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * options.writes);
    while (sequence < due) {
      sequence += 1;
      const user = watchedUsers[Math.floor(Math.random() * watchedUsers.length)];
      const nick = `w${sequence}`;
      const sent = performance.now();
      writes.push(
        (async () => {
          const response = await fetch(`${writerInstance.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenOf(user)}` },
            body: JSON.stringify({
              query: 'mutation ($nick: String!) { updateMyProfile(input: { nick: $nick }) { userID } }',
              variables: { nick },
            }),
          });
          await response.text();
          const now = performance.now();
          acknowledged.set(nick, now);
          acks.push(now - sent);
          lastWrite.set(user, nick);
        })(),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(writes);
  const elapsed = (performance.now() - started) / 1000;
  // Deliveries still on their way get a few seconds before staleness is counted.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  clearInterval(scraper);
  const final = await scrape(subscriberInstance);
  peakLoop = Math.max(peakLoop, final.loopMaxMs);
  peakRss = Math.max(peakRss, final.rssMiB);
  let pairs = 0;
  let stale = 0;
  for (const watcher of watchers) {
    for (const user of watcher.watched) {
      const expected = lastWrite.get(user);
      if (expected === undefined) continue;
      pairs += 1;
      if (watcher.last.get(user) !== expected) stale += 1;
    }
  }
  const closed = watchers.filter((watcher) => watcher.closedByServer).length;
  for (const watcher of watchers) watcher.socket.close(1000);
  await Promise.all([subscriberInstance.stop(), writerInstance.stop()]);
  delays.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  return {
    sockets,
    bus,
    messagesPerSecond: messages / elapsed,
    deliveryP50: percentile(delays, 50),
    deliveryP99: percentile(delays, 99),
    stalePairs: stale,
    pairs,
    loopMaxMs: peakLoop,
    rssMiB: peakRss,
    closed,
    ackP50: percentile(acks, 50),
    ackP99: percentile(acks, 99),
  };
}

export async function runLiveBench(argv: string[]): Promise<void> {
  const options = parse(argv);
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl === undefined)
    throw new Error('the live benchmark needs DATABASE_URL (and REDIS_URL for the Redis bus)');
  const database = await openDatabase(databaseUrl, { poolMax: 1, migrate: true });
  await database.close();
  await seed(databaseUrl, options.users);
  console.log(
    `live: ${options.users} accounts, each socket watching ${options.watch} on average, ${options.writes} writes/s for ${options.duration} s`,
  );
  const rows: RunResult[] = [];
  for (const bus of options.buses) {
    for (const sockets of options.sockets) {
      const result = await run(databaseUrl, sockets, bus, options);
      rows.push(result);
      console.log(`  ${bus} ${sockets} sockets: ${JSON.stringify(result)}`);
    }
  }
  const f = (value: number) => (Number.isFinite(value) ? value.toFixed(value >= 100 ? 0 : 1) : '-');
  console.log(
    '\n| bus | sockets | messages/s | delivery p50 / p99 ms | stale pairs | worst event-loop delay ms | peak RSS MiB | sockets closed | floor: write ack p50 / p99 ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.bus} | ${row.sockets} | ${f(row.messagesPerSecond)} | ${f(row.deliveryP50)} / ${f(row.deliveryP99)} | ${row.stalePairs} of ${row.pairs} | ${f(row.loopMaxMs)} | ${f(row.rssMiB)} | ${row.closed} | ${f(row.ackP50)} / ${f(row.ackP99)} |`,
    );
  }
}
