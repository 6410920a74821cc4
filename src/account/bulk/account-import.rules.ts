import { GraphQLError } from 'graphql';
import { CustomFieldRead, CustomFieldWrite } from '../../custom-field/custom-field.enums.js';
import type { CustomFieldDefinitionRecord } from '../../custom-field/custom-field.model.js';
import { DEFINITION_LIMITS } from '../../custom-field/custom-field.rules.js';
import { ErrorReason } from '../../errors.js';
import { UINT32_MAX } from '../../scalars/uint32.scalar.js';
import { CUSTOM_FIELD_KEY_PATTERN, validateUserID, describeReason } from '../../shared/input-rules.js';
import { PROFILE_FIELDS, type StandardField } from '../../user/profile-fields.js';
import {
  buildProfilePatch,
  type CustomFieldEntry,
  type PatchPolicy,
  type ProfilePatch,
  type ProfileUpdateInput,
} from '../../user/user.rules.js';
import { FIELD_OF_TAG, OUR_VALUE_OF_TENCENT, READ_ONLY_PROFILE_KEYS } from './bulk-format.model.js';

/**
 * The checks of one import row: the shape of its format, then the same rules as updateMyProfile
 * (buildProfilePatch, with an administrator's rights) against the custom field registry.
 */

/** Why a row is refused: the field at fault (as the row names it) and a reason the API also uses. */
export class RowRefusal extends Error {
  constructor(
    readonly field: string,
    readonly reason: ErrorReason,
    readonly detail: string,
  ) {
    super(`${field} ${detail}`);
    this.name = 'RowRefusal';
  }
}

/** The field named when the row as a whole is at fault (not JSON, not an object). */
export const WHOLE_ROW = '(row)';

export interface CheckedRow {
  readonly userID: string;
  readonly patch: ProfilePatch;
}

export interface RowCheckOptions {
  /** Custom field keys the registry does not hold are defined (`--define-custom-fields`). */
  readonly defineMissing: boolean;
  /** How many more definitions the registry has room for. */
  readonly room: number;
}

const refuse = (field: string, reason: ErrorReason, detail = describeReason(reason)): never => {
  throw new RowRefusal(field, reason, detail);
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isStandardField = (key: string): key is StandardField => Object.hasOwn(PROFILE_FIELDS, key);

/** The JSON type a field's value must have; buildProfilePatch checks the value itself. */
function checkType(field: StandardField, value: unknown, named: string): void {
  if (value === null) return; // NULL_NOT_ALLOWED, from the rules
  switch (PROFILE_FIELDS[field].kind) {
    case 'text':
    case 'enum':
      if (typeof value !== 'string') refuse(named, ErrorReason.INVALID_VALUE, 'must be a string');
      return;
    case 'uint32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
        refuse(named, ErrorReason.INVALID_VALUE, `must be a whole number from 0 to ${UINT32_MAX}`);
      }
      return;
    case 'choice':
      if (typeof value !== 'number') refuse(named, ErrorReason.INVALID_VALUE, 'must be a number');
      return;
  }
}

function checkUserID(value: unknown, named: string): string {
  if (value === undefined) refuse(named, ErrorReason.INVALID_VALUE, 'is missing');
  if (typeof value !== 'string') refuse(named, ErrorReason.INVALID_VALUE, 'must be a string');
  const problem = validateUserID(value as string);
  if (problem !== undefined) refuse(named, problem);
  return value as string;
}

/** A row as buildProfilePatch takes it, and how the row names each of its fields. */
interface RowInput {
  readonly userID: string;
  readonly input: ProfileUpdateInput;
  /** The row's name of an input field (`nick`, `profileCustomField[0].key`). */
  readonly nameOf: (inputField: string) => string;
}

const sameName = (field: string): string => field;

const CUSTOM_PATH = /^profileCustomField\[(\d+)\]\.(key|value)$/;

function profileRow(row: unknown): RowInput {
  if (!isObject(row)) return refuse(WHOLE_ROW, ErrorReason.INVALID_VALUE, 'is not a JSON object');
  const input: Record<string, unknown> = {};
  // for-in rather than Object.entries: this runs once per row of a file of millions.
  for (const key in row) {
    if (key === 'userID') continue;
    const value = row[key];
    if (isStandardField(key)) {
      checkType(key, value, key);
      input[key] = value;
    } else if (key === 'profileCustomField') {
      input.profileCustomField = customEntries(value);
    } else if (!READ_ONLY_PROFILE_KEYS.has(key)) {
      refuse(key, ErrorReason.INVALID_VALUE, 'is not a field of a profile');
    }
  }
  return { userID: checkUserID(row.userID, 'userID'), input, nameOf: sameName };
}

function customEntries(value: unknown): CustomFieldEntry[] | null {
  if (value === null) return null;
  if (!Array.isArray(value)) return refuse('profileCustomField', ErrorReason.INVALID_VALUE, 'must be an array');
  const entries: CustomFieldEntry[] = [];
  for (let index = 0; index < value.length; index += 1) {
    const entry: unknown = value[index];
    const at = `profileCustomField[${index}]`;
    if (!isObject(entry)) refuse(at, ErrorReason.INVALID_VALUE, 'must be an object with a key and a value');
    const { key, value: text } = entry as Record<string, unknown>;
    for (const name in entry as object) {
      if (name !== 'key' && name !== 'value')
        refuse(at, ErrorReason.INVALID_VALUE, 'must be an object with a key and a value');
    }
    if (typeof key !== 'string') refuse(`${at}.key`, ErrorReason.INVALID_VALUE, 'must be a string');
    if (text === null) refuse(`${at}.value`, ErrorReason.NULL_NOT_ALLOWED);
    if (typeof text !== 'string') refuse(`${at}.value`, ErrorReason.INVALID_VALUE, 'must be a string');
    entries.push({ key: key as string, value: text as string });
  }
  return entries;
}

function tencentRow(row: unknown): RowInput {
  if (!isObject(row)) return refuse(WHOLE_ROW, ErrorReason.INVALID_VALUE, 'is not a JSON object');
  let account: { key: string; value: unknown } | undefined;
  for (const [key, value] of Object.entries(row)) {
    if (key === 'To_Account' || key === 'From_Account') {
      if (account !== undefined)
        refuse(key, ErrorReason.DUPLICATE_KEY, `names the account a second time (${account.key})`);
      account = { key, value };
    } else if (key === 'ResultCode') {
      if (value !== 0) {
        const info = typeof row.ResultInfo === 'string' && row.ResultInfo !== '' ? ` (${row.ResultInfo})` : '';
        refuse(
          key,
          ErrorReason.INVALID_VALUE,
          `is ${JSON.stringify(value)}${info}: no profile was read for this account`,
        );
      }
    } else if (key !== 'ProfileItem' && key !== 'ResultInfo') {
      refuse(key, ErrorReason.INVALID_VALUE, 'is not a key of a Tencent profile item');
    }
  }
  const userID = checkUserID(account?.value, account?.key ?? 'To_Account');
  const items = row.ProfileItem ?? [];
  if (!Array.isArray(items)) return refuse('ProfileItem', ErrorReason.INVALID_VALUE, 'must be an array');
  const input: Record<string, unknown> = {};
  const custom: CustomFieldEntry[] = [];
  items.forEach((item: unknown, index) => {
    const at = `ProfileItem[${index}]`;
    if (
      !isObject(item) ||
      typeof item.Tag !== 'string' ||
      Object.keys(item).some((k) => k !== 'Tag' && k !== 'Value')
    ) {
      refuse(at, ErrorReason.INVALID_VALUE, 'must be an object with a Tag (a string) and a Value');
    }
    const { Tag: tag, Value: value } = item as { Tag: string; Value: unknown };
    const field = FIELD_OF_TAG.get(tag);
    if (field === undefined) {
      if (value === null || value === undefined) refuse(tag, ErrorReason.NULL_NOT_ALLOWED);
      if (typeof value !== 'string') refuse(tag, ErrorReason.INVALID_VALUE, 'must be a string');
      custom.push({ key: tag, value: value as string });
      return;
    }
    if (Object.hasOwn(input, field)) refuse(tag, ErrorReason.DUPLICATE_KEY, 'is named twice');
    const values = OUR_VALUE_OF_TENCENT.get(field);
    if (values !== undefined && value !== null) {
      const ours = typeof value === 'string' ? values.get(value) : undefined;
      if (ours === undefined) refuse(tag, ErrorReason.INVALID_VALUE, `must be one of ${[...values.keys()].join(', ')}`);
      input[field] = ours;
      return;
    }
    checkType(field, value ?? null, tag);
    input[field] = value ?? null;
  });
  if (custom.length > 0) input.profileCustomField = custom;
  const nameOf = (inputField: string): string => {
    if (isStandardField(inputField)) return PROFILE_FIELDS[inputField].tencentTag;
    const match = CUSTOM_PATH.exec(inputField);
    return match === null ? inputField : custom[Number(match[1])].key;
  };
  return { userID, input, nameOf };
}

const NO_CHANGE: ProfilePatch = Object.freeze({ standard: {}, customSet: {}, customRemove: [] });

/**
 * Checks rows one at a time. Custom field keys the registry lacks are, with `defineMissing`, taken
 * as defined with the registry's defaults (as defineProfileCustomField makes them) while the
 * registry has room; `keysToDefine` lists the ones rows that passed use.
 */
export class ImportRowChecker {
  private readonly toDefine = new Set<string>();
  /** The keys the row being checked uses that the registry lacks (with defineMissing). */
  private undefinedKeys: string[] = [];
  private readonly policy: PatchPolicy = {
    // An import is an administrator's: adminForbidType and ADMIN custom fields may be written.
    isAdmin: true,
    customField: (key) => this.definitionOf(key),
  };

  constructor(
    private readonly definitions: ReadonlyMap<string, CustomFieldDefinitionRecord>,
    private readonly options: RowCheckOptions,
  ) {}

  get keysToDefine(): readonly string[] {
    return [...this.toDefine];
  }

  /** The row's account and patch, or a RowRefusal naming the first problem. */
  check(format: 'profile' | 'tencent', row: unknown): CheckedRow {
    const { userID, input, nameOf } = format === 'profile' ? profileRow(row) : tencentRow(row);
    const custom = input.profileCustomField;
    let names = 0;
    for (const key in input) if (key !== 'profileCustomField' || custom === null || custom!.length > 0) names += 1;
    // Only an account: created when missing, like importAccounts with only an ID.
    if (names === 0) return { userID, patch: NO_CHANGE };
    if (this.undefinedKeys.length > 0) this.undefinedKeys = [];
    let patch: ProfilePatch;
    try {
      patch = buildProfilePatch(input, this.policy);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const inputField = String(error.extensions.field);
      const reason = error.extensions.reason as ErrorReason;
      let detail = error.message.startsWith(`${inputField} `)
        ? error.message.slice(inputField.length + 1)
        : error.message;
      if (reason === ErrorReason.UNKNOWN_CUSTOM_FIELD && this.options.defineMissing) {
        detail +=
          ', and cannot be defined: a key is Tag_Profile_Custom_ followed by 1 to 8 ASCII letters or digits, starting with a letter';
      }
      return refuse(nameOf(inputField), reason, detail);
    }
    for (const key of this.undefinedKeys) {
      if (this.toDefine.has(key)) continue;
      if (this.toDefine.size >= this.options.room) {
        const index = (custom ?? []).findIndex((entry) => entry.key === key);
        refuse(
          nameOf(`profileCustomField[${index}].key`),
          ErrorReason.LIMIT_REACHED,
          'cannot be defined: the custom field registry is full (PROFILE_CUSTOM_FIELD_LIMIT, retired fields count)',
        );
      }
      this.toDefine.add(key);
    }
    return { userID, patch };
  }

  private definitionOf(key: string): CustomFieldDefinitionRecord | undefined {
    const defined = this.definitions.get(key);
    if (defined !== undefined || !this.options.defineMissing || !CUSTOM_FIELD_KEY_PATTERN.test(key)) return defined;
    this.undefinedKeys.push(key);
    return {
      key,
      description: '',
      maxBytes: DEFINITION_LIMITS.maxBytes,
      read: CustomFieldRead.PUBLIC,
      write: CustomFieldWrite.OWNER,
      retired: false,
    };
  }
}
