import { PROFILE_FIELDS, uniqueFieldKey } from '../support/custom-fields';
import { createOwnDatabase } from '../support/db';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/**
 * An administrator's change and its audit row commit together. A trigger refuses the SUCCEEDED
 * audit rows of some administrators; their changes must then leave nothing behind. The trigger
 * lives in a database of this file's own, made and dropped here.
 */

const UNAUDITED = 'unaudited_admin';

const SET_PROFILE = `mutation ($id: ID!, $input: UpdateMyProfileInput!) {
  setUserProfile(userID: $id, input: $input) { ${PROFILE_FIELDS} } }`;
const IMPORT = `mutation ($accounts: [ImportAccountInput!]!) { importAccounts(accounts: $accounts) { userID } }`;
const DEFINE = `mutation ($key: String!) { defineProfileCustomField(input: { key: $key }) { key } }`;
const RETIRE = `mutation ($key: String!) { retireProfileCustomField(key: $key) { key retired } }`;

let server: TestServer;
let ownDatabase: Awaited<ReturnType<typeof createOwnDatabase>>;

beforeAll(async () => {
  ownDatabase = await createOwnDatabase('profile_audit');
  server = await startTestServer({ DATABASE_URL: ownDatabase.url, DB_MIGRATE: 'true' });
  await server.app.database.pool.query(`
    CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.actor_id LIKE '${UNAUDITED}%' AND NEW.outcome = 'SUCCEEDED' THEN
        RAISE EXCEPTION 'this audit row is refused';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_audit BEFORE INSERT ON admin_audit FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
});

afterAll(async () => {
  await server?.stop();
  await ownDatabase?.drop();
});

async function query<R extends Record<string, unknown>>(text: string, values: unknown[]): Promise<R[]> {
  return (await server.app.database.pool.query<R>(text, values)).rows;
}

const auditOf = (actorID: string) =>
  query<{ operation: string; outcome: string; error_code: string | null }>(
    'SELECT operation, outcome::text AS outcome, error_code FROM admin_audit WHERE actor_id = $1 ORDER BY id',
    [actorID],
  );

const eventsOf = (userID: string) =>
  query<{ operator: string }>('SELECT operator FROM profile_event WHERE user_id = $1', [userID]);

describe('administrator changes and their audit rows', () => {
  it('keeps a change whose audit row is written, with its event', async () => {
    const actor = uniqueUserID('audited_admin');
    const user = uniqueUserID('member');
    await server.request('{ me { userID } }', { as: user });
    const set = await server.request(SET_PROFILE, {
      as: actor,
      admin: true,
      variables: { id: user, input: { nick: 'audited' } },
    });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setUserProfile.nick).toBe('audited');
    expect(await auditOf(actor)).toEqual([{ operation: 'setUserProfile', outcome: 'SUCCEEDED', error_code: null }]);
    expect(await eventsOf(user)).toEqual([{ operator: actor }]);
  });

  it('changes nothing when the audit row cannot be written, and records the failure', async () => {
    const actor = uniqueUserID(UNAUDITED);
    const user = uniqueUserID('member');
    await server.request('{ me { userID } }', { as: user });
    const newAccount = uniqueUserID('imported');
    const key = uniqueFieldKey();

    const set = await server.request(SET_PROFILE, {
      as: actor,
      admin: true,
      variables: { id: user, input: { nick: 'never stored' } },
    });
    const imported = await server.request(IMPORT, {
      as: actor,
      admin: true,
      variables: { accounts: [{ userID: newAccount }] },
    });
    const defined = await server.request(DEFINE, { as: actor, admin: true, variables: { key } });
    for (const response of [set, imported, defined]) {
      expect(response.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    }

    const me = await server.request('{ me { nick } }', { as: user });
    expect(me.data!.me.nick).toBe('');
    expect(await eventsOf(user)).toEqual([]);
    expect(await query('SELECT 1 FROM user_profile WHERE user_id = $1', [newAccount])).toEqual([]);
    expect(await query('SELECT 1 FROM profile_custom_field WHERE key = $1', [key])).toEqual([]);
    const definitions = await server.request('{ profileCustomFieldDefinitions { key } }', { as: user });
    expect(definitions.data!.profileCustomFieldDefinitions.map((d: { key: string }) => d.key)).not.toContain(key);
    expect(await auditOf(actor)).toEqual(
      ['setUserProfile', 'importAccounts', 'defineProfileCustomField'].map((operation) => ({
        operation,
        outcome: 'FAILED',
        error_code: 'INTERNAL_SERVER_ERROR',
      })),
    );
  });

  it('leaves a retired field in use when retiring it cannot be audited', async () => {
    const key = uniqueFieldKey();
    const defined = await server.request(DEFINE, {
      as: uniqueUserID('audited_admin'),
      admin: true,
      variables: { key },
    });
    expect(defined.errors).toBeUndefined();
    const retired = await server.request(RETIRE, { as: uniqueUserID(UNAUDITED), admin: true, variables: { key } });
    expect(retired.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await query('SELECT retired FROM profile_custom_field WHERE key = $1', [key])).toEqual([{ retired: false }]);
  });
});
