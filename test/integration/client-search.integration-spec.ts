import { randomBytes } from 'node:crypto';
import { createProfileClient, ERROR_CODE, ProfileClientError, TYPES, type ProfileClient } from '../../src/client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
/** A word no other test writes into a nickname. */
const token = `q${randomBytes(4).toString('hex')}`;
const people = {
  ann: uniqueUserID('cs'),
  bo: uniqueUserID('cs'),
  cy: uniqueUserID('cs'),
};

beforeAll(async () => {
  server = await startTestServer({ SEARCH_RATE_LIMIT_PER_USER: '0' });
  const update = `mutation ($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { userID } }`;
  for (const [userID, input] of [
    [people.ann, { nick: `${token} Ann 小明`, gender: 'FEMALE', birthday: 19900101 }],
    [people.bo, { nick: `Bo ${token}`, gender: 'MALE', birthday: 20000101 }],
    [people.cy, { nick: `Cy ${token} 小明`, gender: 'FEMALE', birthday: 0 }],
  ] as const) {
    const response = await server.request(update, { as: userID, variables: { input } });
    expect(response.errors).toBeUndefined();
  }
});
afterAll(() => server.stop());

function counting(): { client: ProfileClient; requests: () => number } {
  let requests = 0;
  const client = createProfileClient({
    url: server.url,
    getToken: () => server.token('cs_searcher'),
    fetch: (...args) => {
      requests += 1;
      return fetch(...args);
    },
  });
  return { client, requests: () => requests };
}

async function rejection(promise: Promise<unknown>): Promise<ProfileClientError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProfileClientError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const ids = (list: Array<{ userID: string }>) => list.map((profile) => profile.userID);

test('searchCloudUsers resolves { code: 0, data: { searchResultList, cursor } } with familiar profiles', async () => {
  const { client } = counting();
  const result = await client.searchCloudUsers({ keywordList: [token] });
  expect(Object.keys(result).sort()).toEqual(['code', 'data']);
  expect(result.code).toBe(0);
  expect(Object.keys(result.data).sort()).toEqual(['cursor', 'searchResultList']);
  // Ann's nickname starts with the keyword; the others by user ID.
  expect(ids(result.data.searchResultList)).toEqual([people.ann, ...[people.bo, people.cy].sort()]);
  expect(result.data.cursor).toBe('');
  expect(result.data.searchResultList[0]).toMatchObject({
    userID: people.ann,
    nick: `${token} Ann 小明`,
    gender: TYPES.GENDER_FEMALE,
    birthday: 19900101,
    lastUpdatedTime: expect.any(Number),
  });
});

test("maps Tencent's option names and values: match type, gender (both names), birthdays, count and cursor", async () => {
  const { client } = counting();
  const search = (options: object) =>
    client.searchCloudUsers({ keywordList: [token], ...options }).then((result) => ids(result.data.searchResultList));
  expect(await client.searchCloudUsers({ keywordList: [token, 'Ann'], keywordListMatchType: 'and' })).toMatchObject({
    data: { searchResultList: [{ userID: people.ann }] },
  });
  // Both nicknames start with one of the keywords: one group, by user ID.
  expect(await search({ keywordList: [`${token} Ann`, `Bo ${token}`], keywordListMatchType: 'or' })).toEqual(
    [people.ann, people.bo].sort(),
  );
  expect(await search({ userGenderType: TYPES.GENDER_MALE })).toEqual([people.bo]);
  expect(await search({ gender: TYPES.GENDER_MALE })).toEqual([people.bo]);
  expect(await search({ userGenderType: [TYPES.GENDER_MALE, TYPES.GENDER_FEMALE] })).toHaveLength(3);
  // Only miniBirthday: no upper bound, and nobody without a birthday.
  expect(await search({ miniBirthday: 19950101 })).toEqual([people.bo]);
  expect(await search({ miniBirthday: 19800101, maxBirthday: 19991231 })).toEqual([people.ann]);

  const first = await client.searchCloudUsers({ keywordList: [token], count: 2 });
  expect(first.data.searchResultList).toHaveLength(2);
  expect(first.data.cursor).not.toBe('');
  const second = await client.searchCloudUsers({ keywordList: [token], count: 2, cursor: first.data.cursor });
  expect(ids([...first.data.searchResultList, ...second.data.searchResultList])).toEqual(
    await search({ count: 100, cursor: '' }),
  );
  expect(second.data.cursor).toBe('');
});

test('checks the options before sending, as the familiar SDK does', async () => {
  const { client, requests } = counting();
  for (const options of [
    {},
    { keywordList: [] },
    { keywordList: ['a', 'b', 'c', 'd', 'e', 'f'] },
    { keywordList: [1] },
    { keywordList: [token], keywordListMatchType: 'xor' },
    { keywordList: [token], userGenderType: 'male' },
    { keywordList: [token], count: 0 },
    { keywordList: [token], count: 101 },
    { keywordList: [token], count: 1.5 },
    { keywordList: [token], miniBirthday: '19900101' },
    { keywordList: [token], cursor: 7 },
  ]) {
    const error = await rejection(client.searchCloudUsers(options as never));
    expect(error.code).toBe(ERROR_CODE.INVALID_PARAMETER);
  }
  expect(requests()).toBe(0);
});

test("answers the server's refusals with the familiar codes: a bad cursor, too many searches", async () => {
  const { client } = counting();
  const forged = await rejection(client.searchCloudUsers({ keywordList: [token], cursor: 'forged' }));
  expect(forged.code).toBe(ERROR_CODE.INVALID_VALUE);
  expect(forged.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.after' });

  const limited = await startTestServer({ SEARCH_RATE_LIMIT_PER_USER: '1', SEARCH_RATE_LIMIT_WINDOW_SECONDS: '86400' });
  try {
    const userID = uniqueUserID('cs');
    const limitedClient = createProfileClient({ url: limited.url, getToken: () => limited.token(userID) });
    await limitedClient.searchCloudUsers({ keywordList: [token] });
    const error = await rejection(limitedClient.searchCloudUsers({ keywordList: [token] }));
    expect(error.code).toBe(ERROR_CODE.OVER_FREQUENCY_LIMIT);
    expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', scope: 'USER' });
  } finally {
    await limited.stop();
  }
});
