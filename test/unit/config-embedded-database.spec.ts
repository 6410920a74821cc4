import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_EMBEDDED_PG_PORT, loadConfig } from '../../src/config';

const PROJECT = path.resolve(__dirname, '..', '..');

/** Runs `body` with another current folder, as a server started from elsewhere has. */
function fromFolder<T>(folder: string, body: () => T): T {
  const before = process.cwd();
  process.chdir(folder);
  try {
    return body();
  } finally {
    process.chdir(before);
  }
}

let elsewhere: string;
beforeAll(() => (elsewhere = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'profile-config-')))));
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

test("the embedded database's default folder is the project's, wherever the server starts", () => {
  const expected = path.join(PROJECT, '.data', 'postgres');
  expect(loadConfig({}).embeddedDatabase.dataDir).toBe(expected);
  expect(fromFolder(elsewhere, () => loadConfig({}).embeddedDatabase.dataDir)).toBe(expected);
});

test('an EMBEDDED_PG_DIR that is set is relative to the current folder, as paths on a command line are', () => {
  expect(fromFolder(elsewhere, () => loadConfig({ EMBEDDED_PG_DIR: 'pg' }).embeddedDatabase.dataDir)).toBe(
    path.join(elsewhere, 'pg'),
  );
  expect(loadConfig({ EMBEDDED_PG_DIR: '/srv/pg' }).embeddedDatabase.dataDir).toBe('/srv/pg');
});

test("the default port is outside Linux's range for outgoing connections", () => {
  expect(loadConfig({}).embeddedDatabase.port).toBe(DEFAULT_EMBEDDED_PG_PORT);
  expect(DEFAULT_EMBEDDED_PG_PORT < 32768 || DEFAULT_EMBEDDED_PG_PORT > 60999).toBe(true);
  expect(loadConfig({ EMBEDDED_PG_PORT: '25432' }).embeddedDatabase.port).toBe(25432);
});
