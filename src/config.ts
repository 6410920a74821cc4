import { createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CUSTOM_FIELD_KEY_PATTERN } from './shared/input-rules.js';

/** The secret `npm start` and `npm run token` use in development when JWT_SECRET is unset. Never valid in production. */
export const DEVELOPMENT_JWT_SECRET = 'profile-service-development-secret-do-not-use-in-production';

export type NodeEnv = 'development' | 'production' | 'test';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Bounds on one GraphQL request; documented in docs/production.md. */
export interface GraphQLLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  /** How often one response key may appear in one selection set. */
  readonly maxDuplicateFields: number;
  readonly maxDirectives: number;
  readonly maxTokens: number;
  /** Each field costs 1; list arguments such as `users(ids:)` multiply their subtree by the list length. */
  readonly maxCost: number;
}

export interface JwtConfig {
  /** HS256 secret; undefined when only public keys (JWKS or PEM) verify tokens. */
  readonly secret: string | undefined;
  readonly usesDevelopmentSecret: boolean;
  readonly issuer: string | undefined;
  readonly audience: readonly string[];
  readonly requireExp: boolean;
  readonly clockToleranceSeconds: number;
  /** RS256/ES256 keys fetched from this URL, refetched when a token names an unknown `kid`. */
  readonly jwksUrl: string | undefined;
  readonly jwksCooldownSeconds: number;
  /** An RS256 or ES256 public key (PEM, SPKI). */
  readonly publicKey: string | undefined;
}

export interface Config {
  readonly nodeEnv: NodeEnv;
  /**
   * The development configuration: the only one with the published development secret, the
   * GraphiQL demo token, demo users and stack traces in error answers. Chosen with
   * NODE_ENV=development, or implied when NODE_ENV is unset and nothing but this machine can reach
   * the server (the embedded database, a loopback HOST).
   */
  readonly development: boolean;
  /** Why the server runs as `nodeEnv`, for the start-up log line. */
  readonly modeReason: string;
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  /** Unset: the embedded Postgres in `embeddedDatabase.dataDir` is used. */
  readonly databaseUrl: string | undefined;
  readonly embeddedDatabase: { readonly dataDir: string; readonly port: number };
  readonly dbPoolMax: number;
  readonly dbMigrate: boolean;
  /** Connecting fails after this long (the pool's connectionTimeoutMillis). */
  readonly dbConnectTimeoutMs: number;
  /** Postgres cancels a statement running longer than this (statement_timeout). */
  readonly dbStatementTimeoutMs: number;
  /**
   * False behind a pooler that cannot keep named prepared statements (PgBouncer before 1.21 in
   * transaction mode): every statement is sent unnamed (DATABASE_PREPARED_STATEMENTS).
   */
  readonly dbPreparedStatements: boolean;
  /**
   * A direct connection to the primary (DATABASE_LISTEN_URL) for what a transaction-mode pooler
   * cannot carry: LISTEN and the migrations' session lock. Undefined: DATABASE_URL.
   */
  readonly databaseListenUrl: string | undefined;
  readonly readReplicas: ReadReplicaConfig;
  readonly jwt: JwtConfig;
  readonly profileCustomFields: readonly string[];
  /** Custom field registry: the cap on definitions (retired ones count) and the re-read period. */
  readonly customFieldRegistry: { readonly maxDefinitions: number; readonly refreshMs: number };
  /** Each instance's copy of deactivated and deleted accounts: re-read at least this often (ms). */
  readonly accountStates: { readonly refreshMs: number };
  readonly presence: PresenceConfig;
  /** GraphiQL on GET /graphql for browsers; off in production unless GRAPHIQL=true. */
  readonly graphiql: boolean;
  /** Schema introspection; off in production unless INTROSPECTION=true. */
  readonly introspection: boolean;
  /** Execute operations compiled by graphql-jit (true) or with graphql-js (false). */
  readonly graphqlJit: boolean;
  /**
   * V8's heap growing factor as a percentage (`--heap-growing-percent`), set at start-up; 0 leaves
   * V8's own, which lets the heap grow up to fourfold between collections.
   */
  readonly heapGrowingPercent: number;
  readonly events: EventsConfig;
  /** Unset when PROFILE_WEBHOOK_URL is unset. */
  readonly webhook: WebhookConfig | undefined;
  readonly logLevel: LogLevel;
  readonly http: {
    readonly bodyLimitBytes: number;
    readonly batchEnabled: boolean;
    readonly batchMaxOperations: number;
    /** Take the client address from the last X-Forwarded-For entry (behind a gateway). */
    readonly trustProxy: boolean;
    /** Origins whose pages may call the API from a browser (CORS); `*` for any; empty for none. */
    readonly corsOrigins: readonly string[];
    readonly shutdownTimeoutMs: number;
    readonly metricsEnabled: boolean;
  };
  readonly graphqlLimits: GraphQLLimits;
  readonly websocket: WebSocketLimits;
  /** Writes (mutation fields executed) per window, shared by every instance through Postgres; 0 turns a limit off. */
  readonly rateLimit: {
    readonly windowSeconds: number;
    readonly writesPerUser: number;
    readonly writesPerIp: number;
  };
  /**
   * searchUsers fields per user and window, counted in memory by each instance (so N instances
   * allow up to N times as many); 0 turns the limit off.
   */
  readonly searchRateLimit: {
    readonly windowSeconds: number;
    readonly searchesPerUser: number;
  };
}

/** Who is online (see src/presence/ and docs/presence.md). */
export interface PresenceConfig {
  /**
   * PRESENCE_TIMEOUT_MS: an instance that stops (killed, cut off) has its users read OFFLINE
   * within this long; it beats every third of it, and counts as dead after two thirds.
   */
  readonly timeoutMs: number;
  /** USER_STATUS_COALESCE_MS: status notices gathered this long before userStatusUpdated delivers. */
  readonly coalesceMs: number;
}

/** Streaming replicas that take profile reads (see src/db/replicas.ts and docs/scaling.md). */
export interface ReadReplicaConfig {
  /** DATABASE_READ_URLS; empty: every read goes to the primary. */
  readonly urls: readonly string[];
  /** A replica further behind the primary than this is skipped until it catches up. */
  readonly maxLagMs: number;
  /** How often each replica's position and the primary's are read. */
  readonly checkMs: number;
}

/** Live profile changes: the relay, the bus between instances and the subscriptions. */
export interface EventsConfig {
  /** Set: Redis pub/sub is the bus; unset: Postgres LISTEN/NOTIFY. */
  readonly redisUrl: string | undefined;
  /** The NOTIFY/Redis channel every instance on one database shares. */
  readonly channel: string;
  /** How often the relay looks for events no local write told it about. */
  readonly relayPollMs: number;
  /** How long an event waits for the instance that wrote it before any relay publishes it. */
  readonly relayTakeoverMs: number;
  /** How long published, delivered events stay in the outbox (for catch-up). */
  readonly retentionHours: number;
  /** How often expired events are deleted (every batch due, in short statements). */
  readonly pruneMs: number;
}

/** Caps on the graphql-ws transport; counts are per instance. */
export interface WebSocketLimits {
  /** The largest message a socket may send; a larger one closes it (1009). */
  readonly maxPayloadBytes: number;
  /** Open sockets from one address (after TRUST_PROXY); more are refused at the upgrade (HTTP 429). */
  readonly socketsPerAddress: number;
  /** Authenticated sockets of one user; one more is closed with 1008 (policy violation) at connection_init. */
  readonly socketsPerUser: number;
  /** Operations running at once on one socket. */
  readonly subscriptionsPerConnection: number;
  /** Operations running at once for one user, over all of their sockets. */
  readonly subscriptionsPerUser: number;
}

export interface WebhookConfig {
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly pollMs: number;
  /** Users whose next event is delivered at once per round. */
  readonly batchSize: number;
  /** Attempts after which an undelivered event becomes a dead letter, left for an administrator to retry. */
  readonly maxAttempts: number;
}

export class ConfigError extends Error {
  constructor(
    readonly problems: readonly string[],
    note?: string,
  ) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}${note ? `\n${note}` : ''}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** What the configuration is read for: the server, or a command that needs less of it. */
export interface ConfigUse {
  /** False for a command that verifies no token (`npm run accounts`): no token key is required. */
  readonly verifiesTokens?: boolean;
}

/**
 * Reads `file` (default `.env` in the current folder) into the environment before loadConfig,
 * as `.env.example` suggests; a variable already set in the environment wins. Returns the file's
 * path when there was one.
 */
export function loadEnvFile(file = '.env'): string | undefined {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) return undefined;
  process.loadEnvFile(resolved);
  return resolved;
}

/**
 * The only reader of the environment. Every problem is collected so a misconfigured
 * deployment learns everything wrong with it in one start, not one per restart.
 */
export function loadConfig(env: Env = process.env, use: ConfigUse = {}): Config {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return parsed;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const databaseListenUrl = value('DATABASE_LISTEN_URL');
  if (databaseListenUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseListenUrl)) {
    problems.push('DATABASE_LISTEN_URL must be a postgres:// or postgresql:// URL');
  }
  const readUrls = (value('DATABASE_READ_URLS') ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  readUrls.forEach((url, index) => {
    if (!/^postgres(ql)?:\/\/[^\s]+$/.test(url)) {
      problems.push(`DATABASE_READ_URLS: entry ${index + 1} is not a postgres:// or postgresql:// URL`);
    }
  });
  if (databaseUrl === undefined && (readUrls.length > 0 || databaseListenUrl !== undefined)) {
    problems.push('DATABASE_READ_URLS and DATABASE_LISTEN_URL need DATABASE_URL (the primary) to be set');
  }
  const hostSetting = value('HOST');

  // Unset, NODE_ENV means development only where nothing but this machine can reach the server:
  // anything else runs as production, so a forgotten NODE_ENV never serves the published secret.
  const nodeEnvRaw = value('NODE_ENV');
  let nodeEnv: NodeEnv = 'production';
  let modeReason: string;
  if (nodeEnvRaw === undefined) {
    const local = databaseUrl === undefined && (hostSetting === undefined || isLoopback(hostSetting));
    nodeEnv = local ? 'development' : 'production';
    modeReason = local
      ? 'NODE_ENV is unset, with the embedded database and a loopback HOST: development'
      : `NODE_ENV is unset and ${databaseUrl !== undefined ? 'DATABASE_URL is set' : `HOST=${hostSetting} is not loopback`}: production (set NODE_ENV=development to choose development)`;
  } else if (nodeEnvRaw === 'development' || nodeEnvRaw === 'production' || nodeEnvRaw === 'test') {
    nodeEnv = nodeEnvRaw;
    modeReason = `NODE_ENV=${nodeEnv}`;
  } else {
    problems.push(`NODE_ENV must be development, production or test (got "${nodeEnvRaw}")`);
    modeReason = `NODE_ENV=${nodeEnvRaw}`;
  }
  const isProduction = nodeEnv === 'production';
  const development = nodeEnv === 'development';
  if (isProduction && databaseUrl === undefined) {
    problems.push('DATABASE_URL is required in production (the embedded database is for NODE_ENV=development)');
  }

  const jwksUrl = value('JWT_JWKS_URL');
  if (jwksUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(jwksUrl)) {
    problems.push('JWT_JWKS_URL must be an http:// or https:// URL');
  }
  // Environment files often carry a PEM on one line with literal \n.
  const publicKey = value('JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (publicKey !== undefined) {
    try {
      const key = createPublicKey(publicKey);
      if (
        key.asymmetricKeyType !== 'rsa' &&
        !(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
      ) {
        problems.push('JWT_PUBLIC_KEY must be an RSA (RS256) or P-256 (ES256) public key');
      }
    } catch {
      problems.push('JWT_PUBLIC_KEY is not a PEM public key');
    }
  }
  const hasPublicKeys = jwksUrl !== undefined || publicKey !== undefined;
  let secret = value('JWT_SECRET');
  let usesDevelopmentSecret = false;
  if (secret === undefined) {
    if (development && !hasPublicKeys) {
      secret = DEVELOPMENT_JWT_SECRET;
      usesDevelopmentSecret = true;
    } else if (!hasPublicKeys && use.verifiesTokens !== false) {
      problems.push(
        `JWT_SECRET (at least 32 characters), JWT_JWKS_URL or JWT_PUBLIC_KEY is required in ${nodeEnv} (only NODE_ENV=development falls back to the published development secret)`,
      );
    }
  } else if (!development && secret === DEVELOPMENT_JWT_SECRET) {
    problems.push('JWT_SECRET is the published development secret: it is accepted only with NODE_ENV=development');
  } else if (isProduction && secret.length < 32) {
    problems.push(`JWT_SECRET must be at least 32 characters in production (got ${secret.length})`);
  }
  const audience = (value('JWT_AUDIENCE') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

  const logLevel = (value('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }

  const corsOrigins = (value('CORS_ORIGINS') ?? '')
    .split(',')
    .map((origin) => origin.trim().replace(/\/$/, ''))
    .filter((origin) => origin !== '');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`CORS_ORIGINS: "${origin}" is not an origin such as https://app.example.com, or *`);
    }
  }

  const profileCustomFields = (value('PROFILE_CUSTOM_FIELDS') ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  for (const key of profileCustomFields) {
    if (!CUSTOM_FIELD_KEY_PATTERN.test(key)) {
      problems.push(
        `PROFILE_CUSTOM_FIELDS: "${key}" is not Tag_Profile_Custom_ followed by 1 to 8 ASCII letters or digits starting with a letter`,
      );
    }
  }
  if (new Set(profileCustomFields).size !== profileCustomFields.length) {
    problems.push('PROFILE_CUSTOM_FIELDS lists a key twice');
  }

  const maxDefinitions = integer('PROFILE_CUSTOM_FIELD_LIMIT', 20, 1, 10000);
  if (profileCustomFields.length > maxDefinitions) {
    problems.push(
      `PROFILE_CUSTOM_FIELDS lists ${profileCustomFields.length} keys, more than PROFILE_CUSTOM_FIELD_LIMIT (${maxDefinitions})`,
    );
  }
  const redisUrl = value('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  }
  const channel = value('PROFILE_EVENTS_CHANNEL') ?? 'profile_events';
  // 56, not Postgres' 63: status notices travel on the channel plus ":status".
  if (!/^[A-Za-z0-9_.:-]{1,56}$/.test(channel)) {
    problems.push('PROFILE_EVENTS_CHANNEL must be 1 to 56 letters, digits, "_", ".", ":" or "-"');
  }
  const webhookUrl = value('PROFILE_WEBHOOK_URL');
  const webhookSecret = value('PROFILE_WEBHOOK_SECRET');
  if (webhookUrl !== undefined) {
    let protocol = '';
    try {
      protocol = new URL(webhookUrl).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:') problems.push('PROFILE_WEBHOOK_URL must be an http(s) URL');
    if (webhookSecret === undefined || webhookSecret.length < 16) {
      problems.push('PROFILE_WEBHOOK_SECRET of at least 16 characters is required with PROFILE_WEBHOOK_URL');
    }
  } else if (webhookSecret !== undefined) {
    problems.push('PROFILE_WEBHOOK_SECRET is set but PROFILE_WEBHOOK_URL is not');
  }
  const webhookTimings = {
    timeoutMs: integer('PROFILE_WEBHOOK_TIMEOUT_MS', 5000, 100, 120_000),
    retryBaseMs: integer('PROFILE_WEBHOOK_RETRY_BASE_MS', 1000, 10, 3_600_000),
    retryMaxMs: integer('PROFILE_WEBHOOK_RETRY_MAX_MS', 300_000, 10, 86_400_000),
    pollMs: integer('PROFILE_WEBHOOK_POLL_MS', 1000, 10, 60_000),
    batchSize: integer('PROFILE_WEBHOOK_BATCH_SIZE', 20, 1, 1000),
    maxAttempts: integer('PROFILE_WEBHOOK_MAX_ATTEMPTS', 10, 1, 1000),
  };

  const config: Config = {
    nodeEnv,
    development,
    modeReason,
    isProduction,
    port: integer('PORT', 4000, 0, 65535),
    // Development answers only this machine unless HOST says otherwise.
    host: hostSetting ?? (development ? '127.0.0.1' : '0.0.0.0'),
    databaseUrl,
    embeddedDatabase: {
      dataDir: embeddedDataDir(value('EMBEDDED_PG_DIR')),
      port: integer('EMBEDDED_PG_PORT', DEFAULT_EMBEDDED_PG_PORT, 1024, 65535),
    },
    dbPoolMax: integer('DB_POOL_MAX', 10, 1, 1000),
    dbMigrate: boolean('DB_MIGRATE', true),
    dbConnectTimeoutMs: integer('DB_CONNECT_TIMEOUT_MS', 2000, 100, 600_000),
    dbStatementTimeoutMs: integer('DB_STATEMENT_TIMEOUT_MS', 5000, 100, 3_600_000),
    dbPreparedStatements: boolean('DATABASE_PREPARED_STATEMENTS', true),
    databaseListenUrl,
    readReplicas: {
      urls: readUrls,
      maxLagMs: integer('DATABASE_READ_MAX_LAG_MS', 5000, 0, 3_600_000),
      checkMs: integer('DATABASE_READ_CHECK_MS', 1000, 50, 60_000),
    },
    jwt: {
      secret,
      usesDevelopmentSecret,
      issuer: value('JWT_ISSUER'),
      audience,
      requireExp: boolean('JWT_REQUIRE_EXP', true),
      clockToleranceSeconds: integer('JWT_CLOCK_TOLERANCE_SECONDS', 30, 0, 600),
      jwksUrl,
      jwksCooldownSeconds: integer('JWT_JWKS_COOLDOWN_SECONDS', 30, 0, 3600),
      publicKey,
    },
    profileCustomFields,
    customFieldRegistry: {
      maxDefinitions,
      refreshMs: integer('PROFILE_CUSTOM_FIELD_REFRESH_MS', 5000, 100, 600000),
    },
    accountStates: { refreshMs: integer('ACCOUNT_STATE_REFRESH_MS', 5000, 100, 600000) },
    presence: {
      timeoutMs: integer('PRESENCE_TIMEOUT_MS', 30_000, 1000, 3_600_000),
      coalesceMs: integer('USER_STATUS_COALESCE_MS', 250, 0, 10_000),
    },
    graphiql: boolean('GRAPHIQL', !isProduction),
    introspection: boolean('INTROSPECTION', !isProduction),
    graphqlJit: boolean('GRAPHQL_JIT', true),
    heapGrowingPercent: integer('HEAP_GROWING_PERCENT', 100, 0, 1000),
    events: {
      redisUrl,
      channel,
      relayPollMs: integer('PROFILE_EVENTS_RELAY_POLL_MS', 1000, 10, 60_000),
      relayTakeoverMs: integer('PROFILE_EVENTS_RELAY_TAKEOVER_MS', 5000, 0, 600_000),
      retentionHours: integer('PROFILE_EVENTS_RETENTION_HOURS', 24, 1, 24 * 365),
      pruneMs: integer('PROFILE_EVENTS_PRUNE_MS', 10_000, 100, 3_600_000),
    },
    webhook:
      webhookUrl === undefined || webhookSecret === undefined
        ? undefined
        : { url: webhookUrl, secret: webhookSecret, ...webhookTimings },
    logLevel: (LOG_LEVELS as readonly string[]).includes(logLevel) ? (logLevel as LogLevel) : 'info',
    http: {
      bodyLimitBytes: integer('HTTP_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
      batchEnabled: boolean('GRAPHQL_BATCH_ENABLED', false),
      batchMaxOperations: integer('GRAPHQL_BATCH_MAX_OPERATIONS', 10, 1, 100),
      trustProxy: boolean('TRUST_PROXY', false),
      corsOrigins,
      shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
      metricsEnabled: boolean('METRICS_ENABLED', true),
    },
    graphqlLimits: {
      maxDepth: integer('GRAPHQL_MAX_DEPTH', 8, 1, 100),
      maxAliases: integer('GRAPHQL_MAX_ALIASES', 15, 0, 1000),
      maxDuplicateFields: integer('GRAPHQL_MAX_DUPLICATE_FIELDS', 3, 1, 1000),
      maxDirectives: integer('GRAPHQL_MAX_DIRECTIVES', 10, 0, 1000),
      maxTokens: integer('GRAPHQL_MAX_TOKENS', 2000, 100, 1_000_000),
      maxCost: integer('GRAPHQL_MAX_COST', 5000, 1, 10_000_000),
    },
    websocket: {
      subscriptionsPerConnection: integer('SUBSCRIPTIONS_PER_CONNECTION', 20, 1, 1000),
      subscriptionsPerUser: integer('SUBSCRIPTIONS_PER_USER', 100, 1, 100_000),
      socketsPerUser: integer('WS_MAX_SOCKETS_PER_USER', 10, 1, 100_000),
      socketsPerAddress: integer('WS_MAX_SOCKETS_PER_ADDRESS', 100, 1, 1_000_000),
      maxPayloadBytes: integer('WS_MAX_PAYLOAD_BYTES', 64 * 1024, 1024, 100 * 1024 * 1024),
    },
    rateLimit: {
      windowSeconds: integer('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
      writesPerUser: integer('RATE_LIMIT_WRITES_PER_USER', 60, 0, 1_000_000),
      writesPerIp: integer('RATE_LIMIT_WRITES_PER_IP', 600, 0, 1_000_000),
    },
    searchRateLimit: {
      windowSeconds: integer('SEARCH_RATE_LIMIT_WINDOW_SECONDS', 1, 1, 86_400),
      searchesPerUser: integer('SEARCH_RATE_LIMIT_PER_USER', 10, 0, 1_000_000),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems, modeReason);
  return deepFreeze(config);
}

/** A host name or address that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Outside Linux's range for outgoing connections' ports (32768-60999), which could take it at random. */
export const DEFAULT_EMBEDDED_PG_PORT = 15432;

/**
 * The project's `.data/postgres` by default, wherever the server is started from (the project is the
 * folder holding package.json, found from this file's own location); a folder set in EMBEDDED_PG_DIR
 * is relative to the current folder, as paths on a command line are.
 */
function embeddedDataDir(configured: string | undefined): string {
  if (configured !== undefined) return path.resolve(configured);
  let project = __dirname;
  while (!existsSync(path.join(project, 'package.json'))) {
    const parent = path.dirname(project);
    if (parent === project) return path.resolve('.data', 'postgres');
    project = parent;
  }
  return path.join(project, '.data', 'postgres');
}

function deepFreeze<T extends object>(target: T): T {
  for (const inner of Object.values(target)) {
    if (inner !== null && typeof inner === 'object') deepFreeze(inner as object);
  }
  return Object.freeze(target);
}
