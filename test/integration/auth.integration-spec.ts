import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { createSecretKey } from 'node:crypto';
import { startTestServer, TEST_JWT_SECRET, uniqueUserID, type TestServer } from '../support/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const secretKey = createSecretKey(Buffer.from(TEST_JWT_SECRET));
const OPERATIONS = {
  me: '{ me { userID } }',
  users: '{ users(ids: ["someone"]) { userID } }',
  updateMyProfile: 'mutation { updateMyProfile(input: { nick: "x" }) { userID } }',
};

function sign(claims: Record<string, unknown>, alg = 'HS256') {
  return new SignJWT(claims).setProtectedHeader({ alg });
}

async function expectUnauthenticated(headers: Record<string, string>, reason: string) {
  for (const [name, query] of Object.entries(OPERATIONS)) {
    const response = await server.request(query, { headers });
    expect({ name, data: response.data, errors: response.errors?.map((e) => e.extensions) }).toEqual({
      name,
      data: null,
      errors: [{ code: 'UNAUTHENTICATED', reason }],
    });
  }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

test('no Authorization header', async () => {
  await expectUnauthenticated({}, 'MISSING_TOKEN');
});

test('a header that is not a bearer token', async () => {
  await expectUnauthenticated({ authorization: 'Basic dXNlcjpwYXNz' }, 'INVALID_TOKEN');
  await expectUnauthenticated({ authorization: 'Bearer' }, 'INVALID_TOKEN');
});

test('garbage in place of a token', async () => {
  await expectUnauthenticated(bearer('not.a.jwt'), 'INVALID_TOKEN');
});

test('a token signed with another secret', async () => {
  const token = await sign({ sub: 'mallory', exp: inAnHour() }).sign(createSecretKey(Buffer.from('x'.repeat(40))));
  await expectUnauthenticated(bearer(token), 'INVALID_TOKEN');
});

test('an expired token', async () => {
  const token = await sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 }).sign(secretKey);
  await expectUnauthenticated(bearer(token), 'TOKEN_EXPIRED');
});

test('a token without exp', async () => {
  const token = await sign({ sub: 'alice' }).sign(secretKey);
  await expectUnauthenticated(bearer(token), 'INVALID_TOKEN');
});

test('a token without sub, or with a sub that is no valid user ID', async () => {
  await expectUnauthenticated(bearer(await sign({ exp: inAnHour() }).sign(secretKey)), 'INVALID_TOKEN');
  await expectUnauthenticated(
    bearer(await sign({ sub: 'a'.repeat(33), exp: inAnHour() }).sign(secretKey)),
    'INVALID_TOKEN',
  );
  await expectUnauthenticated(
    bearer(await sign({ sub: 'a\u0000b', exp: inAnHour() }).sign(secretKey)),
    'INVALID_TOKEN',
  );
});

test('alg: none is refused', async () => {
  const token = new UnsecuredJWT({ sub: 'alice' }).setExpirationTime('1h').encode();
  await expectUnauthenticated(bearer(token), 'INVALID_TOKEN');
});

test('other algorithms are refused, even with the right secret', async () => {
  await expectUnauthenticated(
    bearer(await sign({ sub: 'alice', exp: inAnHour() }, 'HS512').sign(secretKey)),
    'INVALID_TOKEN',
  );
  const { privateKey } = await generateKeyPair('RS256');
  await expectUnauthenticated(
    bearer(await sign({ sub: 'alice', exp: inAnHour() }, 'RS256').sign(privateKey)),
    'INVALID_TOKEN',
  );
});

test('a valid token is accepted and its sub is the caller', async () => {
  const userID = uniqueUserID();
  const token = await sign({ sub: userID, exp: inAnHour() }).sign(secretKey);
  const response = await server.request(OPERATIONS.me, { token });
  expect(response.errors).toBeUndefined();
  expect(response.data).toEqual({ me: { userID } });
});

test('role: admin makes an administrator, who alone may set adminForbidType', async () => {
  const userID = uniqueUserID();
  const query = 'mutation { updateMyProfile(input: { adminForbidType: SEND_OUT }) { adminForbidType } }';
  const plain = await server.request(query, { as: userID });
  expect(plain.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', field: 'adminForbidType', reason: 'ADMIN_ONLY' });
  const admin = await server.request(query, { as: userID, admin: true });
  expect(admin.errors).toBeUndefined();
  expect(admin.data).toEqual({ updateMyProfile: { adminForbidType: 'SEND_OUT' } });
});
