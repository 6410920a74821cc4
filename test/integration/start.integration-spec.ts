import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/db/free-port';
import { callAsDeveloper, startServerProcess } from '../support/server-process';

// `npm start` with DATABASE_URL unset: the built server on its own embedded Postgres.
jest.setTimeout(90_000);

let dataDir: string;
let pgPort: number;
const env = () => ({
  NODE_ENV: 'development',
  PORT: '0',
  HOST: '127.0.0.1',
  EMBEDDED_PG_DIR: dataDir,
  EMBEDDED_PG_PORT: String(pgPort),
  PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_Test1',
});

beforeAll(async () => {
  pgPort = await findFreePort();
  const parent = mkdtempSync(path.join(os.tmpdir(), 'profile-start-'));
  chmodSync(parent, 0o755);
  // Two levels the server must create, as `.data/postgres` in a fresh clone.
  dataDir = path.join(parent, '.data', 'pg');
});
afterAll(() => rmSync(path.dirname(path.dirname(dataDir)), { recursive: true, force: true }));

function postgresProcessesFor(dir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(`-D ${dir}`));
}

const call = callAsDeveloper;

test('serves the API, keeps data across restarts, and leaves no Postgres behind', async () => {
  const first = await startServerProcess(env());
  const written = await call(first, 'mutation { updateMyProfile(input: { nick: "persisted" }) { nick } }', 'keeper');
  expect(written).toEqual({ data: { updateMyProfile: { nick: 'persisted' } } });
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect(postgresProcessesFor(dataDir)).toEqual([]);

  const second = await startServerProcess(env());
  expect(await call(second, '{ me { nick } }', 'keeper')).toEqual({ data: { me: { nick: 'persisted' } } });

  // A server killed outright leaves its Postgres running; the next start must clean that up.
  second.child.kill('SIGKILL');
  await second.exited;
  const third = await startServerProcess(env());
  expect(await call(third, '{ me { nick } }', 'keeper')).toEqual({ data: { me: { nick: 'persisted' } } });
  third.child.kill('SIGINT');
  expect(await third.exited).toBe(0);
  expect(postgresProcessesFor(dataDir)).toEqual([]);
});

test('production refuses to start without a long enough JWT_SECRET, listing the problem', async () => {
  await expect(startServerProcess({ ...env(), NODE_ENV: 'production', JWT_SECRET: 'short' })).rejects.toThrow(
    /exited \(1\)[\s\S]*JWT_SECRET must be at least 32 characters/,
  );
});

const asRoot = process.getuid?.() === 0;
(asRoot ? test : test.skip)(
  'as root, a data folder the postgres user cannot reach stops the start with what to do',
  async () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), 'profile-closed-'));
    chmodSync(closed, 0o700);
    try {
      await expect(startServerProcess({ ...env(), EMBEDDED_PG_DIR: path.join(closed, 'pg') })).rejects.toThrow(
        /exited \(1\)[\s\S]*cannot enter[\s\S]*chmod o\+x/,
      );
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  },
);
