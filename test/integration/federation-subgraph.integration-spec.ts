import { defineField, eventually, uniqueFieldKey } from '../support/custom-fields';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { __typename ... on User { userID nick } }
}`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  // Statements are counted on the server's pool: only requests may send any.
  await server.stopBackgroundWork();
});

afterAll(async () => {
  await server?.stop();
});

async function createUser(userID: string, nick: string): Promise<void> {
  const result = await server.request(
    `mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`,
    {
      as: userID,
      variables: { input: { nick } },
    },
  );
  expect(result.errors).toBeUndefined();
}

describe('_service { sdl }', () => {
  it('answers without a token, with the federation link and the User key', async () => {
    const result = await server.request('{ _service { sdl } }');
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    const sdl: string = result.data!._service.sdl;
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "userID"\)/);
    expect(sdl).toContain('users(');
  });
});

describe('_entities', () => {
  it('resolves 100 representations in their order with one SQL statement, null for IDs with no account', async () => {
    const existing = Array.from({ length: 60 }, () => uniqueUserID('fed'));
    for (const [index, userID] of existing.entries()) await createUser(userID, `nick ${index}`);
    const missing = Array.from({ length: 40 }, () => uniqueUserID('none'));
    // Interleave known and unknown IDs so order and nulls are both checked.
    const ids = [...existing, ...missing].sort();
    expect(ids).toHaveLength(100);
    const viewer = existing[0];

    const before = server.statements();
    const result = await server.request(ENTITIES, {
      as: viewer,
      variables: { representations: ids.map((userID) => ({ __typename: 'User', userID })) },
    });
    const statements = server.statements() - before;

    expect(result.errors).toBeUndefined();
    const entities = result.data!._entities as Array<{ __typename: string; userID: string; nick: string } | null>;
    expect(entities).toHaveLength(100);
    entities.forEach((entity, index) => {
      const userID = ids[index];
      if (existing.includes(userID)) {
        expect(entity).toEqual({ __typename: 'User', userID, nick: `nick ${existing.indexOf(userID)}` });
      } else {
        expect(entity).toBeNull();
      }
    });
    expect(statements).toBe(1);
  });

  it('answers a repeated representation each time and an invalid ID with null', async () => {
    const userID = uniqueUserID('fed');
    await createUser(userID, 'Repeated');
    const result = await server.request(ENTITIES, {
      as: userID,
      variables: {
        representations: [
          { __typename: 'User', userID },
          { __typename: 'User', userID: 'x'.repeat(33) },
          { __typename: 'User', userID },
        ],
      },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities).toEqual([
      { __typename: 'User', userID, nick: 'Repeated' },
      null,
      { __typename: 'User', userID, nick: 'Repeated' },
    ]);
  });

  it('requires a token, as users(ids:) does', async () => {
    const userID = uniqueUserID('fed');
    await createUser(userID, 'Private');
    const result = await server.request(ENTITIES, {
      variables: { representations: [{ __typename: 'User', userID }] },
    });
    expect(result.data?._entities ?? [null]).toEqual([null]);
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(result.errors![0].extensions?.reason).toBe('MISSING_TOKEN');
  });

  it.each([
    ['a type that does not exist', { __typename: 'Nope', userID: 'a' }],
    ['a type that is not an entity', { __typename: 'ProfileCustomField', key: 'k', value: 'v' }],
    ['the root type', { __typename: 'Query' }],
    ['a representation without __typename', { userID: 'a' }],
    ['a representation that is not an object', 'User'],
  ])('rejects %s as BAD_USER_INPUT with a reason, not an internal error', async (_case, bad) => {
    const viewer = uniqueUserID('fed');
    const result = await server.request(ENTITIES, {
      as: viewer,
      variables: { representations: [{ __typename: 'User', userID: viewer }, bad] },
    });
    expect(result.status).toBe(200);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'representations[1]',
      reason: 'UNKNOWN_ENTITY_TYPE',
    });
    expect(result.errors![0].extensions?.stacktrace).toBeUndefined();
  });

  it('shows each viewer what users(ids:) shows it: PRIVATE custom fields only to the owner', async () => {
    const owner = uniqueUserID('fedpriv');
    const key = uniqueFieldKey();
    await defineField(server, key, { read: 'PRIVATE' });
    const set = `mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`;
    await eventually(async () => {
      const result = await server.request(set, {
        as: owner,
        variables: { input: { profileCustomField: [{ key, value: 'only mine' }] } },
      });
      return result.errors === undefined;
    });
    const query = `query($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on User { userID profileCustomField { key value } } }
    }`;
    const representations = [{ __typename: 'User', userID: owner }];
    const asOther = await server.request(query, { as: uniqueUserID('fedother'), variables: { representations } });
    expect(asOther.data!._entities).toEqual([{ userID: owner, profileCustomField: [] }]);
    const asOwner = await server.request(query, { as: owner, variables: { representations } });
    expect(asOwner.data!._entities).toEqual([{ userID: owner, profileCustomField: [{ key, value: 'only mine' }] }]);
  });
});
