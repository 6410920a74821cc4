import { createServer } from 'node:net';
import { startServerProcess } from '../support/server-process';
import { TEST_JWT_SECRET } from '../support/test-server';

/** A port nothing listens on: bound once to be sure it is free, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startFailure(databaseUrl: string): Promise<string> {
  return startServerProcess({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: databaseUrl,
  }).then(
    (server) => {
      server.child.kill('SIGKILL');
      return 'started';
    },
    (error: Error) => error.message,
  );
}

describe('a DATABASE_URL that does not work stops the start with the setting and the fix', () => {
  it('names a port where nothing listens, without the password', async () => {
    const output = await startFailure(`postgres://postgres:hunter2@127.0.0.1:${await closedPort()}/test`);
    expect(output).toMatch(
      /nothing accepts connections at DATABASE_URL \(postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test\): start Postgres there/,
    );
    expect(output).not.toContain('hunter2');
  });

  it('names a database that does not exist', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = '/no_such_database_here';
    expect(await startFailure(url.toString())).toMatch(
      /the database named in DATABASE_URL .* does not exist: create it/,
    );
  });

  it('names a host that does not resolve', async () => {
    expect(await startFailure('postgres://postgres@no-such-host.invalid:5432/test')).toMatch(
      /the host in DATABASE_URL .* (does not resolve|could not be resolved)/,
    );
  });
});
