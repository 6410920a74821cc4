import { readdir } from 'node:fs/promises';
import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReadReplicasStatus } from '../db/replicas.js';

/** Operation names come from clients: past this many distinct ones, new names count as "other". */
const MAX_OPERATION_LABELS = 100;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** The dead-letter gauge counts this many at most, which keeps its query on an index. */
const DEAD_LETTER_GAUGE_CAP = 10_000;

/** What the webhook worker reports (src/webhook). */
export interface WebhookDeadLetterSource {
  /** Calls `listener` with how many events this instance has just moved to the dead letters. */
  onDeadLetters(listener: (count: number) => void): void;
  /** The dead letters in the outbox now, every instance's, counted up to `cap`. */
  countDeadLetters(cap: number): Promise<number>;
}

/** What /metrics reads of who is online (see PresenceTracker). */
export interface PresenceSource {
  readonly onlineHere: number;
  readonly statements: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** One finished GraphQL operation. `outcome` is `success` or `error`. */
  observeOperation(operationName: string | undefined, outcome: 'success' | 'error', seconds: number): void;
  observeError(code: string): void;
  /** One operation answered by the fast path (execution/fast-path.ts) rather than Apollo's pipeline. */
  observeFastPath(): void;
  observeLoaderBatch(loader: string, size: number): void;
  /** Reports the pool's connections on every scrape. */
  watchPool(pool: Pool): void;
  /** Counts the webhook's dead letters as they happen, and reports how many are waiting on every scrape. */
  watchWebhook(webhook: WebhookDeadLetterSource): void;
  /** Reports the read replicas' state, lag and reads, and whether the primary answers, on every scrape. */
  watchReplicas(replicas: { status(): ReadReplicasStatus }): void;
  /** Reports who is online here and the statements presence has run, on every scrape. */
  watchPresence(presence: PresenceSource): void;
}

/** prom-client's default metrics that cost a walk over every handle of the process per scrape. */
const HANDLE_LISTING_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
] as const;

/** One registry per app, so several apps in one process (tests) never share counters. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // These list every handle (or resource) of the process on each scrape, twice each: with ten
  // thousand sockets open that held the event loop for 50-130 ms per scrape, the worst delay a
  // subscriber instance saw. Open sockets show as open descriptors below.
  for (const name of HANDLE_LISTING_METRICS) registry.removeSingleMetric(name);
  // prom-client counts open descriptors with readdirSync: with ten thousand sockets open, that
  // alone held the event loop for over 10 ms on every scrape. The same gauge, read off the loop.
  if (registry.getSingleMetric('process_open_fds') !== undefined) {
    registry.removeSingleMetric('process_open_fds');
    new Gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers: [registry],
      async collect() {
        // Less the descriptor reading the directory.
        this.set((await readdir('/proc/self/fd')).length - 1);
      },
    });
  }
  const knownOperations = new Set<string>();
  const operationLabel = (name: string | undefined): string => {
    if (name === undefined || name === '') return 'anonymous';
    if (knownOperations.has(name)) return name;
    if (!OPERATION_NAME.test(name) || knownOperations.size >= MAX_OPERATION_LABELS) return 'other';
    knownOperations.add(name);
    return name;
  };

  const requests = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations answered, by operation name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'Time from receiving a GraphQL request to sending its response, by operation name',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'graphql_errors_total',
    help: 'GraphQL errors sent to clients, by extensions.code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const fastPath = new Counter({
    name: 'graphql_fast_path_operations_total',
    help: "Operations answered without Apollo's request pipeline (repeated, already validated, successful)",
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'dataloader_batch_size',
    help: 'Keys per DataLoader batch (one SQL statement each)',
    labelNames: ['loader'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers: [registry],
  });
  const pools: Pool[] = [];
  const poolGauge = (name: string, help: string, read: (pool: Pool) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pools.reduce((sum, pool) => sum + read(pool), 0));
      },
    });
  poolGauge('db_pool_connections', 'Open connections in the database pool', (pool) => pool.totalCount);
  poolGauge('db_pool_idle_connections', 'Idle connections in the database pool', (pool) => pool.idleCount);
  poolGauge('db_pool_waiting_requests', 'Queries waiting for a pool connection', (pool) => pool.waitingCount);
  const deadLettered = new Counter({
    name: 'profile_webhook_dead_letters_total',
    help: 'Webhook events this instance moved to the dead letters after their last failed attempt',
    registers: [registry],
  });
  let webhook: WebhookDeadLetterSource | undefined;
  new Gauge({
    name: 'profile_webhook_dead_letters',
    help: `Webhook events waiting in the dead letters for an administrator to retry them (counted up to ${DEAD_LETTER_GAUGE_CAP})`,
    registers: [registry],
    async collect() {
      if (webhook === undefined) return;
      // A scrape while the database is away keeps the last count rather than failing every metric.
      const count = await webhook.countDeadLetters(DEAD_LETTER_GAUGE_CAP).catch(() => undefined);
      if (count !== undefined) this.set(count);
    },
  });

  let replicas: { status(): ReadReplicasStatus } | undefined;
  const replicaGauge = (
    name: string,
    help: string,
    read: (replica: ReadReplicasStatus['replicas'][number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const replica of replicas?.status().replicas ?? []) this.set({ replica: replica.name }, read(replica));
      },
    });
  replicaGauge('db_replica_up', 'Whether the read replica answered its last check (1) or not (0)', (r) => Number(r.up));
  replicaGauge(
    'db_replica_usable',
    'Whether the read replica takes reads now (1): up, and within DATABASE_READ_MAX_LAG_MS while the primary answers',
    (r) => Number(r.usable),
  );
  // NaN until a replica's lag has been measured (it has not answered yet, or the primary has not).
  replicaGauge('db_replica_lag_seconds', 'How far the read replica is behind the primary, at its last check', (r) =>
    r.lagSeconds === undefined ? NaN : r.lagSeconds,
  );
  replicaGauge('db_replica_lag_bytes', 'WAL bytes the read replica has still to replay, at its last check', (r) =>
    r.lagBytes === undefined ? NaN : r.lagBytes,
  );
  new Gauge({
    name: 'db_primary_up',
    help: 'Whether the primary answered the last replica check (1) or not (0); reported with read replicas',
    registers: [registry],
    collect() {
      const status = replicas?.status();
      if (status !== undefined) this.set(Number(status.primaryUp));
    },
  });
  new Counter({
    name: 'db_reads_total',
    help: 'Profile reads routed with read replicas, by the server that answered (primary, or a replica)',
    labelNames: ['server'] as const,
    registers: [registry],
    collect() {
      const status = replicas?.status();
      if (status === undefined) return;
      this.reset();
      this.inc({ server: 'primary' }, status.primaryReads);
      for (const replica of status.replicas) this.inc({ server: replica.name }, replica.reads);
    },
  });

  let presence: PresenceSource | undefined;
  new Gauge({
    name: 'presence_online_users',
    help: 'Users holding at least one authenticated WebSocket connection on this instance',
    registers: [registry],
    collect() {
      this.set(presence?.onlineHere ?? 0);
    },
  });
  new Counter({
    name: 'presence_statements_total',
    help: 'Statements presence ran: heartbeats, sweeps, sessions written and statuses read',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(presence?.statements ?? 0);
    },
  });

  return {
    registry,
    observeOperation(operationName, outcome, seconds) {
      const operation = operationLabel(operationName);
      requests.inc({ operation, outcome });
      duration.observe({ operation }, seconds);
    },
    observeError(code) {
      errors.inc({ code });
    },
    observeFastPath() {
      fastPath.inc();
    },
    observeLoaderBatch(loader, size) {
      batches.observe({ loader }, size);
    },
    watchPool(pool) {
      pools.push(pool);
    },
    watchWebhook(source) {
      webhook = source;
      source.onDeadLetters((count) => deadLettered.inc(count));
    },
    watchReplicas(source) {
      replicas = source;
    },
    watchPresence(source) {
      presence = source;
    },
  };
}
