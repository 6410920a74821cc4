import { BadUserInputError, ErrorReason } from '../errors.js';

/**
 * Input rules every feature shares: text and ID checks, the byte limits that are not a profile
 * field's own (those are in src/user/profile-fields.ts), and BAD_USER_INPUT errors with a reason.
 */

/** Limits in UTF-8 bytes, as Tencent Cloud Chat counts them. */
export const LIMITS = {
  userIDBytes: 32,
  customValueBytes: 500,
  userIDsPerRequest: 100,
} as const;

/** A custom field key: `Tag_Profile_Custom_` and 1 to 8 ASCII letters or digits, starting with a letter. */
export const CUSTOM_FIELD_KEY_PATTERN = /^Tag_Profile_Custom_[A-Za-z][A-Za-z0-9]{0,7}$/;

// Cc: C0 controls, DEL and C1 controls.
const CONTROL = /\p{Cc}/u;
const CONTROL_EXCEPT_NEWLINE_TAB = /[^\P{Cc}\n\t]/u;

export const utf8Bytes = (value: string): number => Buffer.byteLength(value, 'utf8');

/** Returns why a text value is unacceptable, or undefined when it is fine. */
export function textProblem(value: string, maxBytes: number, allowNewlineAndTab = false): ErrorReason | undefined {
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

/**
 * The rule for every list of user IDs an operation takes: at most `max` distinct IDs
 * (`LIMITS.userIDsPerRequest` unless the operation has its own), each valid. More is
 * BAD_USER_INPUT with reason TOO_MANY on `field` (nothing is cut silently); an invalid ID is named
 * by where it first appears (`at(index)`). Returns the distinct IDs, first appearance first.
 */
export function checkUserIDList(
  field: string,
  ids: readonly string[],
  at: (index: number) => string = (index) => `${field}[${index}]`,
  max: number = LIMITS.userIDsPerRequest,
): string[] {
  const distinct = [...new Set(ids)];
  if (distinct.length > max) {
    throw badInput(field, ErrorReason.TOO_MANY, `names ${distinct.length} distinct users; at most ${max} are accepted`);
  }
  for (const userID of distinct) {
    const problem = validateUserID(userID);
    if (problem !== undefined) throw badInput(at(ids.indexOf(userID)), problem);
  }
  return distinct;
}

const DESCRIPTIONS: Record<ErrorReason, string> = {
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
  [ErrorReason.ACCOUNT_DEACTIVATED]: 'names a deactivated account',
  [ErrorReason.ACCOUNT_DELETED]: 'names a deleted account',
};

/** How a reason reads after the name of the input at fault. */
export const describeReason = (reason: ErrorReason): string => DESCRIPTIONS[reason];

/** BAD_USER_INPUT naming the input at fault, its reason and what is wrong with it. */
export function badInput(field: string, reason: ErrorReason, detail?: string): BadUserInputError {
  return new BadUserInputError(field, reason, `${field} ${detail ?? DESCRIPTIONS[reason]}`);
}

export function checkText(field: string, value: string, maxBytes: number, allowNewlineAndTab = false): void {
  const problem = textProblem(value, maxBytes, allowNewlineAndTab);
  if (problem === ErrorReason.TOO_LONG) throw badInput(field, problem, `is longer than ${maxBytes} UTF-8 bytes`);
  if (problem !== undefined) throw badInput(field, problem);
}
