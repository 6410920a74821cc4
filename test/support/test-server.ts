import { randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import pino from 'pino';
import { startApp, type RunningApp } from '../../src/app';
import { issueToken, type IssueTokenOptions } from '../../src/auth/token-issuer';
import { loadConfig } from '../../src/config';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';
/** Limits small enough for a test to go over each with a short document. */
export const SMALL_QUERY_LIMITS = {
  GRAPHQL_MAX_DEPTH: '2',
  GRAPHQL_MAX_ALIASES: '3',
  GRAPHQL_MAX_DUPLICATE_FIELDS: '2',
  GRAPHQL_MAX_DIRECTIVES: '2',
  GRAPHQL_MAX_TOKENS: '200',
  GRAPHQL_MAX_COST: '60',
} as const;

export const TEST_CUSTOM_FIELDS = ['Tag_Profile_Custom_Test1', 'Tag_Profile_Custom_Test2', 'Tag_Profile_Custom_Mood'];

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
  extensions?: Record<string, any>;
}

export interface TestServer {
  readonly app: RunningApp;
  readonly url: string;
  token(userID: string, options?: IssueTokenOptions): Promise<string>;
  /** POSTs an operation over real HTTP; `token` may be a token string or a user ID to sign for. */
  request<T = Record<string, any>>(
    query: string,
    options?: {
      variables?: Record<string, unknown>;
      token?: string;
      as?: string;
      admin?: boolean;
      headers?: Record<string, string>;
    },
  ): Promise<GraphQLResponse<T>>;
  /** Statements sent on the server's database pool so far, by anything: requests and background work alike. */
  statements(): number;
  /**
   * Stops what the server does on its own on the pool (relaying profile events, re-reading the
   * custom field registry when told or on a timer), so that `statements()` counts only what requests send.
   */
  stopBackgroundWork(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Counts every statement sent on `pool` from now on: each client is wrapped the first time it is
 * checked out (`pool.query` checks one out too).
 */
export function countStatements(pool: Pool): () => number {
  let count = 0;
  const counted = new WeakSet<PoolClient>();
  pool.on('acquire', (client) => {
    if (counted.has(client)) return;
    counted.add(client);
    const query = client.query;
    client.query = function (this: PoolClient, ...args: unknown[]) {
      count += 1;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof client.query;
  });
  return () => count;
}

/**
 * DATABASE_LISTEN_URL and DATABASE_PREPARED_STATEMENTS from the test run's environment: set, the
 * suite runs through a pooler (DATABASE_URL) with LISTEN on a direct connection (.ci/pgbouncer-suite).
 * The direct URL names the database `databaseUrl` names, so a test on a database of its own
 * listens (and migrates) there too.
 */
export function poolerSettings(databaseUrl = process.env.DATABASE_URL): Record<string, string> {
  const settings: Record<string, string> = {};
  const listen = process.env.DATABASE_LISTEN_URL;
  if (listen !== undefined && databaseUrl !== undefined) {
    const direct = new URL(listen);
    direct.pathname = new URL(databaseUrl).pathname;
    settings.DATABASE_LISTEN_URL = direct.toString();
  }
  const prepared = process.env.DATABASE_PREPARED_STATEMENTS;
  if (prepared !== undefined) settings.DATABASE_PREPARED_STATEMENTS = prepared;
  return settings;
}

/** A user ID no other test uses, so tests never see each other's rows. */
export function uniqueUserID(prefix = 'u'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: process.env.DATABASE_URL,
    // Set when the suite runs behind a transaction-mode pooler (.ci/pgbouncer-suite).
    ...poolerSettings(env.DATABASE_URL),
    DB_MIGRATE: 'false',
    DB_POOL_MAX: '5',
    JWT_SECRET: TEST_JWT_SECRET,
    PROFILE_CUSTOM_FIELDS: TEST_CUSTOM_FIELDS.join(','),
    // Tests share one database and define fields with unique keys; only the cap's own test lowers this.
    PROFILE_CUSTOM_FIELD_LIMIT: '10000',
    // Tests write far faster than any client, all from one address; the rate-limit tests turn it on.
    RATE_LIMIT_WRITES_PER_USER: '0',
    RATE_LIMIT_WRITES_PER_IP: '0',
    ...env,
  });
  const app = await startApp(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  const statements = countStatements(app.database.pool);
  const token = (userID: string, options?: IssueTokenOptions) =>
    issueToken(config.jwt.secret ?? TEST_JWT_SECRET, userID, options);
  return {
    app,
    url: app.url,
    token,
    async request(query, options = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
      const bearer =
        options.token ?? (options.as === undefined ? undefined : await token(options.as, { admin: options.admin }));
      if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
      const response = await fetch(app.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables: options.variables }),
      });
      const body = (await response.json()) as GraphQLResponse;
      return { ...body, status: response.status } as GraphQLResponse<any>;
    },
    statements,
    async stopBackgroundWork() {
      await app.services.profileEvents.relay.stop();
      await app.services.customFieldCatalog.stop();
      // Connections then no longer write who is online.
      await app.services.presence.stop();
    },
    stop: () => app.stop(),
  };
}
