import { PROFILE_FIELDS, STANDARD_FIELDS, type StandardField } from '../../user/profile-fields.js';

/**
 * The file formats of `npm run accounts`, and how Tencent Cloud Chat names our fields and values.
 * Every mapping comes from the field table (src/user/profile-fields.ts): a field added there is
 * imported and exported in every format with no change here.
 */
export const BULK_FORMATS = {
  /** JSON Lines of our own profile shape: `userID`, the `User` field names, `profileCustomField`. */
  profile: 'JSON Lines, one profile per line in our shape',
  /** JSON Lines of Tencent's REST shape: `{"To_Account": ..., "ProfileItem": [{"Tag", "Value"}]}`. */
  tencent: "JSON Lines, one account per line in Tencent Cloud Chat's REST shape",
  /** Whole `portrait_get` answers, `{"UserProfileItem": [...]}`, on one line or pretty-printed. */
  portrait_get: "whole answers of Tencent Cloud Chat's portrait_get, one after another",
} as const;

export type BulkFormat = keyof typeof BULK_FORMATS;

export const isBulkFormat = (name: string): name is BulkFormat => Object.hasOwn(BULK_FORMATS, name);

/** The keys at the top of a `portrait_get` answer; the first key of a file tells its format. */
export const ANSWER_KEYS: ReadonlySet<string> = new Set([
  'ActionStatus',
  'ErrorCode',
  'ErrorInfo',
  'ErrorDisplay',
  'UserProfileItem',
  'Fail_Account',
]);

/** The standard field each Tencent tag names. */
export const FIELD_OF_TAG: ReadonlyMap<string, StandardField> = new Map(
  STANDARD_FIELDS.map((field) => [PROFILE_FIELDS[field].tencentTag, field]),
);

/** For each enum field, our value of each of Tencent's value names (`Gender_Type_Female` is FEMALE). */
export const OUR_VALUE_OF_TENCENT: ReadonlyMap<StandardField, ReadonlyMap<string, string>> = new Map(
  STANDARD_FIELDS.flatMap((field) => {
    const spec = PROFILE_FIELDS[field];
    if (spec.kind !== 'enum') return [];
    return [[field, new Map(Object.entries(spec.tencentValues).map(([ours, theirs]) => [theirs, ours]))] as const];
  }),
);

/**
 * Fields of the `User` type that describe the account rather than its profile: an export in our
 * format may carry them, and an import accepts and ignores them (it never changes account state).
 */
export const READ_ONLY_PROFILE_KEYS: ReadonlySet<string> = new Set(['accountStatus', 'lastUpdatedTime']);
