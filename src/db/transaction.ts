import type { Pool, PoolClient } from 'pg';

/** One pool connection, held for a piece of work. */
export interface Connection {
  readonly client: PoolClient;
  /** Runs `work` in one transaction on this connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Runs `work` on one pool connection, released when it settles. A connection the server ends
 * between two statements reports it as an 'error' event, which would crash the process without a
 * listener; such a connection (or one that cannot roll back) is discarded, not reused.
 */
export async function onConnection<T>(pool: Pool, work: (connection: Connection) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const discard = (error: Error) => (broken ??= error);
  client.on('error', discard);
  try {
    return await work({
      client,
      async transaction(inner) {
        try {
          await client.query('BEGIN');
          const result = await inner();
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(discard);
          throw error;
        }
      },
    });
  } finally {
    client.removeListener('error', discard);
    client.release(broken);
  }
}

/** Runs `work` in one transaction on one pool connection (see onConnection). */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return onConnection(pool, (connection) => connection.transaction(() => work(connection.client)));
}

type AfterCommit = () => void | Promise<void>;

/** A transaction an operation's statements run in, with work to do once it has committed. */
export interface TransactionScope {
  readonly client: PoolClient;
  /** Runs `step` after the commit, outside the transaction (never if it rolls back). */
  afterCommit(step: AfterCommit): void;
}

/**
 * Runs `work` in one transaction on `connection` and returns its result with the steps it left for
 * after the commit (see runAfterCommit): an administrator's change and its audit row commit
 * together, and what reacts to the change (the event relay, the registry's re-read) starts only
 * once it is visible.
 */
export async function inTransactionScope<T>(
  connection: Connection,
  work: (scope: TransactionScope) => Promise<T>,
): Promise<{ readonly result: T; readonly afterCommit: readonly AfterCommit[] }> {
  const afterCommit: AfterCommit[] = [];
  const scope: TransactionScope = { client: connection.client, afterCommit: (step) => afterCommit.push(step) };
  const result = await connection.transaction(() => work(scope));
  return { result, afterCommit };
}

export async function runAfterCommit(steps: readonly AfterCommit[]): Promise<void> {
  for (const step of steps) await step();
}
