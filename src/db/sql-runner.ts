import type { Client, Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';
import { mapDatabaseError, type InputDataException } from './database-errors.js';

/**
 * A statement, with the data exceptions its client-supplied parameters can cause: those are
 * answered BAD_USER_INPUT, any other is a bug of ours (see mapDatabaseError).
 */
export interface Statement extends QueryConfig {
  readonly fromInput?: readonly InputDataException[];
}

/** Runs one statement, mapping its errors (see mapDatabaseError). */
export interface SqlRunner {
  query<R extends QueryResultRow>(statement: Statement): Promise<R[]>;
  /** The same runner on one connection, e.g. a transaction's. */
  on(connection: PoolClient): SqlRunner;
}

export function createSqlRunner(connection: Pool | PoolClient | Client): SqlRunner {
  return {
    async query<R extends QueryResultRow>(statement: Statement) {
      try {
        // pg reads only the QueryConfig part.
        return (await connection.query<R>(statement)).rows;
      } catch (error) {
        throw mapDatabaseError(error, statement.fromInput);
      }
    },
    on(client) {
      return createSqlRunner(client);
    },
  };
}
