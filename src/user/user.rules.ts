import { CustomFieldWrite } from '../custom-field/custom-field.enums.js';
import type { CustomFieldDefinitionRecord } from '../custom-field/custom-field.model.js';
import { ErrorReason, ForbiddenError } from '../errors.js';
import { badInput, checkText, describeReason, LIMITS } from '../shared/input-rules.js';
import type { ProfilePatch } from './user.repository.js';
import { PROFILE_FIELDS, specOf, STANDARD_FIELDS, type StandardField, type StandardValues } from './profile-fields.js';

export { STANDARD_FIELDS, type ProfilePatch, type StandardField, type StandardValues };

export interface CustomFieldEntry {
  key: string;
  value: string;
}

/** The shape of an update as it arrives: every key optional, `null` possible. */
export type ProfileUpdateInput = { [K in StandardField]?: StandardValues[K] | null } & {
  profileCustomField?: readonly CustomFieldEntry[] | null;
};

export interface PatchPolicy {
  /** The writer is an administrator: adminForbidType and ADMIN custom fields are allowed. */
  readonly isAdmin: boolean;
  /** The registry's definition of a custom field key, if any. */
  readonly customField: (key: string) => CustomFieldDefinitionRecord | undefined;
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
      throw new ForbiddenError(ErrorReason.ADMIN_ONLY, `${field} ${describeReason(ErrorReason.ADMIN_ONLY)}`, field);
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
      throw new ForbiddenError(
        ErrorReason.ADMIN_ONLY,
        `${at}.key ${describeReason(ErrorReason.ADMIN_ONLY)}`,
        `${at}.key`,
      );
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
