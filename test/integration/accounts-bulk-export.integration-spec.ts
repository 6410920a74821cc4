import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { DEFAULT_STANDARD_VALUES, PROFILE_FIELDS, STANDARD_FIELDS } from '../../src/user/profile-fields';
import { fixture, runAccounts, storedProfiles, summaryOf, ALICE_STANDARD } from '../fixtures/accounts/accounts-command';
import { createOwnDatabase } from '../support/db';

// `npm run accounts -- export` as a process, and round trips: export, import into an empty
// database, and the profiles there are the same.
jest.setTimeout(60_000);

let source: { url: string; drop(): Promise<void> };
let target: { url: string; drop(): Promise<void> };
let sourcePool: Pool;
let targetPool: Pool;
let folder: string;

const FORMATS = ['profile', 'tencent', 'portrait_get'] as const;

const exportTo = async (url: string, name: string, ...flags: string[]) => {
  const file = path.join(folder, name);
  const result = await runAccounts(['export', file, ...flags], { DATABASE_URL: url });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return { result, text: readFileSync(file, 'utf8') };
};

const lines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));

beforeAll(async () => {
  source = await createOwnDatabase('accounts_bulk_source');
  target = await createOwnDatabase('accounts_bulk_target');
  sourcePool = new Pool({ connectionString: source.url, max: 2 });
  targetPool = new Pool({ connectionString: target.url, max: 2 });
  folder = mkdtempSync(path.join(os.tmpdir(), 'accounts-bulk-export-'));
  // The first runs migrate the empty databases.
  for (const url of [source.url, target.url]) {
    expect((await runAccounts(['export', path.join(folder, 'first.jsonl')], { DATABASE_URL: url })).code).toBe(0);
  }
});

beforeEach(async () => {
  for (const pool of [sourcePool, targetPool]) {
    await pool.query(
      'TRUNCATE user_profile, profile_event, admin_audit, profile_custom_field, user_status, presence_session',
    );
  }
  expect((await runAccounts(['import', fixture('profiles.jsonl')], { DATABASE_URL: source.url })).code).toBe(0);
  // A PRIVATE field only administrators write (exported), a retired one (left out), a deactivated account.
  await sourcePool.query(`
    INSERT INTO profile_custom_field (key, read, write) VALUES ('Tag_Profile_Custom_Vip', 'PRIVATE', 'ADMIN');
    INSERT INTO profile_custom_field (key, retired) VALUES ('Tag_Profile_Custom_Gone', true);
    UPDATE user_profile SET custom_fields = custom_fields || '{"Tag_Profile_Custom_Vip": "gold"}' WHERE user_id = 'alice';
    UPDATE user_profile SET custom_fields = '{"Tag_Profile_Custom_Gone": "hidden"}', nick = E'Bob \\u2028 \\\\ \\u00e9\\U0001F600' WHERE user_id = 'bob';
    UPDATE user_profile SET deactivated_at = now() WHERE user_id = 'carol'`);
});

afterAll(async () => {
  await sourcePool?.end();
  await targetPool?.end();
  await source?.drop();
  await target?.drop();
  rmSync(folder, { recursive: true, force: true });
});

it('our format: every account as an administrator reads it, ordered by userID', async () => {
  const { result, text } = await exportTo(source.url, 'profiles.jsonl');
  expect(result.stdout).toBe(
    `summary: 3 profiles written to ${path.join(folder, 'profiles.jsonl')} (format profile)\n`,
  );
  expect(result.stderr).toMatch(/^export: 3 profiles written in \d+\.\d s, [\d,]+ rows\/s$/m);
  const [alice, bob, carol] = lines(text);
  expect(Object.keys(alice)).toEqual(['userID', ...STANDARD_FIELDS, 'profileCustomField']);
  expect(alice).toEqual({
    userID: 'alice',
    ...ALICE_STANDARD,
    profileCustomField: [
      { key: 'Tag_Profile_Custom_Mood', value: '😀 happy' },
      { key: 'Tag_Profile_Custom_Test1', value: 'première' },
      { key: 'Tag_Profile_Custom_Vip', value: 'gold' },
    ],
  });
  expect(bob).toEqual({
    userID: 'bob',
    ...DEFAULT_STANDARD_VALUES,
    nick: 'Bob \u2028 \\ é😀',
    gender: 'MALE',
    profileCustomField: [],
  });
  expect(carol).toEqual({
    userID: 'carol',
    ...DEFAULT_STANDARD_VALUES,
    profileCustomField: [],
    accountStatus: 'DEACTIVATED',
  });
  const { rows } = await sourcePool.query(
    `SELECT operation, outcome FROM admin_audit WHERE operation = 'bulkExportAccounts'`,
  );
  expect(rows).toEqual([{ operation: 'bulkExportAccounts', outcome: 'SUCCEEDED' }]);
});

it("Tencent's shapes: every standard tag with Tencent's value names, then the custom fields", async () => {
  const { text } = await exportTo(source.url, 'tencent.jsonl', '--format', 'tencent');
  const [alice] = lines(text) as { To_Account: string; ProfileItem: { Tag: string; Value: unknown }[] }[];
  expect(alice.To_Account).toBe('alice');
  expect(alice.ProfileItem.map((item) => item.Tag)).toEqual([
    ...STANDARD_FIELDS.map((field) => PROFILE_FIELDS[field].tencentTag),
    'Tag_Profile_Custom_Mood',
    'Tag_Profile_Custom_Test1',
    'Tag_Profile_Custom_Vip',
  ]);
  const value = (tag: string) => alice.ProfileItem.find((item) => item.Tag === tag)?.Value;
  expect(value('Tag_Profile_IM_Gender')).toBe('Gender_Type_Female');
  expect(value('Tag_Profile_IM_AllowType')).toBe('AllowType_Type_AllowAny');
  expect(value('Tag_Profile_IM_AdminForbidType')).toBe('AdminForbid_Type_SendOut');
  expect(value('Tag_Profile_IM_BirthDay')).toBe(19900415);
  expect(value('Tag_Profile_IM_MsgSettings')).toBe(1);
  expect(value('Tag_Profile_IM_Image')).toBe('https://example.com/alice.png');

  const answer = JSON.parse((await exportTo(source.url, 'answer.json', '--format', 'portrait_get')).text);
  expect(answer.ActionStatus).toBe('OK');
  expect(answer.ErrorCode).toBe(0);
  expect(answer.UserProfileItem.map((item: { To_Account: string }) => item.To_Account)).toEqual([
    'alice',
    'bob',
    'carol',
  ]);
  expect(answer.UserProfileItem[0]).toEqual({ ...alice, ResultCode: 0, ResultInfo: '' });
});

it.each(FORMATS)('round trip in %s: export, import into an empty database, equal profiles', async (format) => {
  const exported = await exportTo(source.url, `out.${format}`, '--format', format);
  const imported = await runAccounts(['import', path.join(folder, `out.${format}`), '--define-custom-fields'], {
    DATABASE_URL: target.url,
  });
  expect(imported.code).toBe(0);
  expect(summaryOf(imported.stdout)).toEqual({ created: 3, changed: 0, unchanged: 0, skipped: 0 });
  const expected = await storedProfiles(sourcePool);
  // The retired field is not exported (as no administrator's read shows it).
  delete expected.bob.customFields.Tag_Profile_Custom_Gone;
  expect(await storedProfiles(targetPool)).toEqual(expected);

  // The second database exports the same file (an import never deactivates).
  const again = await exportTo(target.url, `again.${format}`, '--format', format);
  expect(again.text).toBe(exported.text.replace(',"accountStatus":"DEACTIVATED"', ''));
});

it('an empty database exports an empty file, or an answer with no items', async () => {
  const { text } = await exportTo(target.url, 'empty.jsonl');
  expect(text).toBe('');
  const answer = await exportTo(target.url, 'empty.json', '--format', 'portrait_get');
  expect(JSON.parse(answer.text)).toEqual({
    ActionStatus: 'OK',
    ErrorCode: 0,
    ErrorInfo: '',
    ErrorDisplay: '',
    UserProfileItem: [],
  });
});

it('writes to standard output with "-", the summary then going to standard error', async () => {
  const result = await runAccounts(['export', '-', '--format', 'tencent'], { DATABASE_URL: source.url });
  expect(result.code).toBe(0);
  expect(lines(result.stdout).map((line) => line.To_Account)).toEqual(['alice', 'bob', 'carol']);
  expect(result.stderr).toMatch(/^summary: 3 profiles written to standard output \(format tencent\)$/m);
});

it('leaves no partial file behind, and refuses a folder it cannot write to', async () => {
  await exportTo(source.url, 'complete.jsonl');
  expect(readdirSync(folder).filter((name) => name.includes('partial'))).toEqual([]);
  const result = await runAccounts(['export', path.join(folder, 'no-such-folder', 'x.jsonl')], {
    DATABASE_URL: source.url,
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/cannot write .*x\.jsonl: ENOENT/);
});
