import { Pool } from 'pg';

/** A direct connection to the test database, for reading what the server really stored. */
export function openTestPool(): Pool {
  return new Pool({ connectionString: process.env.DATABASE_URL, max: 3 });
}

export async function storedProfile(pool: Pool, userID: string): Promise<Record<string, any> | undefined> {
  const { rows } = await pool.query('SELECT * FROM user_profile WHERE user_id = $1', [userID]);
  return rows[0];
}
