import { randomBytes } from 'node:crypto';
import { PROFILE_FIELDS as FIELD_TABLE, STANDARD_FIELDS } from '../../src/user/profile-fields';
import { defineField, uniqueFieldKey } from '../support/custom-fields';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const UPDATE = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`;
const SET = `mutation ($id: ID!, $input: UpdateMyProfileInput!) { setUserProfile(userID: $id, input: $input) { userID } }`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_WRITES_PER_USER: '1000' });
});

afterAll(async () => {
  await server.stop();
});

/** Every base table of the database, whoever created it. */
async function tables(): Promise<string[]> {
  const { rows } = await server.app.database.pool.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  return rows.map((row) => row.name);
}

/** Per table, how many rows hold `needle` in any column (each row read as its text form). */
async function rowsHolding(needle: string): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const table of await tables()) {
    const { rows } = await server.app.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} AS t WHERE strpos(t::text, $1) > 0`,
      [needle],
    );
    if (rows[0].n > 0) found[table] = rows[0].n;
  }
  return found;
}

/**
 * A profile with a marker in every field the table declares (text fields: a marker string; numbers:
 * a marker number each; choices and enums: a value other than the default), in custom fields of
 * every kind (PUBLIC, PRIVATE, written by an administrator), in its history and its rate-limit window.
 */
async function markedAccount(): Promise<{ userID: string; markers: string[] }> {
  const userID = uniqueUserID('erase');
  const text = `mk${randomBytes(5).toString('hex')}`;
  const markers = [text];
  const input: Record<string, unknown> = {};
  let number = 3_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000;
  for (const field of STANDARD_FIELDS) {
    const spec = FIELD_TABLE[field];
    if (spec.write === 'ADMIN') continue;
    if (spec.kind === 'text') input[field] = field === 'avatar' ? `https://example.test/${text}.png` : text;
    else if (spec.kind === 'uint32') {
      number += 1;
      // A birthday must be a real date (YYYYMMDD): one in 1901-1909, which nothing else here spells.
      const value =
        field === 'birthday' ? 19010101 + (number % 9) * 10000 + (number % 12) * 100 + (number % 28) : number;
      input[field] = value;
      markers.push(String(value));
    } else if (spec.kind === 'choice') input[field] = spec.values[spec.values.length - 1];
    else input[field] = Object.values(spec.values)[Object.values(spec.values).length - 1];
  }
  const [publicKey, privateKey, adminKey] = [uniqueFieldKey(), uniqueFieldKey(), uniqueFieldKey()];
  await defineField(server, publicKey);
  await defineField(server, privateKey, { read: 'PRIVATE' });
  await defineField(server, adminKey, { write: 'ADMIN' });
  input.profileCustomField = [
    { key: publicKey, value: `${text}-public` },
    { key: privateKey, value: `${text}-private` },
  ];
  const updated = await server.request(UPDATE, { as: userID, variables: { input } });
  expect(updated.errors).toBeUndefined();
  const adminInput: Record<string, unknown> = { profileCustomField: [{ key: adminKey, value: `${text}-admin` }] };
  for (const field of STANDARD_FIELDS) {
    const spec = FIELD_TABLE[field];
    if (spec.write !== 'ADMIN') continue;
    if (spec.kind === 'enum') adminInput[field] = Object.values(spec.values)[Object.values(spec.values).length - 1];
  }
  const set = await server.request(SET, {
    as: 'erasing_admin',
    admin: true,
    variables: { id: userID, input: adminInput },
  });
  expect(set.errors).toBeUndefined();
  // A second change, so the history holds more than one event.
  await server.request(UPDATE, { as: userID, variables: { input: { selfSignature: `${text} again` } } });
  return { userID, markers };
}

it.each([
  ['deleteMyAccount', (userID: string) => server.request(`mutation { deleteMyAccount }`, { as: userID })],
  [
    'deleteAccounts',
    (userID: string) =>
      server.request(`mutation ($ids: [ID!]!) { deleteAccounts(ids: $ids) { deleted } }`, {
        as: 'erasing_admin',
        admin: true,
        variables: { ids: [userID] },
      }),
  ],
])('%s leaves no value of the user anywhere in the database', async (_operation, erase) => {
  const { userID, markers } = await markedAccount();
  // The search finds what is there: each marker is stored before the erasure.
  for (const marker of markers) {
    expect(Object.keys(await rowsHolding(marker))).toEqual(
      expect.arrayContaining(['public.user_profile', 'public.profile_event']),
    );
  }
  expect(await rowsHolding(`user:${userID}`)).toEqual({ 'public.rate_limit_counter': 1 });

  const response = await erase(userID);
  expect(response.errors).toBeUndefined();

  for (const marker of markers) expect(await rowsHolding(marker)).toEqual({});
  // What is left of the ID: the audit of administrators' actions and the deletion event (no values).
  const left = await rowsHolding(userID);
  expect(Object.keys(left).sort()).toEqual(['public.admin_audit', 'public.profile_event']);
  const { rows } = await server.app.database.pool.query<{ event_type: string; changed: string }>(
    `SELECT event_type::text, changed_fields::text || changed_custom_fields::text AS changed
     FROM profile_event WHERE user_id = $1`,
    [userID],
  );
  expect(rows).toEqual([{ event_type: 'ACCOUNT_DELETED', changed: '{}{}' }]);
});
