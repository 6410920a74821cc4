import { issueToken } from '../../src/auth/token-issuer';
import { DEVELOPMENT_JWT_SECRET } from '../../src/config';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { TEST_CUSTOM_FIELDS, TEST_JWT_SECRET, uniqueUserID } from '../support/test-server';

/** What `npm start` is given on a server where someone forgot NODE_ENV: a real database, every interface. */
const forgotten = () => ({
  DATABASE_URL: process.env.DATABASE_URL,
  HOST: '0.0.0.0',
  PORT: '0',
  DB_MIGRATE: 'false',
  PROFILE_CUSTOM_FIELDS: TEST_CUSTOM_FIELDS.join(','),
});

async function refusal(env: Record<string, string | undefined>): Promise<string> {
  const message = await startServerProcess(env).then(
    (server) => {
      server.child.kill('SIGKILL');
      return 'started, though it should have refused';
    },
    (error: Error) => error.message,
  );
  expect(message).toMatch(/server exited \(1\) before it was ready/);
  return message;
}

describe('unsafe configurations refuse to start, listing the problem', () => {
  it('NODE_ENV unset with a real DATABASE_URL and no key: production, so a key is required', async () => {
    const output = await refusal(forgotten());
    expect(output).toMatch(/JWT_SECRET .* is required in production/);
    expect(output).toMatch(/NODE_ENV is unset and DATABASE_URL is set: production/);
  });

  it('the published development secret as JWT_SECRET outside development', async () => {
    for (const NODE_ENV of [undefined, 'production', 'test']) {
      const output = await refusal({ ...forgotten(), NODE_ENV, JWT_SECRET: DEVELOPMENT_JWT_SECRET });
      expect(output).toContain('JWT_SECRET is the published development secret');
    }
  });

  it('NODE_ENV unset, no DATABASE_URL, on every interface: not development either', async () => {
    const output = await refusal({ ...forgotten(), DATABASE_URL: undefined });
    expect(output).toContain('DATABASE_URL is required in production');
    expect(output).toMatch(/HOST=0.0.0.0 is not loopback: production/);
  });

  it('NODE_ENV=test without a key has no development fallback', async () => {
    const output = await refusal({ ...forgotten(), NODE_ENV: 'test' });
    expect(output).toMatch(/JWT_SECRET .* is required in test/);
  });
});

describe('NODE_ENV unset with a DATABASE_URL and a real JWT_SECRET runs as production', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ ...forgotten(), HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET });
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });

  it('says so at start-up', () => {
    expect(server.output()).toMatch(/"mode":"production".*NODE_ENV is unset and DATABASE_URL is set/);
  });

  it('refuses a token signed with the published development secret, an admin one included', async () => {
    for (const admin of [false, true]) {
      const bearer = await issueToken(DEVELOPMENT_JWT_SECRET, uniqueUserID('dev'), { admin });
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ query: 'mutation { importAccounts(accounts: [{ userID: "mallory" }]) { userID } }' }),
      });
      const body = (await response.json()) as {
        data?: unknown;
        errors: Array<{ extensions: Record<string, unknown> }>;
      };
      expect(body.data ?? null).toBeNull();
      expect(body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    }
  });

  it('hands a browser no GraphiQL page and no demo token', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    const text = await response.text();
    expect(text).not.toMatch(/<script|graphiql-config/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
  });

  it('answers client errors without stack traces or server paths', async () => {
    const bearer = await issueToken(TEST_JWT_SECRET, uniqueUserID('prod'));
    for (const query of ['{ me { nik } }', 'mutation { updateMyProfile(input: {}) { nick } }', '{ me { nick } ']) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ query }),
      });
      const text = await response.text();
      expect(text).toContain('"errors"');
      expect(text).not.toMatch(/stacktrace|\/src\/|\.js:\d+/);
    }
  });
});
