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
