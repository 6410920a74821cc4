/**
 * The live benchmark: one instance serving profileUpdated subscribers, a second instance taking
 * profile writes to watched users, on one database, over either bus.
 *
 *   npm run bench -- --only live [--sockets 1000,3000,10000] [--watch 60] [--users 10000]
 *                    [--writes 150] [--duration 30] [--bus postgres,redis] [--reconnect on|off]
 *                    [--down 1.5] [--warmup 5] [--steady-outbox]
 *
 * DATABASE_URL is required (REDIS_URL for the Redis bus, default redis://127.0.0.1:6379). Each
 * socket is a user of its own watching `--watch` users on average (20 to 100), drawn from
 * `--users` accounts; the writer changes a random watched user's nick (any account's, with
 * `--sockets 0`) `--writes` times a second; the first `--warmup` seconds of writes are not measured
 * (both instances compile their hot paths meanwhile, as a server in service has). Printed per run:
 *
 * - the live phase: messages/s, delivery p50 / p99 from each write's acknowledgement to each
 *   message it caused (a message that arrives before the acknowledgement counts as 0), stale
 *   (socket, user) pairs once the writes stop (their last message is not the profile as stored;
 *   waited for until there are none, up to SETTLE_DEADLINE_MS, and the wait is printed), the
 *   subscriber instance's worst event-loop delay over the phase (from its /metrics, read at the
 *   start and the end only), its peak RSS (VmHWM), and the sockets the server closed;
 * - the floor beside it: the same writes' acknowledgement p50 / p99, and the writes/s achieved;
 * - the outbox (`profile_event`) row count at the start, at the end and its peak (counted every
 *   OUTBOX_SAMPLE_MS); with `--steady-outbox` it first holds one retention period (1 hour, which
 *   both instances are given) of already published events at `--writes`, as a table in service
 *   for an hour would, so a flat count shows pruning keeping up;
 * - with `--reconnect on` (the default, when there are sockets), a second phase: the subscriber
 *   instance is killed (SIGKILL) while the writer goes on, started again on the same port after
 *   `--down` seconds, every socket reconnects and subscribes with `since:` set to the last
 *   `extensions.cursor` it received (a subscription refused SERVICE_UNAVAILABLE is sent again after
 *   1 s, 2 s, 4 s, ... as the client package does; the refusals are printed), and once every
 *   socket is back and the writes stop, the stale pairs are counted the same way (the goal: none).
 *
 * SERVER_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to the subscriber
 * instance only, as bench/run.ts does for the service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import WebSocket from 'ws';
import { issueToken } from '../src/auth/token-issuer.js';
import { openDatabase } from '../src/db/database.js';
import { canListen, findFreePort } from '../src/db/free-port.js';

const ROOT = path.resolve(__dirname, '..', '..');
const JWT_SECRET = 'live-bench-secret-that-is-at-least-32-characters';
const SETTLE_MS = 3000;
/** How long stale pairs are waited for after the writes stop before they count as lost. */
const SETTLE_DEADLINE_MS = 60_000;
const OUTBOX_SAMPLE_MS = 5000;
/** With --steady-outbox: the retention both instances get, and the span of events seeded. */
const STEADY_RETENTION_HOURS = 1;
/** The writes go on this long after the last socket resubscribed, before the final count. */
const AFTER_RESUME_MS = 3000;

type Bus = 'postgres' | 'redis';

interface LiveOptions {
  sockets: number[];
  watch: number;
  users: number;
  writes: number;
  duration: number;
  buses: Bus[];
  reconnect: boolean;
  downSeconds: number;
  warmup: number;
  steadyOutbox: boolean;
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
    buses: (value('--bus') ?? 'postgres,redis').split(',') as Bus[],
    reconnect: (value('--reconnect') ?? 'on') !== 'off',
    downSeconds: number('--down', 1.5),
    warmup: number('--warmup', 5),
    steadyOutbox: argv.includes('--steady-outbox'),
  };
}

const userID = (index: number) => `live_u${index}`;
const socketUser = (index: number) => `live_s${index}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function seed(url: string, users: number): Promise<void> {
  await withClient(url, (client) =>
    client.query(
      `INSERT INTO user_profile (user_id, nick) SELECT 'live_u' || i, 'seed' FROM generate_series(0, $1::int - 1) AS i
       ON CONFLICT (user_id) DO NOTHING`,
      [users],
    ),
  );
}

/**
 * Replaces the published events with one retention period of them at `writes` a second, the
 * oldest about to expire: the outbox of a service that ran at this rate for that long.
 */
async function seedSteadyOutbox(url: string, users: number, writes: number): Promise<number> {
  const rows = Math.round(writes * STEADY_RETENTION_HOURS * 3600);
  await withClient(url, async (client) => {
    await client.query('DELETE FROM profile_event WHERE relayed AND NOT webhook_pending');
    await client.query(
      `INSERT INTO profile_event (user_id, operator, event_time, changed_fields, changed_custom_fields, relay_owner, relayed)
       SELECT 'live_u' || (i % $2::int), 'live_u' || (i % $2::int),
              now() - $3::integer * interval '1 hour' + (i::float8 / $1::int) * $3::integer * interval '1 hour',
              '{"nick":"seed"}', '{}', 'bench', true
       FROM generate_series(1, $1::int) AS i`,
      [rows, users, STEADY_RETENTION_HOURS],
    );
  });
  return rows;
}

/** Counts the outbox every OUTBOX_SAMPLE_MS until stopped: the first count, the last and the highest. */
function watchOutbox(url: string) {
  const counts: number[] = [];
  const client = new Client({ connectionString: url });
  let stopped = false;
  const count = async () =>
    counts.push(Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM profile_event')).rows[0].n));
  const running = (async () => {
    await client.connect();
    await count();
    while (!stopped) {
      const until = Date.now() + OUTBOX_SAMPLE_MS;
      while (!stopped && Date.now() < until) await sleep(100);
      await count();
    }
    await client.end();
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return { start: counts[0], end: counts[counts.length - 1], peak: Math.max(...counts) };
    },
  };
}

interface Instance {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

interface InstanceOptions {
  readonly nodeFlags?: readonly string[];
  readonly port?: number;
  readonly retentionHours?: number;
}

async function startInstance(databaseUrl: string, bus: Bus, options: InstanceOptions = {}): Promise<Instance> {
  const port = options.port ?? (await findFreePort());
  if (options.port !== undefined) {
    // The same port again (clients reconnect to the address they knew), once it is free.
    const deadline = Date.now() + 10_000;
    while (!(await canListen(port))) {
      if (Date.now() > deadline) throw new Error(`port ${port} is still taken`);
      await sleep(100);
    }
  }
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), 'dist/src/main.js'], {
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
      ...(options.retentionHours === undefined
        ? {}
        : { PROFILE_EVENTS_RETENTION_HOURS: String(options.retentionHours) }),
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
    await sleep(100);
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    url,
    port,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The instance's worst event-loop delay since the last scrape (prom-client resets it on every scrape). */
async function loopMaxMs(instance: Instance): Promise<number> {
  // Read again when refused or timed out: ten thousand sockets reconnecting at once can overflow
  // the listen backlog, so a connection may wait for the kernel's SYN retries.
  let text: string | undefined;
  for (let attempt = 1; text === undefined; attempt += 1) {
    try {
      text = await (await fetch(`${instance.url}/metrics`)).text();
    } catch (error) {
      if (attempt === 6) throw error;
      await sleep(1000);
    }
  }
  const line = text.split('\n').find((row) => row.startsWith('nodejs_eventloop_lag_max_seconds '));
  return Number(line?.split(' ')[1] ?? NaN) * 1000;
}

/** The instance's peak resident memory so far (VmHWM), read from /proc without disturbing it. */
function peakRssMiB(instance: Instance): number {
  const status = readFileSync(`/proc/${instance.child.pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

interface Watcher {
  readonly index: number;
  readonly watched: string[];
  token: string;
  socket?: WebSocket;
  /** Per watched user, the last nick received. */
  readonly last: Map<string, string>;
  /** The newest `extensions.cursor` received. */
  cursor?: string;
  /** Close codes of closes the bench did not ask for. */
  readonly closes: number[];
  /** Codes of the errors (or `complete`) the server ended the subscription with. */
  readonly errors: string[];
}

type OnNick = (nick: string) => void;

/** The subscriptions the server ended (error or complete), by code, since the last call. */
function takeErrors(watchers: readonly Watcher[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const watcher of watchers) {
    for (const code of watcher.errors.splice(0)) counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}

/** Whether decimal cursor `a` is past `b` (they are event IDs without leading zeros). */
const newerCursor = (a: string, b: string) => a.length > b.length || (a.length === b.length && a > b);

/** Keep-alive connections for the writes: fetch() cost the load generator ten times as much CPU per write. */
const WRITE_AGENT = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, token: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent: WRITE_AGENT,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve(text));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const SUBSCRIPTION =
  'subscription ($ids: [ID!]!, $since: String) { profileUpdated(userIDs: $ids, since: $since) { userID nick } }';

/**
 * Opens the watcher's socket and subscribes (with `since:` its last cursor, if it has one);
 * resolves once the subscribe message is sent, rejects if the socket fails before that.
 */
function connect(watcher: Watcher, wsUrl: string, onNick: OnNick): Promise<void> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  watcher.socket = socket;
  let unavailableInARow = 0;
  const subscribe = () =>
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: SUBSCRIPTION, variables: { ids: watcher.watched, since: watcher.cursor ?? null } },
      }),
    );
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection_ack within 30 s')), 30_000);
    socket.on('error', reject);
    socket.once('close', (code) => {
      if (code !== 1000) watcher.closes.push(code);
      reject(new Error(`closed (${code}) before subscribing`));
    });
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: any };
      if (message.type === 'next') {
        const errors: { extensions?: { code?: string } }[] = message.payload?.errors ?? [];
        for (const error of errors) watcher.errors.push(String(error.extensions?.code));
        // Refused for now (one result with errors, then complete): subscribed again from the newest
        // cursor, as the client package does.
        if (errors.some((error) => error.extensions?.code === 'SERVICE_UNAVAILABLE')) {
          const waitMs = Math.min(1000 * 2 ** unavailableInARow, 30_000);
          unavailableInARow += 1;
          setTimeout(() => socket.readyState === WebSocket.OPEN && subscribe(), waitMs);
        }
        const profile = message.payload?.data?.profileUpdated;
        if (profile) {
          unavailableInARow = 0;
          watcher.last.set(profile.userID, profile.nick);
          // The newest cursor, as the client package keeps it (resumed profiles come in no order).
          const cursor = message.payload?.extensions?.cursor;
          if (typeof cursor === 'string' && (watcher.cursor === undefined || newerCursor(cursor, watcher.cursor)))
            watcher.cursor = cursor;
          onNick(profile.nick);
        }
      } else if (message.type === 'connection_ack') {
        subscribe();
        clearTimeout(timer);
        resolve();
      } else if (message.type === 'error' || message.type === 'complete') {
        // A subscription refused or ended by the server: counted, as a lost socket would be.
        const code = message.payload?.[0]?.extensions?.code ?? message.type;
        watcher.errors.push(String(code));
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      }
    });
    socket.once('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${watcher.token}` } })),
    );
  });
}

/** Opens `count` sockets into `watchers` (the caller's, so that it can close them if this fails). */
async function openWatchers(
  instance: Instance,
  count: number,
  options: LiveOptions,
  onNick: OnNick,
  watchers: Watcher[],
): Promise<void> {
  const wsUrl = `${instance.url.replace(/^http/, 'ws')}/graphql`;
  const batch = 200;
  for (let start = 0; start < count; start += batch) {
    const opening: Promise<void>[] = [];
    for (let index = start; index < Math.min(count, start + batch); index += 1) {
      const size = Math.max(20, Math.min(100, Math.round(options.watch + (Math.random() - 0.5) * 2 * 40)));
      const watched = new Set<string>();
      while (watched.size < Math.min(size, options.users))
        watched.add(userID(Math.floor(Math.random() * options.users)));
      const token = await issueToken(JWT_SECRET, socketUser(index), { expiresIn: '2h' });
      const watcher: Watcher = { index, watched: [...watched], token, last: new Map(), closes: [], errors: [] };
      watchers.push(watcher);
      opening.push(
        (async () => {
          // Again on failure: a connection reset under load (a listen backlog full at 10,000
          // sockets) is not what this measures.
          for (let attempt = 1; ; attempt += 1) {
            try {
              return await connect(watcher, wsUrl, onNick);
            } catch (error) {
              watcher.socket?.terminate();
              if (attempt === 5) throw error;
              await sleep(500 * attempt);
            }
          }
        })(),
      );
    }
    await Promise.all(opening);
  }
}

/**
 * After its socket dropped, connects the watcher again until it is subscribed, waiting before
 * each attempt as graphql-ws's client does by default (and so the client package): 1 s, 2 s,
 * 4 s, ... plus 0.3 to 3 s at random, so ten thousand clients do not knock in step.
 */
async function reconnect(watcher: Watcher, wsUrl: string, onNick: OnNick, deadline: number): Promise<void> {
  for (let retries = 0; ; retries += 1) {
    await sleep(1000 * 2 ** retries + 300 + Math.random() * 2700);
    try {
      await connect(watcher, wsUrl, onNick);
      return;
    } catch (error) {
      watcher.socket?.terminate();
      if (Date.now() > deadline) throw error;
    }
  }
}

/** Profile writes at a steady rate through the writer instance, until stopped. */
function startWriter(instance: Instance, rate: number, tokens: ReadonlyMap<string, string>, nickPrefix: string) {
  const users = [...tokens.keys()];
  const pickUser = () => users[Math.floor(Math.random() * users.length)];
  /** Per nick written in the current phase: when its acknowledgement arrived. */
  const acknowledged = new Map<string, number>();
  const written = new Set<string>();
  let acks: number[] = [];
  let failed = 0;
  let sequence = 0;
  let stopped = false;
  const started = performance.now();
  let phaseStart = started;
  let phaseAcks = 0;
  const pending = new Set<Promise<void>>();
  const write = async (user: string, nick: string) => {
    try {
      const token = tokens.get(user)!;
      const sent = performance.now();
      const response = await post(
        `${instance.url}/graphql`,
        token,
        JSON.stringify({
          query: 'mutation ($nick: String!) { updateMyProfile(input: { nick: $nick }) { userID } }',
          variables: { nick },
        }),
      );
      const body = JSON.parse(response) as { data?: { updateMyProfile?: unknown } };
      if (!body.data?.updateMyProfile) throw new Error(JSON.stringify(body));
      const now = performance.now();
      // Only the writes of the phase being measured: those sent after it began.
      if (sent >= phaseStart) {
        acknowledged.set(nick, now);
        acks.push(now - sent);
        phaseAcks += 1;
      }
      written.add(user);
    } catch {
      failed += 1;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (sequence < due) {
        sequence += 1;
        const job = write(pickUser(), `${nickPrefix}${sequence}`);
        pending.add(job);
        void job.finally(() => pending.delete(job));
      }
      await sleep(5);
    }
    await Promise.all(pending);
  })();
  return {
    acknowledged,
    /** The users written to so far. */
    written,
    /** Starts a new phase: acknowledgement times and the achieved rate are counted per phase. */
    phase() {
      acks = [];
      phaseAcks = 0;
      acknowledged.clear();
      phaseStart = performance.now();
    },
    get failed() {
      return failed;
    },
    /** Stops writing, waits for the writes in flight, and gives this phase's figures. */
    async stop() {
      stopped = true;
      await loop;
      const seconds = (performance.now() - phaseStart) / 1000;
      acks.sort((a, b) => a - b);
      return { ackP50: percentile(acks, 50), ackP99: percentile(acks, 99), writesPerSecond: phaseAcks / seconds };
    },
  };
}

/**
 * Waits until every (socket, watched user) pair written to shows the profile as stored, or until
 * SETTLE_DEADLINE_MS: the pairs, those still stale, and how long the wait took. Ground truth is
 * the database, not the order of acknowledgements: two writes to one user in flight together may
 * be acknowledged in the other order than they committed.
 */
async function settle(
  databaseUrl: string,
  watchers: readonly Watcher[],
  written: ReadonlySet<string>,
  /** Sockets that had received no message, so no cursor, when they resubscribed: counted apart. */
  uncursored: ReadonlySet<Watcher> = new Set(),
) {
  const stored = await withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ user_id: string; nick: string }>(
      'SELECT user_id, nick FROM user_profile WHERE user_id = ANY($1::text[])',
      [[...written]],
    );
    return new Map(rows.map((row) => [row.user_id, row.nick]));
  });
  const examples: string[] = [];
  const count = () => {
    let pairs = 0;
    let stale = 0;
    let staleUncursored = 0;
    examples.length = 0;
    for (const watcher of watchers) {
      for (const user of watcher.watched) {
        if (!written.has(user)) continue;
        pairs += 1;
        if (watcher.last.get(user) === stored.get(user)) continue;
        if (uncursored.has(watcher)) {
          staleUncursored += 1;
          continue;
        }
        stale += 1;
        if (examples.length < 5)
          examples.push(
            `socket ${watcher.index} ${user}: ${watcher.last.get(user) ?? 'nothing'}, stored ${stored.get(user)}`,
          );
      }
    }
    return { pairs, stale, staleUncursored };
  };
  const started = performance.now();
  await sleep(SETTLE_MS);
  let result = count();
  const atSettle = result.stale;
  while (result.stale > 0 && performance.now() - started < SETTLE_DEADLINE_MS) {
    await sleep(250);
    result = count();
  }
  // Which pairs stayed stale, to tell a loss from a slow delivery.
  if (result.stale > 0) console.log(`  stale: ${examples.join('; ')}`);
  return { ...result, staleAfterSettle: atSettle, settledMs: performance.now() - started };
}

interface RunResult {
  sockets: number;
  bus: string;
  messagesPerSecond: number;
  deliveryP50: number;
  deliveryP99: number;
  beforeAck: number;
  stalePairs: number;
  staleAfterSettle: number;
  settledMs: number;
  pairs: number;
  loopMaxMs: number;
  /** How long the subscriber instance took to answer /metrics at the end. */
  scrapeMs: number;
  /** Subscriptions the server ended (refused or completed), by code. */
  subscriptionErrors: Record<string, number>;
  rssMiB: number;
  closed: number;
  ackP50: number;
  ackP99: number;
  writesPerSecond: number;
  failedWrites: number;
  outbox: { start: number; end: number; peak: number };
  reconnect?: ReconnectResult;
}

interface ReconnectResult {
  /** From the kill until the new instance is ready. */
  downMs: number;
  /** From the new instance being ready until every socket subscribed again. */
  resubscribedMs: number;
  /** Sockets that had no cursor to resume from (they had received no message), and their stale pairs. */
  uncursoredSockets: number;
  staleUncursored: number;
  subscriptionErrors: Record<string, number>;
  stalePairs: number;
  staleAfterSettle: number;
  settledMs: number;
  pairs: number;
  loopMaxMs: number;
  rssMiB: number;
  ackP50: number;
  ackP99: number;
}

async function run(databaseUrl: string, sockets: number, bus: Bus, options: LiveOptions): Promise<RunResult> {
  const nodeFlags = (process.env.SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const retentionHours = options.steadyOutbox ? STEADY_RETENTION_HOURS : undefined;
  if (options.steadyOutbox) await seedSteadyOutbox(databaseUrl, options.users, options.writes);
  // Every run starts from vacuumed tables: without autovacuum (off on the machine measured) each
  // run's dead rows would make the next one's writes slower.
  await withClient(databaseUrl, (client) => client.query('VACUUM ANALYZE'));
  const instances: Instance[] = [];
  const watchers: Watcher[] = [];
  try {
    return await measure();
  } finally {
    // Whatever happened, no socket or instance outlives the run (a normal end has stopped them already).
    for (const watcher of watchers) watcher.socket?.terminate();
    await Promise.all(instances.map((instance) => instance.kill()));
  }

  async function measure(): Promise<RunResult> {
    let subscriberInstance = await startInstance(databaseUrl, bus, { nodeFlags, retentionHours });
    instances.push(subscriberInstance);
    const writerInstance = await startInstance(databaseUrl, bus, { retentionHours });
    instances.push(writerInstance);
    /** Per message received while measuring: the nick and when it came. */
    const arrivalNicks: string[] = [];
    const arrivalTimes: number[] = [];
    let measuring = false;
    const onNick = (nick: string) => {
      if (!measuring) return;
      arrivalNicks.push(nick);
      arrivalTimes.push(performance.now());
    };
    await openWatchers(subscriberInstance, sockets, options, onNick, watchers);
    const watchedUsers = [...new Set(watchers.flatMap((watcher) => watcher.watched))];
    // Signed before the writes start, so that signing costs the measured writes nothing.
    const tokens = new Map<string, string>();
    for (const user of watchedUsers.length > 0
      ? watchedUsers
      : Array.from({ length: options.users }, (_, index) => userID(index))) {
      tokens.set(user, await issueToken(JWT_SECRET, user, { expiresIn: '2h' }));
    }
    await sleep(SETTLE_MS);
    // Nicks unique to this run: a write never repeats a value an earlier run left (which would change nothing).
    const writer = startWriter(writerInstance, options.writes, tokens, `${randomBytes(3).toString('hex')}w`);
    // The same writes, not measured, until both instances run their hot paths compiled.
    await sleep(options.warmup * 1000);
    const outbox = watchOutbox(databaseUrl);
    await loopMaxMs(subscriberInstance);
    writer.phase();
    measuring = true;
    const started = performance.now();
    await sleep(options.duration * 1000);
    const floor = await writer.stop();
    const elapsed = (performance.now() - started) / 1000;
    const settled = await settle(databaseUrl, watchers, writer.written);
    measuring = false;
    const scrapeStarted = performance.now();
    const loopMax = await loopMaxMs(subscriberInstance);
    const scrapeMs = performance.now() - scrapeStarted;
    const rssMiB = peakRssMiB(subscriberInstance);
    const closed = watchers.filter((watcher) => watcher.closes.length > 0).length;
    const subscriptionErrors = takeErrors(watchers);
    const delays: number[] = [];
    arrivalNicks.forEach((nick, index) => {
      const acked = writer.acknowledged.get(nick);
      if (acked !== undefined) delays.push(Math.max(0, arrivalTimes[index] - acked));
    });
    const beforeAck = delays.filter((delay) => delay === 0).length;
    delays.sort((a, b) => a - b);
    const result: RunResult = {
      sockets,
      bus,
      messagesPerSecond: arrivalNicks.length / elapsed,
      deliveryP50: percentile(delays, 50),
      deliveryP99: percentile(delays, 99),
      beforeAck,
      stalePairs: settled.stale,
      staleAfterSettle: settled.staleAfterSettle,
      settledMs: settled.settledMs,
      pairs: settled.pairs,
      loopMaxMs: loopMax,
      scrapeMs,
      rssMiB,
      subscriptionErrors,
      closed,
      ...floor,
      failedWrites: writer.failed,
      outbox: await outbox.stop(),
    };
    if (options.reconnect && sockets > 0) result.reconnect = await reconnectPhase();
    for (const watcher of watchers) watcher.socket?.close(1000);
    await Promise.all([subscriberInstance.stop(), writerInstance.stop()]);
    return result;

    /** Kills the subscriber instance under writes, starts it again, and counts stale pairs once all resubscribed. */
    async function reconnectPhase(): Promise<ReconnectResult> {
      const port = subscriberInstance.port;
      const wsUrl = `${subscriberInstance.url.replace(/^http/, 'ws')}/graphql`;
      const phaseWriter = startWriter(writerInstance, options.writes, tokens, `${randomBytes(3).toString('hex')}r`);
      await sleep(1000);
      const killed = performance.now();
      const deadline = Date.now() + 120_000;
      const back = watchers.map(
        (watcher) =>
          new Promise<void>((resolve, reject) => {
            const socket = watcher.socket!;
            const again = () => reconnect(watcher, wsUrl, () => undefined, deadline).then(resolve, reject);
            if (socket.readyState === WebSocket.CLOSED) void again();
            else socket.once('close', () => void again());
          }),
      );
      const uncursored = new Set(watchers.filter((watcher) => watcher.cursor === undefined));
      await subscriberInstance.kill();
      await sleep(options.downSeconds * 1000);
      const restarted = await startInstance(databaseUrl, bus, { nodeFlags, retentionHours, port });
      subscriberInstance = restarted;
      instances.push(restarted);
      const ready = performance.now();
      await loopMaxMs(restarted);
      phaseWriter.phase();
      await Promise.all(back);
      const resubscribedMs = performance.now() - ready;
      await sleep(AFTER_RESUME_MS);
      const phaseFloor = await phaseWriter.stop();
      const written = new Set([...writer.written, ...phaseWriter.written]);
      const settledAgain = await settle(databaseUrl, watchers, written, uncursored);
      return {
        downMs: ready - killed,
        resubscribedMs,
        uncursoredSockets: uncursored.size,
        subscriptionErrors: takeErrors(watchers),
        staleUncursored: settledAgain.staleUncursored,
        stalePairs: settledAgain.stale,
        staleAfterSettle: settledAgain.staleAfterSettle,
        settledMs: settledAgain.settledMs,
        pairs: settledAgain.pairs,
        loopMaxMs: await loopMaxMs(restarted),
        rssMiB: peakRssMiB(restarted),
        ackP50: phaseFloor.ackP50,
        ackP99: phaseFloor.ackP99,
      };
    }
  }
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
    `live: ${options.users} accounts, each socket watching ${options.watch} on average, ${options.writes} writes/s for ${options.duration} s` +
      (options.steadyOutbox ? `, outbox holding ${STEADY_RETENTION_HOURS} h of events at that rate` : ''),
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
  const n = (value: number) => value.toLocaleString('en-US');
  console.log(
    '\n| bus | sockets | messages/s | delivery p50 / p99 ms | stale pairs | worst event-loop delay ms | peak RSS MiB | sockets closed | floor: write ack p50 / p99 ms | writes/s | outbox rows start / end / peak |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.bus} | ${n(row.sockets)} | ${f(row.messagesPerSecond)} | ${f(row.deliveryP50)} / ${f(row.deliveryP99)} | ${n(row.stalePairs)} of ${n(row.pairs)} | ${f(row.loopMaxMs)} | ${f(row.rssMiB)} | ${row.closed} | ${f(row.ackP50)} / ${f(row.ackP99)} | ${f(row.writesPerSecond)} | ${n(row.outbox.start)} / ${n(row.outbox.end)} / ${n(row.outbox.peak)} |`,
    );
  }
  const reconnected = rows.filter((row) => row.reconnect !== undefined);
  if (reconnected.length === 0) return;
  console.log(
    `\nAfter a reconnect (subscriber instance killed, started again ${options.downSeconds} s later; every socket resubscribes with since: its last cursor):\n`,
  );
  console.log(
    '| bus | sockets | down (kill to ready) s | all resubscribed after s | stale pairs | worst event-loop delay ms | peak RSS MiB | write ack p50 / p99 ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of reconnected) {
    const r = row.reconnect!;
    const uncursored =
      r.uncursoredSockets === 0
        ? ''
        : ` (+ ${n(r.staleUncursored)} of ${r.uncursoredSockets} sockets that had no cursor)`;
    console.log(
      `| ${row.bus} | ${n(row.sockets)} | ${(r.downMs / 1000).toFixed(1)} | ${(r.resubscribedMs / 1000).toFixed(1)} | ${n(r.stalePairs)} of ${n(r.pairs)}${uncursored} | ${f(r.loopMaxMs)} | ${f(r.rssMiB)} | ${f(r.ackP50)} / ${f(r.ackP99)} |`,
    );
  }
}
