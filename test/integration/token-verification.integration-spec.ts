import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, type JWK } from 'jose';
import { startTestServer, TEST_JWT_SECRET, uniqueUserID, type TestServer } from '../support/test-server';

const ISSUER = 'https://issuer.example.test';
const AUDIENCE = 'profile-service';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Claims {
  sub?: string;
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
}

async function sign(key: KeyObject, alg: string, claims: Claims, kid?: string): Promise<string> {
  const body = { sub: uniqueUserID(), iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600, ...claims };
  return new SignJWT(Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)))
    .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
    .sign(key);
}

async function codeFor(
  server: TestServer,
  token: string,
): Promise<{ code?: string; reason?: string; userID?: string }> {
  const result = await server.request('{ me { userID } }', { token });
  if (result.errors === undefined) return { userID: result.data?.me.userID };
  expect(result.errors[0].extensions?.stacktrace).toBeUndefined();
  return { code: result.errors[0].extensions?.code, reason: result.errors[0].extensions?.reason };
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const secret = createSecretKey(Buffer.from(TEST_JWT_SECRET, 'utf8'));

describe('bearer tokens: HS256 secret plus an RS256 public key, issuer and audience configured', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_PUBLIC_KEY: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
  });
  afterAll(() => server.stop());

  it('accepts a well-formed HS256 token and a well-formed RS256 token', async () => {
    const userID = uniqueUserID();
    expect(await codeFor(server, await sign(secret, 'HS256', { sub: userID }))).toEqual({ userID });
    expect(await codeFor(server, await sign(rsa.privateKey, 'RS256', { sub: userID }))).toEqual({ userID });
  });

  it.each<[string, Claims]>([
    ['nbf in the future', { nbf: now() + 3600 }],
    ['iat in the future', { iat: now() + 3600 }],
    ['no exp while exp is required', { exp: undefined }],
    ['a wrong issuer', { iss: 'https://someone-else.test' }],
    ['no issuer', { iss: undefined }],
    ['a wrong audience', { aud: 'another-service' }],
    ['no subject', { sub: undefined }],
  ])('refuses a token with %s', async (_name, claims) => {
    expect(await codeFor(server, await sign(secret, 'HS256', claims))).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'INVALID_TOKEN',
    });
    expect(await codeFor(server, await sign(rsa.privateKey, 'RS256', claims))).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'INVALID_TOKEN',
    });
  });

  it('refuses an expired token as TOKEN_EXPIRED', async () => {
    const token = await sign(secret, 'HS256', { iat: now() - 7200, exp: now() - 3600 });
    expect(await codeFor(server, token)).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });
  });

  it('refuses alg: none', async () => {
    const claims = { sub: uniqueUserID(), iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600 };
    for (const alg of ['none', 'None', 'NONE']) {
      const token = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}.`;
      expect(await codeFor(server, token)).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    }
  });

  it('refuses HS/RS confusion: an HS256 token keyed with the RSA public key', async () => {
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const material of [pem, pem.trim(), rsa.publicKey.export({ type: 'spki', format: 'der' })]) {
      const token = await sign(createSecretKey(Buffer.from(material)), 'HS256', {});
      expect(await codeFor(server, token)).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    }
  });

  it('refuses a token signed by another RSA key, and algorithms it does not accept', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(await codeFor(server, await sign(other.privateKey, 'RS256', {}))).toMatchObject({ reason: 'INVALID_TOKEN' });
    expect(await codeFor(server, await sign(rsa.privateKey, 'PS256', {}))).toMatchObject({ reason: 'INVALID_TOKEN' });
    expect(await codeFor(server, await sign(secret, 'HS512', {}))).toMatchObject({ reason: 'INVALID_TOKEN' });
  });
});

describe('bearer tokens: HS256 disabled when only public keys are configured', () => {
  it('refuses HS256 tokens when JWT_SECRET is unset', async () => {
    const server = await startTestServer({
      JWT_SECRET: '',
      JWT_PUBLIC_KEY: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    try {
      const hs = await sign(secret, 'HS256', { iss: undefined, aud: undefined });
      expect(await codeFor(server, hs)).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
      const userID = uniqueUserID();
      const rs = await sign(rsa.privateKey, 'RS256', { sub: userID, iss: undefined, aud: undefined });
      expect(await codeFor(server, rs)).toEqual({ userID });
    } finally {
      await server.stop();
    }
  });
});

describe('bearer tokens: ES256 keys from a JWKS URL, with rotation', () => {
  let jwks: { keys: JWK[] } = { keys: [] };
  let fetches = 0;
  let jwksServer: http.Server;
  let jwksUrl: string;
  let server: TestServer;
  const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const second = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = async (key: KeyObject, kid: string): Promise<JWK> => ({
    ...(await exportJWK(key)),
    kid,
    alg: 'ES256',
    use: 'sig',
  });

  beforeAll(async () => {
    jwksServer = http.createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
    jwks = { keys: [await publicJwk(first.publicKey, 'key-1')] };
    server = await startTestServer({
      JWT_SECRET: '',
      JWT_JWKS_URL: jwksUrl,
      JWT_JWKS_COOLDOWN_SECONDS: '0',
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
  });
  afterAll(async () => {
    await server.stop();
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  it('accepts tokens of the current key, picks up a rotated key, and drops the retired one', async () => {
    const userID = uniqueUserID();
    const oldToken = await sign(first.privateKey, 'ES256', { sub: userID }, 'key-1');
    expect(await codeFor(server, oldToken)).toEqual({ userID });
    expect(await codeFor(server, oldToken)).toEqual({ userID });
    expect(fetches).toBe(1); // the key set is cached, not fetched per request

    // Rotation: the provider publishes key-2 and retires key-1.
    jwks = { keys: [await publicJwk(second.publicKey, 'key-2')] };
    const newToken = await sign(second.privateKey, 'ES256', { sub: userID }, 'key-2');
    expect(await codeFor(server, newToken)).toEqual({ userID });
    expect(fetches).toBe(2);
    expect(await codeFor(server, oldToken)).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
  });

  it('refuses a token whose kid the key set does not have, and one signed by a stranger under a known kid', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const unknownKid = await sign(stranger.privateKey, 'ES256', {}, 'key-9');
    expect(await codeFor(server, unknownKid)).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    const forged = await sign(stranger.privateKey, 'ES256', {}, 'key-2');
    expect(await codeFor(server, forged)).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
  });

  it('answers SERVICE_UNAVAILABLE when the key set cannot be fetched', async () => {
    const down = await startTestServer({
      JWT_SECRET: '',
      JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json',
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
    try {
      const token = await sign(first.privateKey, 'ES256', {}, 'key-1');
      expect(await codeFor(down, token)).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: undefined });
    } finally {
      await down.stop();
    }
  });
});
