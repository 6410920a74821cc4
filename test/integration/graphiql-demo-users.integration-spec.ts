import { openDatabase, type Database } from '../../src/db/database';
import { DEMO_USERS, seedDemoUsers } from '../../src/graphiql/demo-users';
import { createOwnDatabase } from '../support/db';

/**
 * Seeding needs an empty profile table, which the shared test database never has: this file
 * makes its own database on the same server, migrates it, and drops it afterwards.
 */

let ownDatabase: Awaited<ReturnType<typeof createOwnDatabase>>;
let database: Database;

beforeAll(async () => {
  ownDatabase = await createOwnDatabase('profile_seed');
  database = await openDatabase(ownDatabase.url, { poolMax: 2, migrate: true });
});

// The database is this file's alone: each test starts from an empty profile table.
beforeEach(async () => {
  await database.pool.query('DELETE FROM user_profile');
});

afterAll(async () => {
  await database?.close();
  await ownDatabase?.drop();
});

it('fills an empty database with the demo profiles once', async () => {
  expect(await seedDemoUsers(database.pool)).toBe(DEMO_USERS.length);
  const { rows } = await database.pool.query(
    `SELECT user_id, nick, gender::text AS gender, self_signature, location, birthday::int AS birthday
     FROM user_profile ORDER BY user_id`,
  );
  expect(rows).toEqual(
    [...DEMO_USERS]
      .sort((a, b) => a.userID.localeCompare(b.userID))
      .map((user) => ({
        user_id: user.userID,
        nick: user.nick,
        gender: user.gender,
        self_signature: user.selfSignature,
        location: user.location,
        birthday: user.birthday,
      })),
  );

  expect(await seedDemoUsers(database.pool)).toBe(0);
  const { rows: count } = await database.pool.query('SELECT count(*)::int AS n FROM user_profile');
  expect(count[0].n).toBe(DEMO_USERS.length);
});

it('leaves a database that has any profile alone, even without the demo users', async () => {
  await database.pool.query(`INSERT INTO user_profile (user_id, nick) VALUES ('someone_real', 'Real')`);
  expect(await seedDemoUsers(database.pool)).toBe(0);
  const { rows } = await database.pool.query('SELECT user_id FROM user_profile');
  expect(rows).toEqual([{ user_id: 'someone_real' }]);
});
