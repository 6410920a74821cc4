import { startAppProcess, type AppProcess } from '../support/app-process';
import {
  customValues,
  defineField,
  DEFINITION_FIELDS,
  eventually,
  PROFILE_FIELDS,
  uniqueFieldKey,
} from '../support/custom-fields';
import { createOwnDatabase } from '../support/db';
import { startTestServer, uniqueUserID, type GraphQLResponse, type TestServer } from '../support/test-server';

const DEFINE = `mutation ($input: ProfileCustomFieldDefinitionInput!) {
  defineProfileCustomField(input: $input) { ${DEFINITION_FIELDS} } }`;
const RETIRE = `mutation ($key: String!) { retireProfileCustomField(key: $key) { ${DEFINITION_FIELDS} } }`;
const UPDATE_MINE = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { ${PROFILE_FIELDS} } }`;
const USERS = `query ($ids: [ID!]!) { users(ids: $ids) { ${PROFILE_FIELDS} } }`;

// Generous: the documented bound is PROFILE_CUSTOM_FIELD_REFRESH_MS (5 s by default); a NOTIFY
// normally arrives within milliseconds. Tests poll and never assert how long it took.
const DEADLINE_MS = 20_000;

jest.setTimeout(90_000);

interface Instance {
  readonly name: string;
  request(
    query: string,
    options: { as: string; admin?: boolean; variables?: Record<string, unknown> },
  ): Promise<GraphQLResponse>;
}

function inProcess(name: string, server: TestServer): Instance {
  return { name, request: (query, options) => server.request(query, options) };
}

/** Starts `node dist/src/main.js` as a separate process on the same database, on a port of its choosing. */
async function spawnServer(
  signer: TestServer,
  env: Record<string, string>,
): Promise<AppProcess & { instance: Instance }> {
  const app = await startAppProcess({ PROFILE_CUSTOM_FIELD_LIMIT: '10000', ...env });
  const instance: Instance = {
    name: 'separate process',
    async request(query, options) {
      const token = await signer.token(options.as, { admin: options.admin });
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables: options.variables }),
      });
      return { ...((await response.json()) as GraphQLResponse), status: response.status };
    },
  };
  return Object.assign(app, { instance });
}

/** True once `instance` accepts a write of `key` (and the value reads back). */
async function canWrite(instance: Instance, userID: string, key: string, value: string): Promise<boolean> {
  const response = await instance.request(UPDATE_MINE, {
    as: userID,
    variables: { input: { profileCustomField: [{ key, value }] } },
  });
  if (response.errors !== undefined) {
    expect(response.errors[0].extensions?.reason).toBe('UNKNOWN_CUSTOM_FIELD');
    return false;
  }
  return customValues(response.data!.updateMyProfile)[key] === value;
}

async function refusesAsRetired(instance: Instance, userID: string, key: string): Promise<boolean> {
  const response = await instance.request(UPDATE_MINE, {
    as: userID,
    variables: { input: { profileCustomField: [{ key, value: 'late' }] } },
  });
  return response.errors?.[0].extensions?.reason === 'FIELD_RETIRED';
}

describe('two server instances on one database', () => {
  let first: TestServer;
  let second: TestServer;
  let spawned: AppProcess | undefined;

  beforeAll(async () => {
    first = await startTestServer();
    // Periodic re-reads so rare that only the change notification can make these tests pass.
    second = await startTestServer({ PROFILE_CUSTOM_FIELD_REFRESH_MS: '600000' });
  });

  afterAll(async () => {
    await spawned?.stop();
    await second?.stop();
    await first?.stop();
  });

  it('a field defined through one instance becomes usable through another process, and retiring it too', async () => {
    const other = await spawnServer(first, { PROFILE_CUSTOM_FIELD_REFRESH_MS: '600000' });
    spawned = other;
    const instances = [inProcess('second in-process instance', second), other.instance];

    const key = uniqueFieldKey();
    const defined = await first.request(DEFINE, {
      as: 'definer',
      admin: true,
      variables: { input: { key, read: 'PRIVATE' } },
    });
    expect(defined.errors).toBeUndefined();

    for (const instance of instances) {
      const owner = uniqueUserID();
      await eventually(() => canWrite(instance, owner, key, `via ${instance.name}`), DEADLINE_MS);
      // The definition's read permission holds there too: another user does not see the value.
      const seen = await instance.request(USERS, { as: uniqueUserID(), variables: { ids: [owner] } });
      expect(customValues(seen.data!.users[0])[key]).toBeUndefined();
      const own = await instance.request(USERS, { as: owner, variables: { ids: [owner] } });
      expect(customValues(own.data!.users[0])[key]).toBe(`via ${instance.name}`);
    }

    // Retired through the separate process: the in-process instances learn it.
    const retired = await other.instance.request(RETIRE, { as: 'retirer', admin: true, variables: { key } });
    expect(retired.errors).toBeUndefined();
    for (const server of [first, second]) {
      const user = uniqueUserID();
      await eventually(() => refusesAsRetired(inProcess('in-process', server), user, key), DEADLINE_MS);
    }

    spawned = undefined;
    expect(await other.stop()).toBe(0);
  });

  it('the periodic re-read picks up a change even when no notification is sent', async () => {
    const polling = await startTestServer({ PROFILE_CUSTOM_FIELD_REFRESH_MS: '200' });
    try {
      const key = uniqueFieldKey();
      const client = await polling.app.database.pool.connect();
      try {
        await client.query('BEGIN');
        // Replica mode skips the table's NOTIFY trigger, as if the notification were lost.
        await client.query('SET LOCAL session_replication_role = replica');
        await client.query('INSERT INTO profile_custom_field (key) VALUES ($1)', [key]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const user = uniqueUserID();
      await eventually(() => canWrite(inProcess('polling', polling), user, key, 'polled'), DEADLINE_MS);
    } finally {
      await polling.stop();
    }
  });
});

describe('the profile read path', () => {
  it('costs one SQL statement per request whatever the registry holds', async () => {
    // Its own database: no other test's definitions make its registry re-read during the count.
    const database = await createOwnDatabase('profile_registry_reads');
    const server = await startTestServer({
      DATABASE_URL: database.url,
      DB_MIGRATE: 'true',
      PROFILE_CUSTOM_FIELD_REFRESH_MS: '600000',
    });
    try {
      // Every statement on the pool counts, the registry's re-reads included; only the relay is stopped.
      await server.app.services.profileEvents.relay.stop();
      const keys = Array.from({ length: 5 }, () => uniqueFieldKey());
      for (const key of keys) await defineField(server, key);
      const ids = [uniqueUserID(), uniqueUserID(), uniqueUserID()];
      for (const id of ids) {
        const written = await server.request(UPDATE_MINE, {
          as: id,
          variables: { input: { profileCustomField: keys.map((key) => ({ key, value: id })) } },
        });
        expect(written.errors).toBeUndefined();
      }
      const before = server.statements();
      const response = await server.request(USERS, { as: ids[0], variables: { ids } });
      expect(response.data!.users).toHaveLength(3);
      expect(customValues(response.data!.users[2])[keys[4]]).toBe(ids[2]);
      expect(server.statements() - before).toBe(1);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});

describe("the registry's LISTEN connection", () => {
  it('re-reads the registry once it is back, catching up on what was not announced', async () => {
    // Its own database: the listener to cut is the only registry listener connected to it.
    const database = await createOwnDatabase('profile_registry_listen');
    const server = await startTestServer({
      DATABASE_URL: database.url,
      DB_MIGRATE: 'true',
      PROFILE_CUSTOM_FIELD_REFRESH_MS: '600000',
    });
    try {
      const key = uniqueFieldKey();
      const client = await server.app.database.pool.connect();
      try {
        await client.query('BEGIN');
        // Replica mode skips the table's NOTIFY trigger: no listener hears of this definition.
        await client.query('SET LOCAL session_replication_role = replica');
        await client.query('INSERT INTO profile_custom_field (key) VALUES ($1)', [key]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const user = uniqueUserID();
      expect(await canWrite(inProcess('listening', server), user, key, 'x')).toBe(false);

      const listener = `SELECT pid FROM pg_stat_activity WHERE application_name = 'profile-service-registry' AND datname = current_database()`;
      const { rows } = await server.app.database.pool.query<{ pid: number }>(listener);
      expect(rows).toHaveLength(1);
      await server.app.database.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);

      await eventually(() => canWrite(inProcess('reconnected', server), user, key, 'caught up'), DEADLINE_MS);
      const { rows: after } = await server.app.database.pool.query<{ pid: number }>(listener);
      expect(after).toHaveLength(1);
      expect(after[0].pid).not.toBe(rows[0].pid);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});
