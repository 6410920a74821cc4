import { CustomFieldWrite } from '../custom-field/custom-field.enums.js';
import type { CustomFieldDefinitionRecord } from '../custom-field/custom-field.types.js';
import { BadUserInputError, ErrorReason, ForbiddenError } from '../errors.js';
import { PROFILE_FIELDS, specOf, STANDARD_FIELDS, type StandardField, type StandardValues } from './profile-fields.js';

/** Limits in UTF-8 bytes, as Tencent Cloud Chat counts them; each standard field's are in profile-fields.ts. */
export const LIMITS = {
  userIDBytes: 32,
  customValueBytes: 500,
  userIDsPerRequest: 100,
} as const;

export { STANDARD_FIELDS, type StandardField, type StandardValues };

export interface CustomFieldEntry {
  key: string;
  value: string;
}

/** The shape of an update as it arrives: every key optional, `null` possible. */
export type ProfileUpdateInput = { [K in StandardField]?: StandardValues[K] | null } & {
  profileCustomField?: readonly CustomFieldEntry[] | null;
};

/** A validated update: the standard columns to set, custom values to set and custom keys to remove. */
export interface ProfilePatch {
  readonly standard: Partial<StandardValues>;
  readonly customSet: Readonly<Record<string, string>>;
  readonly customRemove: readonly string[];
}

export interface PatchPolicy {
  /** The writer is an administrator: adminForbidType and ADMIN custom fields are allowed. */
  readonly isAdmin: boolean;
  /** The registry's definition of a custom field key, if any. */
  readonly customField: (key: string) => CustomFieldDefinitionRecord | undefined;
}

// Cc: C0 controls, DEL and C1 controls.
const CONTROL = /\p{Cc}/u;
const CONTROL_EXCEPT_NEWLINE_TAB = /[^\P{Cc}\n\t]/u;

export const utf8Bytes = (value: string): number => Buffer.byteLength(value, 'utf8');

/** Returns why a text value is unacceptable, or undefined when it is fine. */
function textProblem(value: string, maxBytes: number, allowNewlineAndTab = false): ErrorReason | undefined {
  if (!value.isWellFormed()) return ErrorReason.INVALID_CHARACTERS;
  if ((allowNewlineAndTab ? CONTROL_EXCEPT_NEWLINE_TAB : CONTROL).test(value)) return ErrorReason.INVALID_CHARACTERS;
  if (utf8Bytes(value) > maxBytes) return ErrorReason.TOO_LONG;
  return undefined;
}

/** Returns why a user ID is unacceptable, or undefined when it is fine. */
export function validateUserID(userID: string): ErrorReason | undefined {
  if (userID === '') return ErrorReason.INVALID_VALUE;
  return textProblem(userID, LIMITS.userIDBytes);
}

function isRealDate(yyyymmdd: number): boolean {
  const year = Math.floor(yyyymmdd / 10000);
  const month = Math.floor(yyyymmdd / 100) % 100;
  const day = yyyymmdd % 100;
  if (year < 1000 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isHttpUrl(value: string): boolean {
  if (/\s/.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

const describe: Record<ErrorReason, string> = {
  [ErrorReason.TOO_LONG]: 'is too long',
  [ErrorReason.INVALID_CHARACTERS]: 'contains control characters or malformed Unicode',
  [ErrorReason.INVALID_VALUE]: 'is not a valid value',
  [ErrorReason.NULL_NOT_ALLOWED]: 'may be omitted but not null; clear it with "" or 0',
  [ErrorReason.EMPTY_UPDATE]: 'names nothing to update',
  [ErrorReason.UNKNOWN_CUSTOM_FIELD]: 'is not a declared custom field',
  [ErrorReason.DUPLICATE_KEY]: 'names a custom field twice',
  [ErrorReason.ADMIN_ONLY]: 'may be changed only by an administrator',
  [ErrorReason.MISSING_TOKEN]: 'is missing',
  [ErrorReason.INVALID_TOKEN]: 'is not valid',
  [ErrorReason.TOKEN_EXPIRED]: 'has expired',
  [ErrorReason.FIELD_RETIRED]: 'is a retired custom field',
  [ErrorReason.UNKNOWN_ACCOUNT]: 'names an account that does not exist',
  [ErrorReason.TOO_MANY]: 'has too many items',
  [ErrorReason.LIMIT_REACHED]: 'would exceed a limit',
  [ErrorReason.UNKNOWN_ENTITY_TYPE]: 'does not name an entity type of this subgraph',
  [ErrorReason.TOO_MANY_SUBSCRIPTIONS]: 'exceeds the subscriptions allowed on one connection',
};

export function badInput(field: string, reason: ErrorReason, detail?: string): BadUserInputError {
  return new BadUserInputError(field, reason, `${field} ${detail ?? describe[reason]}`);
}

function checkText(field: string, value: string, maxBytes: number, allowNewlineAndTab = false): void {
  const problem = textProblem(value, maxBytes, allowNewlineAndTab);
  if (problem === ErrorReason.TOO_LONG) throw badInput(field, problem, `is longer than ${maxBytes} UTF-8 bytes`);
  if (problem !== undefined) throw badInput(field, problem);
}

/** A standard field's value against its declaration (profile-fields.ts); one case per kind. */
function checkStandard(field: StandardField, value: unknown): void {
  const spec = specOf(field);
  switch (spec.kind) {
    case 'text':
      checkText(field, value as string, spec.maxBytes, spec.multiline === true);
      if (spec.url === true && value !== '' && !isHttpUrl(value as string)) {
        throw badInput(field, ErrorReason.INVALID_VALUE, 'must be "" or an http(s) URL');
      }
      return;
    case 'uint32':
      // The UInt32 scalar has already bounded the number.
      if (spec.date === true && value !== 0 && !isRealDate(value as number)) {
        throw badInput(field, ErrorReason.INVALID_VALUE, 'must be 0 or a real date written YYYYMMDD');
      }
      return;
    case 'choice':
      if (!spec.values.includes(value as number))
        throw badInput(field, ErrorReason.INVALID_VALUE, `must be ${spec.meaning}`);
      return;
    case 'enum':
      if (!Object.values(spec.values).includes(value as string)) throw badInput(field, ErrorReason.INVALID_VALUE);
      return;
    default:
      return unreachable(spec);
  }
}

function unreachable(spec: never): never {
  throw new Error(`a profile field of an unknown kind: ${JSON.stringify(spec)}`);
}

/**
 * Turns an update input into a patch, or throws the first problem found, naming its field.
 * Nothing is written unless the whole input passes.
 */
export function buildProfilePatch(input: ProfileUpdateInput, policy: PatchPolicy): ProfilePatch {
  const standard: Partial<Record<StandardField, unknown>> = {};
  for (const field of STANDARD_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (value === null) throw badInput(field, ErrorReason.NULL_NOT_ALLOWED);
    checkStandard(field, value);
    if (PROFILE_FIELDS[field].write === 'ADMIN' && !policy.isAdmin) {
      throw new ForbiddenError(ErrorReason.ADMIN_ONLY, `${field} ${describe[ErrorReason.ADMIN_ONLY]}`, field);
    }
    standard[field] = value;
  }

  const customSet: Record<string, string> = {};
  const customRemove: string[] = [];
  const custom = input.profileCustomField;
  if (custom === null) throw badInput('profileCustomField', ErrorReason.NULL_NOT_ALLOWED);
  const seen = new Set<string>();
  custom?.forEach(({ key, value }, index) => {
    const at = `profileCustomField[${index}]`;
    if (seen.has(key)) throw badInput(`${at}.key`, ErrorReason.DUPLICATE_KEY);
    seen.add(key);
    const definition = policy.customField(key);
    if (definition === undefined) throw badInput(`${at}.key`, ErrorReason.UNKNOWN_CUSTOM_FIELD);
    if (definition.retired) throw badInput(`${at}.key`, ErrorReason.FIELD_RETIRED);
    if (definition.write === CustomFieldWrite.ADMIN && !policy.isAdmin) {
      throw new ForbiddenError(ErrorReason.ADMIN_ONLY, `${at}.key ${describe[ErrorReason.ADMIN_ONLY]}`, `${at}.key`);
    }
    checkText(`${at}.value`, value, Math.min(definition.maxBytes, LIMITS.customValueBytes));
    if (value === '') customRemove.push(key);
    else customSet[key] = value;
  });

  if (Object.keys(standard).length === 0 && seen.size === 0) {
    throw badInput('input', ErrorReason.EMPTY_UPDATE, 'names no field to update');
  }
  return { standard: standard as Partial<StandardValues>, customSet, customRemove };
}
