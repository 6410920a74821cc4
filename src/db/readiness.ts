import type { Database } from './database.js';

export type Readiness =
  { readonly ready: true } | { readonly ready: false; readonly reason: 'DATABASE_UNREACHABLE' | 'MIGRATIONS_PENDING' };

/**
 * Ready when the database answers and every migration this build knows has been executed.
 * Runs only when a probe asks, never on the request path.
 */
export function createReadinessCheck(database: Database): () => Promise<Readiness> {
  const known = database.dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name);
  const table = database.dataSource.options.migrationsTableName ?? 'migrations';
  return async () => {
    let executed: Set<string>;
    try {
      const { rows } = await database.pool.query<{ name: string }>(`SELECT name FROM "${table}"`);
      executed = new Set(rows.map((row) => row.name));
    } catch (error) {
      // 42P01: the migrations table does not exist yet.
      if ((error as { code?: string }).code === '42P01') return { ready: false, reason: 'MIGRATIONS_PENDING' };
      return { ready: false, reason: 'DATABASE_UNREACHABLE' };
    }
    return known.every((name) => executed.has(name)) ? { ready: true } : { ready: false, reason: 'MIGRATIONS_PENDING' };
  };
}
