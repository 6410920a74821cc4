import { ConfigError, loadConfig } from '../../src/config';
import { attachReadAfter, readAfterOf } from '../../src/db/read-your-writes';
import { formatWalPosition, parseWalPosition, serverName } from '../../src/db/replicas';

const DATABASE_URL = 'postgres://app:secret@pooler.internal:6432/profiles';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

test('without the settings: no replicas, LISTEN on DATABASE_URL, named prepared statements', () => {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DATABASE_URL });
  expect(config.readReplicas).toEqual({ urls: [], maxLagMs: 5000, checkMs: 1000 });
  expect(config.databaseListenUrl).toBeUndefined();
  expect(config.dbPreparedStatements).toBe(true);
});

test('the replicas, their lag limit, the direct URL and unnamed statements are read once', () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'x'.repeat(32),
    DATABASE_URL,
    DATABASE_READ_URLS: ' postgres://r1.internal/profiles, postgresql://r2.internal:5433/profiles ,',
    DATABASE_READ_MAX_LAG_MS: '2000',
    DATABASE_READ_CHECK_MS: '250',
    DATABASE_LISTEN_URL: 'postgres://app:secret@primary.internal:5432/profiles',
    DATABASE_PREPARED_STATEMENTS: 'false',
  });
  expect(config.readReplicas).toEqual({
    urls: ['postgres://r1.internal/profiles', 'postgresql://r2.internal:5433/profiles'],
    maxLagMs: 2000,
    checkMs: 250,
  });
  expect(config.databaseListenUrl).toBe('postgres://app:secret@primary.internal:5432/profiles');
  expect(config.dbPreparedStatements).toBe(false);
});

test('bad settings are listed, without the URLs (they may hold passwords)', () => {
  const listed = problems({
    DATABASE_URL,
    DATABASE_READ_URLS: 'postgres://ok.internal/p,mysql://user:hunter2@bad.internal/p',
    DATABASE_LISTEN_URL: 'http://primary.internal',
    DATABASE_READ_MAX_LAG_MS: '-1',
    DATABASE_PREPARED_STATEMENTS: 'sometimes',
  });
  expect(listed).toEqual([
    'DATABASE_LISTEN_URL must be a postgres:// or postgresql:// URL',
    'DATABASE_READ_URLS: entry 2 is not a postgres:// or postgresql:// URL',
    expect.stringContaining('DATABASE_PREPARED_STATEMENTS must be true or false'),
    expect.stringContaining('DATABASE_READ_MAX_LAG_MS must be an integer'),
  ]);
  expect(listed.join('\n')).not.toContain('hunter2');
  expect(problems({ NODE_ENV: 'development', DATABASE_READ_URLS: 'postgres://r1.internal/p' })).toEqual([
    'DATABASE_READ_URLS and DATABASE_LISTEN_URL need DATABASE_URL (the primary) to be set',
  ]);
});

test('WAL positions read and print as Postgres shows them, and compare in log order', () => {
  const position = parseWalPosition('16/B374D848')!;
  expect(position).toBe((0x16n << 32n) | 0xb374d848n);
  expect(formatWalPosition(position)).toBe('16/B374D848');
  expect(parseWalPosition('0/3000028')! > parseWalPosition('0/3000000')!).toBe(true);
  expect(parseWalPosition('1/0')! > parseWalPosition('0/FFFFFFFF')!).toBe(true);
  for (const text of ['', '16', '16/', '/1', '16/B374D848/1', 'G/1', '123456789/0', ' 0/1']) {
    expect(parseWalPosition(text)).toBeUndefined();
  }
});

test('a request’s x-read-after is kept on its record: a position, or unreadable (then the primary answers)', () => {
  expect(readAfterOf(attachReadAfter({}, undefined))).toBeUndefined();
  expect(readAfterOf(attachReadAfter({}, ' 0/16B3748 '))).toBe(0x16b3748n);
  expect(readAfterOf(attachReadAfter({}, 'yesterday'))).toBe('unreadable');
  expect(readAfterOf(attachReadAfter({}, ['0/1', '0/2']))).toBe('unreadable');
});

test('a replica is named by its server and database, never its credentials', () => {
  expect(serverName('postgres://app:hunter2@replica-1.internal:5433/profiles')).toBe(
    'replica-1.internal:5433/profiles',
  );
  expect(serverName('postgres://replica-2.internal/profiles')).toBe('replica-2.internal:5432/profiles');
});
