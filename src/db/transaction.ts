import { AsyncLocalStorage } from 'node:async_hooks';
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

interface SharedTransaction {
  readonly pool: Pool;
  readonly client: PoolClient;
  readonly afterCommit: AfterCommit[];
}

const shared = new AsyncLocalStorage<SharedTransaction>();

/**
 * Runs `work` in one transaction that the statements made inside it through `connectionFor` and
 * `joinOrBegin` take part in, wherever in the call tree they are made: an administrator's change and
 * its audit row commit together or not at all. Work registered with `afterCommit` inside it runs
 * once the transaction has committed, outside it (so background work it starts, such as the event
 * relay, never picks up this connection); `runAfterCommit` runs it.
 */
export async function inSharedTransaction<T>(
  pool: Pool,
  work: () => Promise<T>,
): Promise<{ readonly result: T; readonly afterCommit: readonly AfterCommit[] }> {
  const afterCommit: AfterCommit[] = [];
  const result = await inTransaction(pool, (client) => shared.run({ pool, client, afterCommit }, work));
  return { result, afterCommit };
}

export async function runAfterCommit(steps: readonly AfterCommit[]): Promise<void> {
  for (const step of steps) await step();
}

/** The shared transaction's connection when there is one on this pool, else the pool. */
export function connectionFor(pool: Pool): Pool | PoolClient {
  const current = shared.getStore();
  return current?.pool === pool ? current.client : pool;
}

/** `work` on the shared transaction's connection when there is one on this pool, else in its own transaction. */
export function joinOrBegin<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const current = shared.getStore();
  return current?.pool === pool ? work(current.client) : inTransaction(pool, work);
}

/** Runs `step` after the shared transaction commits, or now (returning what it returns) when there is none. */
export function afterCommit(step: AfterCommit): void | Promise<void> {
  const current = shared.getStore();
  if (current === undefined) return step();
  current.afterCommit.push(step);
}
