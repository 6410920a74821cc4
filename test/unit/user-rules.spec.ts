import { CustomFieldRead, CustomFieldWrite } from '../../src/custom-field/custom-field.enums';
import type { CustomFieldDefinitionRecord } from '../../src/custom-field/custom-field.model';
import { ErrorReason } from '../../src/errors';
import { AllowType, ForbidType, Gender } from '../../src/user/user.enums';
import { buildProfilePatch, type PatchPolicy, type ProfileUpdateInput } from '../../src/user/user.rules';
import { validateUserID } from '../../src/shared/input-rules';

const TEST1: CustomFieldDefinitionRecord = {
  key: 'Tag_Profile_Custom_Test1',
  description: '',
  maxBytes: 500,
  read: CustomFieldRead.PUBLIC,
  write: CustomFieldWrite.OWNER,
  retired: false,
};
const policy: PatchPolicy = { isAdmin: false, customField: (key) => (key === TEST1.key ? TEST1 : undefined) };

function problem(input: ProfileUpdateInput, withPolicy: PatchPolicy = policy): Record<string, unknown> | undefined {
  try {
    buildProfilePatch(input, withPolicy);
    return undefined;
  } catch (error) {
    return (error as { extensions: Record<string, unknown> }).extensions;
  }
}

const bytes = (n: number, char = 'a') => char.repeat(n);

describe('byte limits, counted in UTF-8', () => {
  test.each([
    ['nick', 500],
    ['selfSignature', 500],
    ['location', 16],
  ] as const)('%s accepts %i bytes and refuses one more', (field, limit) => {
    expect(problem({ [field]: bytes(limit) })).toBeUndefined();
    expect(problem({ [field]: bytes(limit + 1) })).toEqual({ code: 'BAD_USER_INPUT', field, reason: 'TOO_LONG' });
  });

  test('multi-byte characters count by their bytes', () => {
    // '好' is 3 bytes: 166 of them are 498 bytes, 167 are 501.
    expect(problem({ nick: bytes(166, '好') + 'ab' })).toBeUndefined();
    expect(problem({ nick: bytes(167, '好') })).toMatchObject({ field: 'nick', reason: 'TOO_LONG' });
    // '😀' is 4 bytes (two UTF-16 units): 4 of them are 16 bytes.
    expect(problem({ location: bytes(4, '😀') })).toBeUndefined();
    expect(problem({ location: bytes(4, '😀') + 'a' })).toMatchObject({ field: 'location', reason: 'TOO_LONG' });
  });

  test('avatar is at most 500 bytes and must be "" or an http(s) URL', () => {
    const prefix = 'https://example.com/';
    expect(problem({ avatar: prefix + bytes(500 - prefix.length) })).toBeUndefined();
    expect(problem({ avatar: prefix + bytes(501 - prefix.length) })).toMatchObject({
      field: 'avatar',
      reason: 'TOO_LONG',
    });
    expect(problem({ avatar: '' })).toBeUndefined();
    expect(problem({ avatar: 'http://cdn.example.com/a.png' })).toBeUndefined();
    for (const bad of [
      'ftp://example.com/a.png',
      'javascript:alert(1)',
      'example.com/a.png',
      'https://',
      'https://a b.com/',
    ]) {
      expect(problem({ avatar: bad })).toEqual({ code: 'BAD_USER_INPUT', field: 'avatar', reason: 'INVALID_VALUE' });
    }
  });

  test('custom values are at most 500 bytes', () => {
    expect(problem({ profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: bytes(500) }] })).toBeUndefined();
    expect(problem({ profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: bytes(501) }] })).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'profileCustomField[0].value',
      reason: 'TOO_LONG',
    });
  });
});

describe('characters', () => {
  test.each(['\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\n', '\t', '\r'])(
    'nick refuses control character %j',
    (c) => {
      expect(problem({ nick: `a${c}b` })).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'nick',
        reason: 'INVALID_CHARACTERS',
      });
    },
  );

  test('selfSignature allows newline and tab but no other control character', () => {
    expect(problem({ selfSignature: 'line one\nline\ttwo' })).toBeUndefined();
    expect(problem({ selfSignature: 'a\rb' })).toMatchObject({ field: 'selfSignature', reason: 'INVALID_CHARACTERS' });
    expect(problem({ selfSignature: 'a\u0000b' })).toMatchObject({
      field: 'selfSignature',
      reason: 'INVALID_CHARACTERS',
    });
  });

  test('lone surrogates are refused everywhere', () => {
    expect(problem({ nick: 'a\ud800' })).toMatchObject({ field: 'nick', reason: 'INVALID_CHARACTERS' });
    expect(problem({ location: '\udc00' })).toMatchObject({ field: 'location', reason: 'INVALID_CHARACTERS' });
    expect(problem({ profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: 'x\ud83d' }] })).toMatchObject({
      field: 'profileCustomField[0].value',
      reason: 'INVALID_CHARACTERS',
    });
    expect(problem({ nick: '😀 paired surrogates are fine' })).toBeUndefined();
  });
});

describe('numbers and enums', () => {
  test('birthday is 0 or a real YYYYMMDD date', () => {
    for (const ok of [0, 19900415, 20000229, 10000101, 99991231]) expect(problem({ birthday: ok })).toBeUndefined();
    for (const bad of [1, 19900431, 19000229, 19901301, 19900100, 9991231, 4294967295]) {
      expect(problem({ birthday: bad })).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'birthday',
        reason: 'INVALID_VALUE',
      });
    }
  });

  test('messageSettings is 0 or 1', () => {
    expect(problem({ messageSettings: 0 })).toBeUndefined();
    expect(problem({ messageSettings: 1 })).toBeUndefined();
    expect(problem({ messageSettings: 2 })).toMatchObject({ field: 'messageSettings', reason: 'INVALID_VALUE' });
    expect(problem({ messageSettings: -1 })).toMatchObject({ field: 'messageSettings', reason: 'INVALID_VALUE' });
  });

  test('enum fields take their enum values', () => {
    expect(problem({ gender: Gender.MALE, allowType: AllowType.DENY_ANY })).toBeUndefined();
    expect(problem({ gender: 'Gender_Type_Male' as Gender })).toMatchObject({
      field: 'gender',
      reason: 'INVALID_VALUE',
    });
  });

  test('adminForbidType is for administrators only', () => {
    expect(problem({ adminForbidType: ForbidType.SEND_OUT })).toEqual({
      code: 'FORBIDDEN',
      field: 'adminForbidType',
      reason: 'ADMIN_ONLY',
    });
    expect(problem({ adminForbidType: ForbidType.SEND_OUT }, { ...policy, isAdmin: true })).toBeUndefined();
  });
});

describe('patch semantics', () => {
  test('absent fields are left out of the patch; cleared ones are kept', () => {
    const patch = buildProfilePatch({ nick: '', level: 0, gender: undefined }, policy);
    expect(patch.standard).toEqual({ nick: '', level: 0 });
  });

  test('explicit null is refused', () => {
    expect(problem({ nick: null })).toEqual({ code: 'BAD_USER_INPUT', field: 'nick', reason: 'NULL_NOT_ALLOWED' });
    expect(problem({ profileCustomField: null })).toMatchObject({
      field: 'profileCustomField',
      reason: 'NULL_NOT_ALLOWED',
    });
  });

  test('an input with nothing to update is refused', () => {
    expect(problem({})).toEqual({ code: 'BAD_USER_INPUT', field: 'input', reason: 'EMPTY_UPDATE' });
    expect(problem({ nick: undefined })).toMatchObject({ reason: 'EMPTY_UPDATE' });
  });

  test('custom fields: "" removes, a value sets, a key twice or an undeclared key is refused', () => {
    const patch = buildProfilePatch({ profileCustomField: [{ key: 'Tag_Profile_Custom_Test1', value: '' }] }, policy);
    expect(patch).toEqual({ standard: {}, customSet: {}, customRemove: ['Tag_Profile_Custom_Test1'] });
    expect(
      problem({
        profileCustomField: [
          { key: 'Tag_Profile_Custom_Test1', value: 'a' },
          { key: 'Tag_Profile_Custom_Test1', value: 'b' },
        ],
      }),
    ).toEqual({ code: 'BAD_USER_INPUT', field: 'profileCustomField[1].key', reason: ErrorReason.DUPLICATE_KEY });
    expect(problem({ profileCustomField: [{ key: 'Tag_Profile_Custom_Nope', value: 'a' }] })).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'profileCustomField[0].key',
      reason: 'UNKNOWN_CUSTOM_FIELD',
    });
  });
});

describe('user IDs', () => {
  test('are 1 to 32 UTF-8 bytes without control characters', () => {
    expect(validateUserID('a')).toBeUndefined();
    expect(validateUserID('a'.repeat(32))).toBeUndefined();
    expect(validateUserID('a'.repeat(33))).toBe(ErrorReason.TOO_LONG);
    expect(validateUserID('好'.repeat(11))).toBe(ErrorReason.TOO_LONG);
    expect(validateUserID('')).toBe(ErrorReason.INVALID_VALUE);
    expect(validateUserID('a\u0000')).toBe(ErrorReason.INVALID_CHARACTERS);
    expect(validateUserID('\ud800')).toBe(ErrorReason.INVALID_CHARACTERS);
  });
});
