import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { DEFAULT_STANDARD_VALUES } from '../../src/user/profile-fields';
import {
  fixture,
  reportedRows,
  rowVersions,
  runAccounts,
  SEEDED_CUSTOM_FIELDS,
  storedProfiles,
  summaryOf,
  type CommandResult,
  ALICE_STANDARD,
} from '../fixtures/accounts/accounts-command';
import { eventually } from '../support/custom-fields';
import { createOwnDatabase } from '../support/db';

// `npm run accounts -- import` as a process against a database of this file's own (the import
// writes every table it touches from scratch), checked in the database afterwards.
jest.setTimeout(60_000);

/** The terminal's escape character, which starts the bar's "erase the line". */
const ESCAPE = String.fromCharCode(27);

let database: { url: string; drop(): Promise<void> };
let pool: Pool;
let folder: string;

const importFile = (file: string, ...flags: string[]): Promise<CommandResult> =>
  runAccounts(['import', file, ...flags], { DATABASE_URL: database.url });

const events = async () =>
  (
    await pool.query(
      'SELECT user_id, operator, changed_fields, changed_custom_fields FROM profile_event ORDER BY event_id',
    )
  ).rows;

const auditRows = async () =>
  (await pool.query('SELECT operation, actor_id, outcome, error_reason FROM admin_audit ORDER BY id')).rows;

/** alice, bob and carol as every fixture of them gives them: the given fields, defaults for the rest. */
const EXPECTED = {
  alice: {
    ...ALICE_STANDARD,
    customFields: { Tag_Profile_Custom_Test1: 'première', Tag_Profile_Custom_Mood: '😀 happy' },
  },
  bob: { ...DEFAULT_STANDARD_VALUES, nick: 'Bob', gender: 'MALE', customFields: {} },
  carol: { ...DEFAULT_STANDARD_VALUES, customFields: {} },
};

function writeTemp(name: string, text: string): string {
  const file = path.join(folder, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  database = await createOwnDatabase('accounts_bulk_import');
  pool = new Pool({ connectionString: database.url, max: 2 });
  folder = mkdtempSync(path.join(os.tmpdir(), 'accounts-bulk-import-'));
  // The first run migrates the empty database.
  const first = await runAccounts(['export', path.join(folder, 'first.jsonl')], { DATABASE_URL: database.url });
  expect(first.code).toBe(0);
});

beforeEach(async () => {
  await pool.query(
    'TRUNCATE user_profile, profile_event, admin_audit, profile_custom_field, user_status, presence_session',
  );
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
  rmSync(folder, { recursive: true, force: true });
});

describe('formats', () => {
  it('imports JSON Lines of our profile shape: the given fields, defaults for the rest, no event', async () => {
    const result = await importFile(fixture('profiles.jsonl'));
    expect(result.code).toBe(0);
    expect(summaryOf(result.stdout)).toEqual({ created: 3, changed: 0, unchanged: 0, skipped: 0 });
    expect(result.stdout).toMatch(/\(3 rows, format profile, 0 change events\)/);
    expect(await storedProfiles(pool)).toEqual(EXPECTED);
    expect(await events()).toEqual([]);
    expect(await auditRows()).toEqual([
      { operation: 'bulkImportAccounts', actor_id: 'accounts-command', outcome: 'SUCCEEDED', error_reason: null },
    ]);
  });

  it("imports Tencent's REST shape, one account per line, to the same profiles", async () => {
    const result = await importFile(fixture('tencent.jsonl'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/format tencent/);
    expect(summaryOf(result.stdout)).toEqual({ created: 3, changed: 0, unchanged: 0, skipped: 0 });
    expect(await storedProfiles(pool)).toEqual(EXPECTED);
  });

  it('imports a whole portrait_get answer, pretty-printed, to the same profiles', async () => {
    const result = await importFile(fixture('portrait-get.json'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/format portrait_get/);
    expect(summaryOf(result.stdout)).toEqual({ created: 3, changed: 0, unchanged: 0, skipped: 0 });
    expect(await storedProfiles(pool)).toEqual(EXPECTED);
  });

  it('reads standard input, and portrait_get answers one after another on their lines', async () => {
    const answers =
      `{"ActionStatus":"OK","UserProfileItem":[{"To_Account":"x1","ProfileItem":[{"Tag":"Tag_Profile_IM_Nick","Value":"X1"}],"ResultCode":0}]}\n` +
      `{"ActionStatus":"OK","ErrorCode":0,"UserProfileItem":[{"To_Account":"x2","ProfileItem":[]},{"To_Account":"x3","ProfileItem":[{"Tag":"Tag_Profile_IM_Level","Value":5}]}],"Fail_Account":[]}\n`;
    const result = await runAccounts(['import', '-'], { DATABASE_URL: database.url }, answers);
    expect(result.code).toBe(0);
    expect(summaryOf(result.stdout)).toEqual({ created: 3, changed: 0, unchanged: 0, skipped: 0 });
    const stored = await storedProfiles(pool);
    expect([stored.x1.nick, stored.x2.nick, stored.x3.level]).toEqual(['X1', '', 5]);
  });
});

describe('bad rows', () => {
  /** What bad-rows.jsonl holds, line by line (the fixture's lines 1, 17 and 24 are good). */
  const BAD_ROWS = [
    { line: 2, field: 'nick', reason: 'TOO_LONG' },
    { line: 3, field: 'gender', reason: 'INVALID_VALUE' },
    { line: 4, field: '(row)', reason: 'INVALID_VALUE' },
    { line: 5, field: 'profileCustomField[0].key', reason: 'UNKNOWN_CUSTOM_FIELD' },
    { line: 7, field: 'location', reason: 'TOO_LONG' },
    { line: 8, field: 'nick', reason: 'INVALID_CHARACTERS' },
    { line: 9, field: 'avatar', reason: 'INVALID_VALUE' },
    { line: 10, field: 'birthday', reason: 'INVALID_VALUE' },
    { line: 11, field: 'messageSettings', reason: 'INVALID_VALUE' },
    { line: 12, field: 'profileCustomField[0].key', reason: 'FIELD_RETIRED' },
    { line: 13, field: 'userID', reason: 'INVALID_VALUE' },
    { line: 14, field: 'userID', reason: 'INVALID_VALUE' },
    { line: 15, field: 'nick', reason: 'NULL_NOT_ALLOWED' },
    { line: 16, field: 'colour', reason: 'INVALID_VALUE' },
    { line: 18, field: 'level', reason: 'INVALID_VALUE' },
    { line: 19, field: 'profileCustomField[1].key', reason: 'DUPLICATE_KEY' },
    { line: 20, field: 'profileCustomField[0].value', reason: 'TOO_LONG' },
    { line: 21, field: 'userID', reason: 'INVALID_CHARACTERS' },
    { line: 22, field: '(row)', reason: 'INVALID_CHARACTERS' },
    // Found once the whole file is staged: the second line naming good1.
    { line: 6, field: 'userID', reason: 'DUPLICATE_KEY' },
  ];

  const defineTestFields = () =>
    pool.query(`INSERT INTO profile_custom_field (key, retired) VALUES ('Tag_Profile_Custom_Old', true);
      INSERT INTO profile_custom_field (key, max_bytes) VALUES ('Tag_Profile_Custom_Short', 4)`);

  it('are each reported with line, field and reason, and nothing is written', async () => {
    await defineTestFields();
    await pool.query(`INSERT INTO user_profile (user_id, nick) VALUES ('good1', 'Before')`);
    const before = await rowVersions(pool);
    const result = await importFile(fixture('bad-rows.jsonl'));
    expect(result.code).toBe(3);
    expect(reportedRows(result.stderr, 'bad')).toEqual(BAD_ROWS);
    expect(result.stderr).toMatch(/nothing was imported: 20 bad rows/);
    expect(result.stderr).toMatch(/^bad line 6, field userID: DUPLICATE_KEY \(names the account line 1 names\)$/m);
    expect(result.stdout).toBe('');
    expect(Object.keys(await storedProfiles(pool))).toEqual(['good1']);
    expect((await storedProfiles(pool)).good1.nick).toBe('Before');
    expect(await rowVersions(pool)).toEqual(before);
    expect(await events()).toEqual([]);
    expect(await auditRows()).toEqual([
      { operation: 'bulkImportAccounts', actor_id: 'accounts-command', outcome: 'REJECTED', error_reason: 'TOO_LONG' },
    ]);
  });

  it("of Tencent's shape name the tag at fault", async () => {
    const result = await importFile(fixture('tencent-bad.jsonl'));
    expect(result.code).toBe(3);
    expect(reportedRows(result.stderr, 'bad')).toEqual([
      { line: 2, field: 'Tag_Profile_IM_Gender', reason: 'INVALID_VALUE' },
      { line: 3, field: 'Tag_Profile_IM_Nonsense', reason: 'UNKNOWN_CUSTOM_FIELD' },
      { line: 4, field: 'Tag_Profile_IM_Nick', reason: 'DUPLICATE_KEY' },
      { line: 5, field: 'Tag_Profile_IM_Level', reason: 'INVALID_VALUE' },
      { line: 6, field: 'Tag_Profile_Custom_Mood', reason: 'TOO_LONG' },
      { line: 7, field: 'To_Account', reason: 'INVALID_VALUE' },
      { line: 8, field: 'ResultCode', reason: 'INVALID_VALUE' },
      { line: 9, field: 'userID', reason: 'INVALID_VALUE' },
      { line: 11, field: 'Tag_Profile_IM_Nick', reason: 'TOO_LONG' },
      { line: 12, field: 'Tag_Profile_IM_MsgSettings', reason: 'INVALID_VALUE' },
    ]);
    expect(await storedProfiles(pool)).toEqual({});
  });

  it('in a pretty-printed portrait_get answer are reported at the line their item starts on', async () => {
    const answer = JSON.stringify(
      {
        ActionStatus: 'OK',
        UserProfileItem: [
          { To_Account: 'p1', ProfileItem: [{ Tag: 'Tag_Profile_IM_Nick', Value: 'P1' }], ResultCode: 0 },
          {
            To_Account: 'p2',
            ProfileItem: [],
            ResultCode: 40003,
            ResultInfo: 'Err_Profile_PortraitGet_Account_Not_Exist',
          },
          { To_Account: 'p3', ProfileItem: [{ Tag: 'Tag_Profile_IM_AllowType', Value: 'Sometimes' }] },
        ],
      },
      null,
      2,
    );
    const lineOf = (account: string) => answer.split('\n').findIndex((line) => line.includes(`"${account}"`));
    const result = await importFile(writeTemp('answer.json', answer));
    expect(result.code).toBe(3);
    // The item's "{" is the line above its To_Account (lines count from 1).
    expect(reportedRows(result.stderr, 'bad')).toEqual([
      { line: lineOf('p2'), field: 'ResultCode', reason: 'INVALID_VALUE' },
      { line: lineOf('p3'), field: 'Tag_Profile_IM_AllowType', reason: 'INVALID_VALUE' },
    ]);
    expect(await storedProfiles(pool)).toEqual({});
  });

  it('a portrait_get answer cut short stops the import: nothing is written', async () => {
    const result = await importFile(
      writeTemp('cut.json', '{"UserProfileItem":[{"To_Account":"c1","ProfileItem":[]},\n{"To_Account":"c2"'),
    );
    expect(result.code).toBe(3);
    expect(reportedRows(result.stderr, 'bad')).toEqual([{ line: 2, field: '(row)', reason: 'INVALID_VALUE' }]);
    expect(await storedProfiles(pool)).toEqual({});
  });
});

describe('--skip-invalid', () => {
  it('imports the good rows and lists every skipped one', async () => {
    await pool.query(`INSERT INTO profile_custom_field (key, retired) VALUES ('Tag_Profile_Custom_Old', true);
      INSERT INTO profile_custom_field (key, max_bytes) VALUES ('Tag_Profile_Custom_Short', 4)`);
    const result = await importFile(fixture('bad-rows.jsonl'), '--skip-invalid');
    expect(result.code).toBe(0);
    const skipped = reportedRows(result.stderr, 'skipped');
    expect(skipped.map((row) => row.line)).toEqual([
      2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 6,
    ]);
    expect(reportedRows(result.stderr, 'bad')).toEqual([]);
    expect(summaryOf(result.stdout)).toEqual({ created: 3, changed: 0, unchanged: 0, skipped: 20 });
    const stored = await storedProfiles(pool);
    expect(Object.keys(stored)).toEqual(['good1', 'good2', 'good3']);
    // The first line naming good1 counts; the second was skipped.
    expect([stored.good1.nick, stored.good2.level]).toEqual(['Good one', 4294967295]);
  });
});

describe('--define-custom-fields', () => {
  const rows =
    '{"userID":"d1","profileCustomField":[{"key":"Tag_Profile_Custom_New1","value":"one"}]}\n' +
    '{"To_Account":"wrong format"}\n' +
    '{"userID":"d2","profileCustomField":[{"key":"Tag_Profile_Custom_New2","value":"two"},{"key":"Tag_Profile_Custom_Mood","value":"ok"}]}\n';

  const definitions = async () =>
    (await pool.query('SELECT key, max_bytes, read, write, retired FROM profile_custom_field ORDER BY key')).rows;

  it('without it, a key the registry lacks is a bad row', async () => {
    const result = await importFile(writeTemp('new-keys.jsonl', rows));
    expect(result.code).toBe(3);
    expect(reportedRows(result.stderr, 'bad')).toEqual([
      { line: 1, field: 'profileCustomField[0].key', reason: 'UNKNOWN_CUSTOM_FIELD' },
      { line: 2, field: 'To_Account', reason: 'INVALID_VALUE' },
      { line: 3, field: 'profileCustomField[0].key', reason: 'UNKNOWN_CUSTOM_FIELD' },
    ]);
  });

  it('defines the keys rows use with the defaults, in the same transaction as the import', async () => {
    const file = writeTemp('new-keys.jsonl', rows);
    const refused = await importFile(file, '--define-custom-fields');
    // The bad line 2 refuses the whole import, definitions included.
    expect(refused.code).toBe(3);
    expect(reportedRows(refused.stderr, 'bad')).toEqual([{ line: 2, field: 'To_Account', reason: 'INVALID_VALUE' }]);
    expect((await definitions()).map((d) => d.key)).toEqual(['Tag_Profile_Custom_Mood', 'Tag_Profile_Custom_Test1']);

    const result = await importFile(file, '--define-custom-fields', '--skip-invalid');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/defined Tag_Profile_Custom_New1, Tag_Profile_Custom_New2\)/);
    expect(await definitions()).toEqual([
      { key: 'Tag_Profile_Custom_Mood', max_bytes: 500, read: 'PUBLIC', write: 'OWNER', retired: false },
      { key: 'Tag_Profile_Custom_New1', max_bytes: 500, read: 'PUBLIC', write: 'OWNER', retired: false },
      { key: 'Tag_Profile_Custom_New2', max_bytes: 500, read: 'PUBLIC', write: 'OWNER', retired: false },
      { key: 'Tag_Profile_Custom_Test1', max_bytes: 500, read: 'PUBLIC', write: 'OWNER', retired: false },
    ]);
    const stored = await storedProfiles(pool);
    expect(stored.d2.customFields).toEqual({ Tag_Profile_Custom_New2: 'two', Tag_Profile_Custom_Mood: 'ok' });
  });

  it("defines them in the import's transaction: a registry that fills up meanwhile undoes them all", async () => {
    // Room for both new keys when the command starts (two keys are seeded, the limit is 4)...
    const command = spawn(
      process.execPath,
      [
        path.resolve(__dirname, '..', '..', 'dist', 'scripts', 'accounts.js'),
        'import',
        '-',
        '--define-custom-fields',
        '--skip-invalid',
      ],
      {
        cwd: os.tmpdir(),
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: database.url,
          PROFILE_CUSTOM_FIELDS: SEEDED_CUSTOM_FIELDS.join(','),
          PROFILE_CUSTOM_FIELD_LIMIT: '4',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    command.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => command.on('close', resolve));
    command.stdin.write(
      '{"userID":"r0","nick":null}\n' +
        '{"userID":"r1","profileCustomField":[{"key":"Tag_Profile_Custom_First","value":"1"}]}\n' +
        '{"userID":"r2","profileCustomField":[{"key":"Tag_Profile_Custom_Second","value":"2"}]}\n',
    );
    // ...until, once it reads (the skipped first line says so), someone else takes one of the places.
    await eventually(async () => stderr.includes('skipped line 1'));
    await pool.query(`INSERT INTO profile_custom_field (key) VALUES ('Tag_Profile_Custom_Other')`);
    command.stdin.end();
    expect(await exited).toBe(1);
    expect(stderr).toMatch(/Tag_Profile_Custom_Second cannot be defined: the custom field registry became full/);
    expect((await definitions()).map((d) => d.key)).toEqual([
      'Tag_Profile_Custom_Mood',
      'Tag_Profile_Custom_Other',
      'Tag_Profile_Custom_Test1',
    ]);
    expect(await storedProfiles(pool)).toEqual({});
  });

  it('checks new keys as defined ones: their form, the registry limit and the value limit', async () => {
    const file = writeTemp(
      'limits.jsonl',
      '{"userID":"l1","profileCustomField":[{"key":"Tag_Profile_Custom_bad_key","value":"x"}]}\n' +
        `{"userID":"l2","profileCustomField":[{"key":"Tag_Profile_Custom_Big","value":"${'v'.repeat(501)}"}]}\n` +
        '{"userID":"l3","profileCustomField":[{"key":"Tag_Profile_Custom_Room","value":"fits"}]}\n' +
        '{"userID":"l4","profileCustomField":[{"key":"Tag_Profile_Custom_NoRoom","value":"does not"}]}\n',
    );
    // Two keys are seeded: a limit of 3 leaves room for one more.
    const result = await runAccounts(['import', file, '--define-custom-fields', '--skip-invalid'], {
      DATABASE_URL: database.url,
      PROFILE_CUSTOM_FIELD_LIMIT: '3',
    });
    expect(result.code).toBe(0);
    expect(reportedRows(result.stderr, 'skipped')).toEqual([
      { line: 1, field: 'profileCustomField[0].key', reason: 'UNKNOWN_CUSTOM_FIELD' },
      { line: 2, field: 'profileCustomField[0].value', reason: 'TOO_LONG' },
      { line: 4, field: 'profileCustomField[0].key', reason: 'LIMIT_REACHED' },
    ]);
    expect(result.stderr).toMatch(/line 1, .*cannot be defined: a key is Tag_Profile_Custom_ followed by/);
    expect((await definitions()).map((d) => d.key)).toEqual([
      'Tag_Profile_Custom_Mood',
      'Tag_Profile_Custom_Room',
      'Tag_Profile_Custom_Test1',
    ]);
  });
});

describe('--batch-rows', () => {
  it('merges batch by batch as it reads, to the same profiles, counts and reports as one batch', async () => {
    await pool.query(`INSERT INTO profile_custom_field (key, retired) VALUES ('Tag_Profile_Custom_Old', true);
      INSERT INTO profile_custom_field (key, max_bytes) VALUES ('Tag_Profile_Custom_Short', 4)`);
    const whole = await importFile(fixture('bad-rows.jsonl'), '--skip-invalid');
    const profiles = await storedProfiles(pool);
    await pool.query('TRUNCATE user_profile, user_status, presence_session');

    // One row a batch: line 6 repeats line 1's account from a batch before.
    const batched = await importFile(fixture('bad-rows.jsonl'), '--skip-invalid', '--batch-rows', '1');
    expect(batched.code).toBe(0);
    expect(summaryOf(batched.stdout)).toEqual(summaryOf(whole.stdout));
    const byLine = (rows: { line: number }[]) => [...rows].sort((a, b) => a.line - b.line);
    expect(byLine(reportedRows(batched.stderr, 'skipped'))).toEqual(byLine(reportedRows(whole.stderr, 'skipped')));
    expect(await storedProfiles(pool)).toEqual(profiles);
  });

  it('refuses every batch when a late row is bad, the batches before it included', async () => {
    const file = writeTemp(
      'late-bad.jsonl',
      Array.from({ length: 9 }, (_, i) => `{"userID":"early_${i}","nick":"Early ${i}"}\n`).join('') +
        '{"userID":"late","gender":"sometimes"}\n',
    );
    const result = await importFile(file, '--batch-rows', '3');
    expect(result.code).toBe(3);
    expect(reportedRows(result.stderr, 'bad')).toEqual([{ line: 10, field: 'gender', reason: 'INVALID_VALUE' }]);
    expect(await storedProfiles(pool)).toEqual({});
  });
});

describe('idempotence and change events', () => {
  it('the same file again changes nothing: no write, no event, every row unchanged', async () => {
    expect((await importFile(fixture('profiles.jsonl'))).code).toBe(0);
    const before = await rowVersions(pool);
    for (const file of ['profiles.jsonl', 'tencent.jsonl', 'portrait-get.json']) {
      const again = await importFile(fixture(file));
      expect(again.code).toBe(0);
      expect(summaryOf(again.stdout)).toEqual({ created: 0, changed: 0, unchanged: 3, skipped: 0 });
      expect(again.stdout).toMatch(/, 0 change events\)/);
    }
    expect(await rowVersions(pool)).toEqual(before);
    expect(await storedProfiles(pool)).toEqual(EXPECTED);
    expect(await events()).toEqual([]);
  });

  it('an existing account whose values change gets one event with what changed; new ones none', async () => {
    expect((await importFile(fixture('profiles.jsonl'))).code).toBe(0);
    const before = await rowVersions(pool);
    const file = writeTemp(
      'changes.jsonl',
      // alice: a new nick, Mood removed, Test1 as it is; bob: as he is; dave: new.
      '{"userID":"alice","nick":"Alice B.","profileCustomField":[{"key":"Tag_Profile_Custom_Mood","value":""},{"key":"Tag_Profile_Custom_Test1","value":"première"}]}\n' +
        '{"userID":"bob","nick":"Bob","gender":"MALE"}\n' +
        '{"userID":"dave","nick":"Dave"}\n',
    );
    const result = await importFile(file, '--operator', 'migration_admin');
    expect(result.code).toBe(0);
    expect(summaryOf(result.stdout)).toEqual({ created: 1, changed: 1, unchanged: 1, skipped: 0 });
    expect(result.stdout).toMatch(/, 1 change event\)/);
    expect(await events()).toEqual([
      {
        user_id: 'alice',
        operator: 'migration_admin',
        changed_fields: { nick: 'Alice B.' },
        changed_custom_fields: { Tag_Profile_Custom_Mood: null },
      },
    ]);
    const stored = await storedProfiles(pool);
    // Fields the rows leave out are left as they are.
    expect(stored.alice).toEqual({
      ...EXPECTED.alice,
      nick: 'Alice B.',
      customFields: { Tag_Profile_Custom_Test1: 'première' },
    });
    expect(stored.bob).toEqual(EXPECTED.bob);
    const after = await rowVersions(pool);
    expect(after.alice).not.toEqual(before.alice);
    expect(after.bob).toEqual(before.bob);
    expect(after.carol).toEqual(before.carol);
    expect(await auditRows()).toEqual([
      expect.objectContaining({ outcome: 'SUCCEEDED', actor_id: 'accounts-command' }),
      expect.objectContaining({ outcome: 'SUCCEEDED', actor_id: 'migration_admin' }),
    ]);
  });

  it('leaves account state alone: a deactivated account stays deactivated', async () => {
    await pool.query(`INSERT INTO user_profile (user_id, deactivated_at) VALUES ('alice', now())`);
    expect((await importFile(fixture('profiles.jsonl'))).code).toBe(0);
    const { rows } = await pool.query(
      `SELECT nick, deactivated_at IS NOT NULL AS deactivated FROM user_profile WHERE user_id = 'alice'`,
    );
    expect(rows).toEqual([{ nick: 'Alice', deactivated: true }]);
  });
});

describe('output', () => {
  it('without a terminal: a plain line as each step ends, then the summary', async () => {
    const result = await importFile(fixture('profiles.jsonl'));
    expect(result.stderr).toMatch(/^read: 3 rows read, 0 bad in \d+\.\d s, [\d,]+ rows\/s$/m);
    expect(result.stderr).toMatch(/^merge: 3 rows into user_profile$/m);
    expect(result.stderr).toMatch(/^merge: 3 created, 0 changed in \d+\.\d s$/m);
    expect(result.stderr).not.toContain('\r');
    expect(result.stderr).not.toContain(ESCAPE);
    expect(result.stdout).toBe(
      'summary: created 3, changed 0, unchanged 0, skipped 0 (3 rows, format profile, 0 change events)\n',
    );
  });

  it('on a terminal: a progress bar with rows, rows/s and the time left', async () => {
    const file = writeTemp(
      'many.jsonl',
      Array.from({ length: 5000 }, (_, i) => `{"userID":"many_${i}","nick":"Many ${i}"}\n`).join(''),
    );
    // script(1) runs the command on a pseudo-terminal, as a person at one would.
    const command = [
      process.execPath,
      path.resolve(__dirname, '..', '..', 'dist', 'scripts', 'accounts.js'),
      'import',
      file,
    ];
    const run = spawnSync('script', ['-qec', command.map((part) => `'${part}'`).join(' '), '/dev/null'], {
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH, DATABASE_URL: database.url, TERM: 'xterm' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(run.status).toBe(0);
    // Each redraw erases the line first; what follows is the frame drawn.
    const frames = run.stdout.split(`\r${ESCAPE}[2K`);
    const drawn = (pattern: RegExp) => frames.some((frame) => pattern.test(frame));
    expect(drawn(/^read {2}\[[#.]{24}\] {2}[\d,]+ rows {2}[\d,]+ rows\/s {2}\d+% {2}ETA \d+\.\d s/)).toBe(true);
    expect(drawn(/^merge {2}5,000 rows into user_profile {2}\d+\.\d s/)).toBe(true);
    const output = run.stdout;
    expect(output).toMatch(/read: 5,000 rows read, 0 bad in/);
    expect(output).toMatch(/summary: created 5000, changed 0, unchanged 0, skipped 0/);
  });

  it('--help documents the commands, formats, options and exit codes', async () => {
    const result = await runAccounts(['--help'], {});
    expect(result.code).toBe(0);
    for (const text of [
      'import FILE',
      'export FILE',
      '--format FORMAT',
      '--skip-invalid',
      '--define-custom-fields',
      '--operator ID',
      'profile ',
      'tencent ',
      'portrait_get ',
      'Tag_Profile_IM_Gender (Gender_Type_Unknown, Gender_Type_Female, Gender_Type_Male)',
      'Tag_Profile_IM_MsgSettings',
      'Change events',
      'Exit codes',
      '3  bad rows',
    ]) {
      expect(result.stdout).toContain(text);
    }
  });

  it('refuses a bad command line with exit code 2, before touching the database', async () => {
    const cases: [string[], RegExp][] = [
      [['import'], /import needs a FILE/],
      [
        ['import', fixture('profiles.jsonl'), '--format', 'csv'],
        /--format csv: the formats are profile, tencent, portrait_get/,
      ],
      [['import', fixture('profiles.jsonl'), '--no-such-flag'], /Unknown option '--no-such-flag'/],
      [['import', path.join(folder, 'missing.jsonl')], /cannot read .*missing\.jsonl: ENOENT/],
      [['export', path.join(folder, 'x.jsonl'), '--skip-invalid'], /options of import/],
      [['delete', 'x'], /unknown command "delete"/],
    ];
    for (const [args, message] of cases) {
      const result = await runAccounts(args, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
    }
  });
});
