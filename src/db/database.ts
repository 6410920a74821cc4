import { Client, type ClientConfig, type Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, type PoolSettings } from '../../ormconfig.js';

export interface Database {
  readonly dataSource: DataSource;
  /** The pool TypeORM opened; hot paths run their single statements on it directly. */
  readonly pool: Pool;
  /**
   * Where LISTEN connections go: DATABASE_LISTEN_URL, a direct connection to the primary, when
   * DATABASE_URL is a pooler's (which cannot carry LISTEN); DATABASE_URL otherwise.
   */
  readonly listenUrl: string;
  /** A dedicated connection's settings on `listenUrl` (see ListenClient). */
  readonly listenConnection: ClientConfig;
  close(): Promise<void>;
}

export interface DatabaseOptions extends PoolSettings {
  readonly poolMax: number;
  readonly migrate: boolean;
  /** The direct URL for LISTEN and the migration lock; unset: the pool's URL. */
  readonly listenUrl?: string;
}

// Any fixed number: it only has to be the same for every process migrating this database.
const MIGRATION_LOCK_KEY = 7_351_940_221;

/** The URL as it may be shown: without its password. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

/**
 * Why the first connection failed, in words that name the setting and the fix; the driver's own
 * message (`connect ECONNREFUSED 127.0.0.1:5999`) names neither.
 */
export function explainConnectionError(error: unknown, url: string, setting = 'DATABASE_URL'): Error {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const where = `${setting} (${shown(url)})`;
  const advice: Record<string, string> = {
    ECONNREFUSED: `nothing accepts connections at ${where}: start Postgres there, or correct the host and port`,
    ENOTFOUND: `the host in ${where} does not resolve: correct the host name`,
    EAI_AGAIN: `the host in ${where} could not be resolved right now: check DNS, or use an IP address`,
    ETIMEDOUT: `connecting to ${where} timed out: check the host, the port and any firewall in between`,
    '3D000': `the database named in ${where} does not exist: create it (createdb <name>) or correct the name`,
    '28P01': `Postgres refused the password of the user in ${where}: correct the user or the password`,
    '28000': `Postgres refused the user in ${where} (pg_hba.conf): correct the user, or allow it in pg_hba.conf`,
    '53300': `Postgres at ${where} has no connection slot left: lower DB_POOL_MAX or raise max_connections`,
  };
  const timedOut = typeof message === 'string' && /timeout/i.test(message);
  const explained =
    (code !== undefined ? advice[code] : undefined) ??
    (timedOut
      ? `connecting to ${where} took longer than DB_CONNECT_TIMEOUT_MS: check that Postgres is up there`
      : undefined);
  if (explained === undefined) return error instanceof Error ? error : new Error(String(error));
  return new Error(`${explained} (${code ?? message})`, { cause: error });
}

export async function openDatabase(url: string, options: DatabaseOptions): Promise<Database> {
  const listenUrl = options.listenUrl ?? url;
  const dataSource = createDataSource(url, options.poolMax, options);
  try {
    await dataSource.initialize();
  } catch (error) {
    throw explainConnectionError(error, url);
  }
  try {
    if (options.migrate) await runMigrations(dataSource, listenUrl === url ? undefined : listenUrl);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  return {
    dataSource,
    pool,
    listenUrl,
    listenConnection: {
      connectionString: listenUrl,
      keepAlive: true,
      ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectTimeoutMs }),
    },
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

/**
 * Several instances (or test workers) may start at once: one migrates, the others wait and then
 * find nothing to do. The lock is held on its own connection so a pool of any size can migrate.
 *
 * A session advisory lock needs a session: through a transaction-mode pooler it would stay behind
 * on whichever server connection took it. With `directUrl` (DATABASE_LISTEN_URL), the lock and the
 * migrations both run on direct connections to the primary, and the pool is not used.
 */
export async function runMigrations(dataSource: DataSource, directUrl?: string): Promise<void> {
  const lockUrl = directUrl ?? (dataSource.options as { url: string }).url;
  const lock = new Client({ connectionString: lockUrl });
  try {
    await lock.connect();
  } catch (error) {
    throw explainConnectionError(error, lockUrl, directUrl === undefined ? 'DATABASE_URL' : 'DATABASE_LISTEN_URL');
  }
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    if (directUrl === undefined) {
      await dataSource.runMigrations({ transaction: 'each' });
    } else {
      const direct = createDataSource(directUrl, 1);
      await direct.initialize();
      try {
        await direct.runMigrations({ transaction: 'each' });
      } finally {
        await direct.destroy();
      }
    }
  } finally {
    await lock.end();
  }
}
