import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { startApp, type RunningApp } from '../../src/app';
import { issueToken } from '../../src/auth/token-issuer';
import { loadConfig } from '../../src/config';
import { CustomFieldRepository } from '../../src/custom-field/custom-field.repository';
import { createSqlRunner } from '../../src/db/sql-runner';
import type { ProfilePatch } from '../../src/user/user.rules';
import { uniqueFieldKey } from '../support/custom-fields';
import { createOwnDatabase } from '../support/db';
import { TEST_JWT_SECRET, uniqueUserID } from '../support/test-server';

/**
 * A data exception (SQLSTATE class 22) is the client's mistake only when a statement's
 * client-supplied parameters cause it; any other is a bug of ours: masked as INTERNAL_SERVER_ERROR
 * and logged in full. A trigger that divides by zero on some updates stands in for such a bug; it
 * lives in a database of this file's own.
 */

const BUGGY_NICK = 'divides by zero';
const UPDATE_MINE = `mutation ($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }`;
const SET_PROFILE = `mutation ($id: ID!, $nick: String!) { setUserProfile(userID: $id, input: { nick: $nick }) { nick } }`;

let ownDatabase: Awaited<ReturnType<typeof createOwnDatabase>>;
let app: RunningApp;
const logged: Array<Record<string, any>> = [];

beforeAll(async () => {
  ownDatabase = await createOwnDatabase('profile_data_exceptions');
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: ownDatabase.url,
    DB_MIGRATE: 'true',
    DB_POOL_MAX: '3',
    JWT_SECRET: TEST_JWT_SECRET,
    RATE_LIMIT_WRITES_PER_USER: '0',
    RATE_LIMIT_WRITES_PER_IP: '0',
  });
  const lines = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logged.push(JSON.parse(line));
      done();
    },
  });
  app = await startApp(config, pino({ level: 'error' }, lines));
  await app.database.pool.query(`
    CREATE FUNCTION buggy_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.nick = '${BUGGY_NICK}' THEN PERFORM 1 / 0; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER buggy_update BEFORE UPDATE ON user_profile FOR EACH ROW EXECUTE FUNCTION buggy_update();`);
});

afterAll(async () => {
  await app?.stop();
  await ownDatabase?.drop();
});

async function request(query: string, variables: Record<string, unknown>, userID: string, admin = false) {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await issueToken(TEST_JWT_SECRET, userID, { admin })}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: Array<{ extensions?: Record<string, unknown> }> };
}

function divisionByZeroLogged(): boolean {
  return logged.some((line) => line.msg === 'unexpected error while answering a request' && line.err?.code === '22012');
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('Postgres accepted the statement'),
    (error: unknown) => error,
  );
}

describe('a data exception of ours', () => {
  beforeEach(() => {
    logged.length = 0;
  });

  it('in an update is INTERNAL_SERVER_ERROR, logged in full', async () => {
    const user = uniqueUserID();
    expect((await request(UPDATE_MINE, { nick: 'before' }, user)).errors).toBeUndefined();
    const response = await request(UPDATE_MINE, { nick: BUGGY_NICK }, user);
    expect(response.errors?.[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(divisionByZeroLogged()).toBe(true);
  });

  it("in an administrator's change is INTERNAL_SERVER_ERROR, logged, and audited as FAILED", async () => {
    const user = uniqueUserID();
    const admin = uniqueUserID('admin');
    await request(UPDATE_MINE, { nick: 'before' }, user);
    const response = await request(SET_PROFILE, { id: user, nick: BUGGY_NICK }, admin, true);
    expect(response.errors?.[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(divisionByZeroLogged()).toBe(true);
    const { rows } = await app.database.pool.query(
      'SELECT outcome::text AS outcome, error_code FROM admin_audit WHERE actor_id = $1',
      [admin],
    );
    expect(rows).toEqual([{ outcome: 'FAILED', error_code: 'INTERNAL_SERVER_ERROR' }]);
  });

  it.each([
    ['SELECT 1 / 0', '22012'],
    [`SELECT 'x'::int`, '22P02'],
    [`SELECT '2024-13-45'::date`, '22008'],
  ])('from the runner (%s) is returned as it is', async (text, code) => {
    const error = await rejectionOf(createSqlRunner(app.database.pool).query({ text }));
    expect(error).not.toBeInstanceOf(GraphQLError);
    expect((error as { code?: string }).code).toBe(code);
  });
});

describe('a value of the client that Postgres refuses', () => {
  const patch = (standard: ProfilePatch['standard'], customSet: Record<string, string> = {}): ProfilePatch => ({
    standard,
    customSet,
    customRemove: [],
  });

  // Input validation refuses these first; these calls skip it, to reach the statements themselves.
  it.each([
    ['a NUL in a text value', patch({ nick: 'a\u0000b' }), 'INVALID_CHARACTERS'],
    ['a NUL in a custom value', patch({}, { Tag_Profile_Custom_X: 'a\u0000b' }), 'INVALID_CHARACTERS'],
    ['a number beyond smallint', patch({ messageSettings: 70_000 }), 'INVALID_VALUE'],
  ])('in a profile update (%s) is BAD_USER_INPUT', async (_name, change, reason) => {
    const user = uniqueUserID();
    await app.services.profileRepository.createIfMissing(user);
    const error = await rejectionOf(app.services.profileRepository.applyPatch(user, change, user));
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input', reason });
  });

  it('in an import is BAD_USER_INPUT', async () => {
    const error = await rejectionOf(
      app.services.profileRepository.importAccounts([{ userID: uniqueUserID(), nick: 'a\u0000b' }], 'admin'),
    );
    expect((error as GraphQLError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_CHARACTERS' });
  });

  it('in a custom field definition is BAD_USER_INPUT', async () => {
    const repository = new CustomFieldRepository(app.database.pool);
    const error = await rejectionOf(repository.define({ key: uniqueFieldKey(), description: 'a\u0000b' }, 10_000));
    expect((error as GraphQLError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_CHARACTERS' });
  });
});
