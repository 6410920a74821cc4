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

export async function openDatabase(
  url: string,
  options: { poolMax: number; migrate: boolean } & PoolTimeouts,
): Promise<Database> {
  const dataSource = createDataSource(url, options.poolMax, options);
  await dataSource.initialize();
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
