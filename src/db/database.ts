import { Client, type Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, type PoolTimeouts } from '../../ormconfig.js';

export interface Database {
  readonly dataSource: DataSource;
  /** The pool TypeORM opened; hot paths run their single statements on it directly. */
  readonly pool: Pool;
  close(): Promise<void>;
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

export async function openDatabase(
  url: string,
  options: { poolMax: number; migrate: boolean } & PoolTimeouts,
): Promise<Database> {
  const dataSource = createDataSource(url, options.poolMax, options);
  try {
    await dataSource.initialize();
  } catch (error) {
    throw explainConnectionError(error, url);
  }
  try {
    if (options.migrate) await runMigrations(dataSource, url);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  return {
    dataSource,
    pool,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

/**
 * Several instances (or test workers) may start at once: one migrates, the others wait and then
 * find nothing to do. The lock is held on its own connection so a pool of any size can migrate.
 */
export async function runMigrations(dataSource: DataSource, url: string): Promise<void> {
  const lock = new Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await lock.end();
  }
}
