import type { Database } from './database.js';
import type { ReadReplicas } from './replicas.js';

/** The database servers an instance uses, by what they do for it. */
export type DatabaseRole = 'primary' | 'replicas';

export type Readiness =
  | {
      readonly ready: true;
      /** Set when a role is missing but requests can still be answered (degraded). */
      readonly missing?: readonly DatabaseRole[];
    }
  | {
      readonly ready: false;
      readonly reason: 'DATABASE_UNREACHABLE' | 'MIGRATIONS_PENDING';
      readonly missing?: readonly DatabaseRole[];
    };

/**
 * Ready when the database answers and every migration this build knows has been executed.
 * Runs only when a probe asks, never on the request path.
 *
 * With replicas (DATABASE_READ_URLS) it also says which role is missing: without the primary the
 * instance still answers reads from the replicas (ready, missing `primary`); without any replica
 * that can take reads, the primary answers them (ready, missing `replicas`); with neither it is not
 * ready. The replicas' state is their last check's (see ReadReplicas).
 */
export function createReadinessCheck(database: Database, replicas?: ReadReplicas): () => Promise<Readiness> {
  const known = database.dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name);
  const table = database.dataSource.options.migrationsTableName ?? 'migrations';
  const replicasAnswer = () => replicas?.status().replicas.some((replica) => replica.usable) ?? false;
  return async () => {
    let executed: Set<string>;
    try {
      const { rows } = await database.pool.query<{ name: string }>(`SELECT name FROM "${table}"`);
      executed = new Set(rows.map((row) => row.name));
    } catch (error) {
      // 42P01: the migrations table does not exist yet.
      if ((error as { code?: string }).code === '42P01') return { ready: false, reason: 'MIGRATIONS_PENDING' };
      if (replicas === undefined) return { ready: false, reason: 'DATABASE_UNREACHABLE' };
      if (replicasAnswer()) return { ready: true, missing: ['primary'] };
      return { ready: false, reason: 'DATABASE_UNREACHABLE', missing: ['primary', 'replicas'] };
    }
    if (!known.every((name) => executed.has(name))) return { ready: false, reason: 'MIGRATIONS_PENDING' };
    return replicas === undefined || replicasAnswer() ? { ready: true } : { ready: true, missing: ['replicas'] };
  };
}
