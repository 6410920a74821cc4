import { ErrorReason } from '../errors.js';
import { badInput, CUSTOM_FIELD_KEY_PATTERN, LIMITS, utf8Bytes } from '../shared/input-rules.js';
import { CustomFieldRead, CustomFieldWrite } from './custom-field.enums.js';
import type { DefinitionChange } from './custom-field.repository.js';

export const DEFINITION_LIMITS = { descriptionBytes: 500, maxBytes: LIMITS.customValueBytes } as const;

/** A definition input as it arrives: every attribute but the key optional, `null` possible. */
export interface DefinitionInput {
  key: string;
  description?: string | null;
  maxBytes?: number | null;
  read?: CustomFieldRead | null;
  write?: CustomFieldWrite | null;
}

export function checkCustomFieldKey(key: string, field = 'key'): void {
  if (!CUSTOM_FIELD_KEY_PATTERN.test(key)) {
    throw badInput(
      field,
      ErrorReason.INVALID_VALUE,
      'must be Tag_Profile_Custom_ followed by 1 to 8 ASCII letters or digits, starting with a letter',
    );
  }
}

/** Validates a definition input, or throws the first problem found, naming its field. */
export function buildDefinitionChange(input: DefinitionInput): DefinitionChange {
  checkCustomFieldKey(input.key);
  const change: { -readonly [K in keyof DefinitionChange]: DefinitionChange[K] } = { key: input.key };
  for (const attribute of ['description', 'maxBytes', 'read', 'write'] as const) {
    if (input[attribute] === null) throw badInput(attribute, ErrorReason.NULL_NOT_ALLOWED);
  }
  if (input.description !== undefined && input.description !== null) {
    const description = input.description;
    if (!description.isWellFormed() || /[^\P{Cc}\n\t]/u.test(description)) {
      throw badInput('description', ErrorReason.INVALID_CHARACTERS);
    }
    if (utf8Bytes(description) > DEFINITION_LIMITS.descriptionBytes) {
      throw badInput(
        'description',
        ErrorReason.TOO_LONG,
        `is longer than ${DEFINITION_LIMITS.descriptionBytes} UTF-8 bytes`,
      );
    }
    change.description = description;
  }
  if (input.maxBytes !== undefined && input.maxBytes !== null) {
    if (!Number.isInteger(input.maxBytes) || input.maxBytes < 1 || input.maxBytes > DEFINITION_LIMITS.maxBytes) {
      throw badInput('maxBytes', ErrorReason.INVALID_VALUE, `must be from 1 to ${DEFINITION_LIMITS.maxBytes}`);
    }
    change.maxBytes = input.maxBytes;
  }
  if (input.read !== undefined && input.read !== null) {
    if (!Object.values(CustomFieldRead).includes(input.read)) throw badInput('read', ErrorReason.INVALID_VALUE);
    change.read = input.read;
  }
  if (input.write !== undefined && input.write !== null) {
    if (!Object.values(CustomFieldWrite).includes(input.write)) throw badInput('write', ErrorReason.INVALID_VALUE);
    change.write = input.write;
  }
  return change;
}

/** The attribute names an input sets, for the audit trail. */
export function givenAttributes(input: DefinitionInput): string[] {
  return (['description', 'maxBytes', 'read', 'write'] as const).filter((attribute) => input[attribute] !== undefined);
}
