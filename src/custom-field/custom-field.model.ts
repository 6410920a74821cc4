import type { CustomFieldRead, CustomFieldWrite } from './custom-field.enums.js';

/** A registry entry as the application uses it. */
export interface CustomFieldDefinitionRecord {
  readonly key: string;
  readonly description: string;
  readonly maxBytes: number;
  readonly read: CustomFieldRead;
  readonly write: CustomFieldWrite;
  readonly retired: boolean;
}

/** Which custom fields exist and how they may be used: read synchronously from memory. */
export interface CustomFieldCatalog {
  get(key: string): CustomFieldDefinitionRecord | undefined;
}
