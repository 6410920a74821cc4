import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';
import { AccountTombstoneEntity } from './src/account/account-tombstone.entity.js';
import { AdminAuditEntity } from './src/admin/admin-audit.entity.js';
import { DEFAULT_EMBEDDED_PG_PORT } from './src/config.js';
import { ProfileCustomFieldEntity } from './src/custom-field/custom-field-definition.entity.js';
import { UnnamedStatementClient } from './src/db/unnamed-statements.js';
import { ProfileEventEntity } from './src/events/profile-event.entity.js';
import { PresenceInstanceEntity, PresenceSessionEntity, UserStatusEntity } from './src/presence/presence.entity.js';
import { RateLimitCounterEntity } from './src/limits/rate-limit-counter.entity.js';
import { UserProfileEntity } from './src/user/user-profile.entity.js';

export const ENTITIES = [
  UserProfileEntity,
  ProfileCustomFieldEntity,
  AdminAuditEntity,
  ProfileEventEntity,
  RateLimitCounterEntity,
  AccountTombstoneEntity,
  PresenceInstanceEntity,
  PresenceSessionEntity,
  UserStatusEntity,
];

/** Where the embedded database listens while `npm start` runs it (see src/db/embedded-postgres.ts). */
export const EMBEDDED_DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${process.env.EMBEDDED_PG_PORT ?? DEFAULT_EMBEDDED_PG_PORT}/postgres`;

export interface PoolTimeouts {
  /** Fail a connection attempt after this long instead of waiting for the OS. */
  readonly connectTimeoutMs?: number;
  /** Postgres cancels longer statements; the client gives up one second after that. */
  readonly statementTimeoutMs?: number;
}

export interface PoolSettings extends PoolTimeouts {
  /** False: every statement is sent unnamed, for a pooler that cannot keep prepared statements. */
  readonly preparedStatements?: boolean;
}

export function createDataSource(url: string, poolMax = 10, timeouts: PoolSettings = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    // Failed statements are not logged here: their parameters are user data. Errors reach the
    // application, which logs them without values.
    logging: false,
    extra: {
      max: poolMax,
      application_name: 'profile-service',
      keepAlive: true,
      ...(timeouts.preparedStatements === false ? { Client: UnnamedStatementClient } : {}),
      ...(timeouts.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: timeouts.connectTimeoutMs }),
      ...(timeouts.statementTimeoutMs === undefined
        ? {}
        : { statement_timeout: timeouts.statementTimeoutMs, query_timeout: timeouts.statementTimeoutMs + 1000 }),
    },
  });
}

/** The DataSource the TypeORM CLI uses (`npm run migration:*`). */
export default createDataSource(process.env.DATABASE_URL ?? EMBEDDED_DATABASE_URL);
