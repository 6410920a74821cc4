import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/db/free-port';
import { fixture, runAccounts } from '../fixtures/accounts/accounts-command';
import { callAsDeveloper, startServerProcess } from '../support/server-process';

// `npm run accounts` with DATABASE_URL unset: the embedded database, shared with the server that
// holds it, or started for the command alone.
jest.setTimeout(90_000);

let parent: string;
const dataDirs: string[] = [];

const postmasterPid = (dataDir: string): number | undefined => {
  const file = path.join(dataDir, 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function embeddedEnv(name: string): Promise<Record<string, string>> {
  const dataDir = path.join(parent, name);
  dataDirs.push(dataDir);
  return { EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(await findFreePort()) };
}

beforeAll(() => {
  parent = mkdtempSync(path.join(os.tmpdir(), 'accounts-bulk-embedded-'));
  // As root, Postgres runs as the postgres user, who must reach the data folder.
  chmodSync(parent, 0o755);
});

afterAll(() => {
  for (const dir of dataDirs) {
    const pid = postmasterPid(dir);
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(parent, { recursive: true, force: true });
});

it('uses the database of the server that holds the embedded one, and the server serves what it imported', async () => {
  const env = await embeddedEnv('shared');
  const server = await startServerProcess({ ...env, NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1' });
  try {
    const postgres = postmasterPid(env.EMBEDDED_PG_DIR);
    const result = await runAccounts(['import', fixture('profiles.jsonl')], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`using the embedded database of the server running on ${env.EMBEDDED_PG_DIR}`);
    expect(result.stdout).toMatch(/^summary: created 3, /m);
    // The server kept its Postgres, and reads the imported profiles.
    expect(postmasterPid(env.EMBEDDED_PG_DIR)).toBe(postgres);
    expect(await callAsDeveloper(server, '{ users(ids: ["alice", "bob"]) { userID nick } }', 'reader')).toEqual({
      data: {
        users: [
          { userID: 'alice', nick: 'Alice' },
          { userID: 'bob', nick: 'Bob' },
        ],
      },
    });
  } finally {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }
});

it('starts the embedded database for the command alone when no server holds it, and stops it after', async () => {
  const env = await embeddedEnv('alone');
  const imported = await runAccounts(['import', fixture('tencent.jsonl')], env);
  expect(imported.code).toBe(0);
  expect(imported.stderr).toContain(`started the embedded database in ${env.EMBEDDED_PG_DIR} for this command`);
  expect(imported.stdout).toMatch(/^summary: created 3, /m);
  // Stopped with the command: no Postgres left running, no lock left behind.
  const pid = postmasterPid(env.EMBEDDED_PG_DIR);
  expect(pid === undefined || !isAlive(pid)).toBe(true);
  expect(existsSync(path.join(env.EMBEDDED_PG_DIR, 'profile-service.lock'))).toBe(false);

  const exported = await runAccounts(['export', '-'], env);
  expect(exported.code).toBe(0);
  expect(
    exported.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).userID),
  ).toEqual(['alice', 'bob', 'carol']);
});
