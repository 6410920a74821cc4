import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/db/free-port';
import { callAsDeveloper, startServerProcess, type ServerProcess } from '../support/server-process';

// The built server on its own embedded Postgres (DATABASE_URL unset): who may use a data folder,
// and how the server stops.
jest.setTimeout(90_000);

const PROJECT = path.resolve(__dirname, '..', '..');
let parent: string;
const dataDirs: string[] = [];

beforeAll(() => {
  parent = mkdtempSync(path.join(os.tmpdir(), 'profile-embedded-'));
  chmodSync(parent, 0o755);
});
afterAll(() => {
  for (const dir of dataDirs) stopLeftoverPostgres(dir);
  rmSync(parent, { recursive: true, force: true });
});

/** A data folder of the test's own and a free port for its Postgres. */
async function embeddedEnv(name: string): Promise<Record<string, string>> {
  const dataDir = path.join(parent, name);
  dataDirs.push(dataDir);
  return {
    NODE_ENV: 'development',
    PORT: '0',
    HOST: '127.0.0.1',
    EMBEDDED_PG_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await findFreePort()),
  };
}

function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stopLeftoverPostgres(dataDir: string): void {
  const pid = postmasterPid(dataDir);
  if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
}

const call = callAsDeveloper;

describe('the data folder', () => {
  it('is refused, and left as it is, when it holds files but no database it made', async () => {
    const env = await embeddedEnv('someone-elses');
    mkdirSync(env.EMBEDDED_PG_DIR);
    const notes = path.join(env.EMBEDDED_PG_DIR, 'notes.txt');
    writeFileSync(notes, 'keep me');

    const start = startServerProcess(env);
    try {
      await expect(start).rejects.toThrow(
        /exited \(1\)[\s\S]*is not empty and holds no Postgres database[\s\S]*Point EMBEDDED_PG_DIR at a missing or empty folder/,
      );
    } finally {
      await start.then(
        ({ child }) => child.kill('SIGKILL'),
        () => undefined,
      );
    }
    expect(readdirSync(env.EMBEDDED_PG_DIR)).toEqual(['notes.txt']);
    expect(readFileSync(notes, 'utf8')).toBe('keep me');
  });

  it('is created over again when a creation it marked was interrupted', async () => {
    const env = await embeddedEnv('interrupted');
    mkdirSync(env.EMBEDDED_PG_DIR);
    // What a first start killed during initdb leaves: its marker, naming a process that is gone.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(
      path.join(env.EMBEDDED_PG_DIR, 'profile-service.creating'),
      JSON.stringify({ pid: Number(gone.stdout) }),
    );
    mkdirSync(path.join(env.EMBEDDED_PG_DIR, 'profile-service.initdb', 'base'), { recursive: true });

    const server = await startServerProcess(env);
    try {
      expect(await call(server, '{ me { userID } }', 'fresh')).toEqual({ data: { me: { userID: 'fresh' } } });
      expect(readdirSync(env.EMBEDDED_PG_DIR)).toContain('PG_VERSION');
      expect(readdirSync(env.EMBEDDED_PG_DIR)).not.toContain('profile-service.creating');
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });
});

describe('one server per data folder', () => {
  it("refuses a second server while the first runs, and cleans up after a killed one's Postgres", async () => {
    const env = await embeddedEnv('shared');
    const first = await startServerProcess(env);
    let second: Promise<ServerProcess> | undefined;
    let third: ServerProcess | undefined;
    try {
      const written = await call(first, 'mutation { updateMyProfile(input: { nick: "first" }) { nick } }', 'owner');
      expect(written).toEqual({ data: { updateMyProfile: { nick: 'first' } } });
      const postgres = postmasterPid(env.EMBEDDED_PG_DIR);

      second = startServerProcess(env);
      await expect(second).rejects.toThrow(
        new RegExp(`exited \\(1\\)[\\s\\S]*in use by another running server \\(pid ${first.child.pid}\\)`),
      );
      // The first server kept its database: same Postgres, still ready, still serving.
      expect(postmasterPid(env.EMBEDDED_PG_DIR)).toBe(postgres);
      expect((await fetch(first.url.replace('/graphql', '/readyz'))).status).toBe(200);
      expect(await call(first, '{ me { nick } }', 'owner')).toEqual({ data: { me: { nick: 'first' } } });

      // Killed outright, the first leaves its Postgres and its lock; the next start takes both over.
      first.child.kill('SIGKILL');
      await first.exited;
      expect(isAlive(postgres!)).toBe(true);
      third = await startServerProcess(env);
      expect(third.output()).toContain(`stopping a Postgres (pid ${postgres})`);
      expect(await call(third, '{ me { nick } }', 'owner')).toEqual({ data: { me: { nick: 'first' } } });
      third.child.kill('SIGTERM');
      expect(await third.exited).toBe(0);
      expect(readdirSync(env.EMBEDDED_PG_DIR)).not.toContain('profile-service.lock');
    } finally {
      first.child.kill('SIGKILL');
      await second?.then(
        ({ child }) => child.kill('SIGKILL'),
        () => undefined,
      );
      third?.child.kill('SIGKILL');
    }
  });
});

interface GroupLeader {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Runs `command` as a terminal runs a foreground job: the leader of a process group of its own. */
function spawnGroupLeader(command: string, args: string[], env: Record<string, string>): GroupLeader {
  const child = spawn(command, args, {
    cwd: PROJECT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? os.homedir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready:\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      if (output.includes('profile service ready at')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  return { child, ready, exited, output: () => output };
}

describe('stopping from a terminal', () => {
  const stopsCleanly = async (
    command: string,
    args: string[],
    signal: NodeJS.Signals,
    env: Record<string, string>,
  ): Promise<void> => {
    const server = spawnGroupLeader(command, args, env);
    try {
      await server.ready;
      const postgres = postmasterPid(env.EMBEDDED_PG_DIR);
      expect(postgres).toBeDefined();
      const before = server.output().length;
      process.kill(-server.child.pid!, signal);

      expect(await server.exited).toEqual({ code: 0, signal: null });
      const after = server.output().slice(before);
      expect(after).toContain('stopped: requests drained, database pool closed');
      expect(after).not.toMatch(/"level":(40|50|60)|warn|error|^\s+at /im);
      expect(isAlive(postgres!)).toBe(false);
    } finally {
      // Whatever failed above, leave no process of the group behind (it may be gone already).
      try {
        process.kill(-server.child.pid!, 'SIGKILL');
      } catch {
        /* the group has exited */
      }
    }
  };

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s to the process group stops the server and its Postgres with exit code 0 and no warning',
    async (signal) => {
      await stopsCleanly(process.execPath, ['dist/src/main.js'], signal, await embeddedEnv(`signal-${signal}`));
    },
  );

  it('Ctrl-C on `npm start` ends it with exit code 0', async () => {
    await stopsCleanly('npm', ['start'], 'SIGINT', await embeddedEnv('npm-start'));
  });
});
