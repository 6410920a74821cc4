import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { customValues, DEFINITION_FIELDS, eventually, PROFILE_FIELDS, uniqueFieldKey } from '../support/custom-fields';
import {
  startTestServer,
  TEST_JWT_SECRET,
  uniqueUserID,
  type GraphQLResponse,
  type TestServer,
} from '../support/test-server';

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

/** Starts `node dist/src/main.js` as a separate process on the same database. */
async function spawnServer(
  signer: TestServer,
  env: Record<string, string>,
): Promise<{ instance: Instance; child: ChildProcess }> {
  const port = 4400 + Math.floor(Math.random() * 100);
  const output: string[] = [];
  const child = spawn(process.execPath, [path.resolve(__dirname, '../../dist/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: process.env.DATABASE_URL ?? '',
      JWT_SECRET: TEST_JWT_SECRET,
      DB_MIGRATE: 'false',
      PROFILE_CUSTOM_FIELD_LIMIT: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}/graphql`;
  const instance: Instance = {
    name: 'separate process',
    async request(query, options) {
      const token = await signer.token(options.as, { admin: options.admin });
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables: options.variables }),
      });
      return { ...((await response.json()) as GraphQLResponse), status: response.status };
    },
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`the server process exited (${child.exitCode}): ${output.join('')}`);
      try {
        const response = await instance.request('{ me { userID } }', { as: uniqueUserID() });
        return response.data?.me !== undefined;
      } catch {
        return false;
      }
    }, DEADLINE_MS);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { instance, child };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
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
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    first = await startTestServer();
    // Periodic re-reads so rare that only the change notification can make these tests pass.
    second = await startTestServer({ PROFILE_CUSTOM_FIELD_REFRESH_MS: '600000' });
  });

  afterAll(async () => {
    if (child !== undefined) await stopProcess(child);
    await second?.stop();
    await first?.stop();
  });

  it('a field defined through one instance becomes usable through another process, and retiring it too', async () => {
    const spawned = await spawnServer(first, { PROFILE_CUSTOM_FIELD_REFRESH_MS: '600000' });
    child = spawned.child;
    const instances = [inProcess('second in-process instance', second), spawned.instance];

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
    const retired = await spawned.instance.request(RETIRE, { as: 'retirer', admin: true, variables: { key } });
    expect(retired.errors).toBeUndefined();
    for (const server of [first, second]) {
      const user = uniqueUserID();
      await eventually(() => refusesAsRetired(inProcess('in-process', server), user, key), DEADLINE_MS);
    }

    await stopProcess(spawned.child);
    expect(spawned.child.exitCode).toBe(0);
    child = undefined;
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
    const server = await startTestServer();
    try {
      const ids = [uniqueUserID(), uniqueUserID(), uniqueUserID()];
      for (const id of ids) await server.request('{ me { userID } }', { as: id });
      const before = server.statements();
      const response = await server.request(USERS, { as: ids[0], variables: { ids } });
      expect(response.data!.users).toHaveLength(3);
      expect(server.statements() - before).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
