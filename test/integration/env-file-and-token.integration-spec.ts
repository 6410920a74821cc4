import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { issueToken } from '../../src/auth/token-issuer';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { waitFor } from '../support/subscription-client';
import { TEST_JWT_SECRET, uniqueUserID } from '../support/test-server';

const run = promisify(execFile);
const TOKEN_SCRIPT = path.resolve(__dirname, '..', '..', 'dist', 'scripts', 'token.js');

describe('.env in the folder the server starts from', () => {
  let folder: string;
  let server: ServerProcess;
  const fromFile = 'a-secret-written-only-in-the-env-file-0123456789';

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'profile-env-'));
    await writeFile(
      path.join(folder, '.env'),
      `# as .env.example suggests\nJWT_SECRET=${fromFile}\nDB_MIGRATE=false\nLOG_LEVEL=info\n`,
    );
    // No key in the environment: production refuses to start unless the file supplies one.
    server = await startServerProcess(
      { NODE_ENV: 'production', DATABASE_URL: process.env.DATABASE_URL, HOST: '127.0.0.1', PORT: '0' },
      30_000,
      folder,
    );
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await rm(folder, { recursive: true, force: true });
  });

  const me = async (secret: string) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await issueToken(secret, uniqueUserID('env'))}`,
      },
      body: JSON.stringify({ query: '{ me { __typename } }' }),
    });
    return ((await response.json()) as { data?: unknown }).data;
  };

  it('is read at start, and says so', async () => {
    expect(server.output()).toContain(`"envFile":"${path.join(folder, '.env')}"`);
    expect(await me(fromFile)).toEqual({ me: { __typename: 'User' } });
  });

  it('never overrides what the environment sets', async () => {
    const overridden = await startServerProcess(
      {
        NODE_ENV: 'production',
        DATABASE_URL: process.env.DATABASE_URL,
        HOST: '127.0.0.1',
        PORT: '0',
        JWT_SECRET: TEST_JWT_SECRET,
      },
      30_000,
      folder,
    );
    try {
      const response = await fetch(overridden.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await issueToken(fromFile, 'x')}` },
        body: JSON.stringify({ query: '{ me { __typename } }' }),
      });
      const body = (await response.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    } finally {
      overridden.child.kill('SIGTERM');
      await overridden.exited;
    }
  });
});

describe('the start-up in development', () => {
  it('ends by saying what to do next', async () => {
    const server = await startServerProcess({
      NODE_ENV: 'development',
      DATABASE_URL: process.env.DATABASE_URL,
      DB_MIGRATE: 'false',
      PORT: '0',
    });
    try {
      const next = await waitFor('the next-step line', () =>
        server
          .output()
          .split('\n')
          .find((line) => line.includes('"msg":"what to do next"')),
      );
      expect(JSON.parse(next).next).toMatch(
        /in a browser: GraphiQL signs you in as demo_alice.*npm run -s token -- <userID>/,
      );
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('npm run token', () => {
  it('refuses a lifetime it cannot use with its usage, not a TypeError', async () => {
    const failure = await run(process.execPath, [TOKEN_SCRIPT, 'alice', '--expires', '10x']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/--expires 10x is not a lifetime/);
    expect(failure?.stderr).not.toMatch(/TypeError/);
  });

  it('prints a token for a lifetime in seconds, minutes, hours or days', async () => {
    const { stdout } = await run(process.execPath, [TOKEN_SCRIPT, 'alice', '--expires', '90s'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET },
    });
    const [, payload] = stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
      sub: string;
      exp: number;
      iat: number;
    };
    expect(claims).toMatchObject({ sub: 'alice' });
    expect(claims.exp - claims.iat).toBe(90);
  });
});
