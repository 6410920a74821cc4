import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` in one transaction on one pool connection. A connection the server ends between
 * two statements reports it as an 'error' event, which would crash the process without a
 * listener; such a connection (or one that cannot roll back) is discarded, not reused.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onConnectionError = (error: Error) => (broken ??= error);
  client.on('error', onConnectionError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken ??= rollbackError));
    throw error;
  } finally {
    client.removeListener('error', onConnectionError);
    client.release(broken);
  }
}

type AfterCommit = () => void | Promise<void>;

/** A transaction an operation's statements run in, with work to do once it has committed. */
export interface TransactionScope {
  readonly client: PoolClient;
  /** Runs `step` after the commit, outside the transaction (never if it rolls back). */
  afterCommit(step: AfterCommit): void;
}

/**
 * Runs `work` in one transaction and returns its result with the steps it left for after the
 * commit (see runAfterCommit): an administrator's change and its audit row commit together, and
 * what reacts to the change (the event relay, the registry's re-read) starts only once it is visible.
 */
export async function inTransactionScope<T>(
  pool: Pool,
  work: (scope: TransactionScope) => Promise<T>,
): Promise<{ readonly result: T; readonly afterCommit: readonly AfterCommit[] }> {
  const afterCommit: AfterCommit[] = [];
  const result = await inTransaction(pool, (client) => work({ client, afterCommit: (step) => afterCommit.push(step) }));
  return { result, afterCommit };
}

export async function runAfterCommit(steps: readonly AfterCommit[]): Promise<void> {
  for (const step of steps) await step();
}
