import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

/** A direct connection to the test database, for reading what the server really stored. */
export function openTestPool(): Pool {
  return new Pool({ connectionString: process.env.DATABASE_URL, max: 3 });
}

export async function storedProfile(pool: Pool, userID: string): Promise<Record<string, any> | undefined> {
  const { rows } = await pool.query('SELECT * FROM user_profile WHERE user_id = $1', [userID]);
  return rows[0];
}

async function runOnTestServer(statement: string): Promise<void> {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A database of a test file's own on the test database's server, for what the shared one cannot
 * hold (an empty table, a trigger); `drop` removes it, closing any connection left to it.
 */
export async function createOwnDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await runOnTestServer(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => runOnTestServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
