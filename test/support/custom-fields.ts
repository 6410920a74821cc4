import { randomBytes } from 'node:crypto';
import type { TestServer } from './test-server';

/** A custom field key no other test uses: the prefix, a letter, then 7 hex digits. */
export function uniqueFieldKey(): string {
  return `Tag_Profile_Custom_F${randomBytes(4).toString('hex').slice(0, 7)}`;
}

export const DEFINITION_FIELDS = 'key description maxBytes read write retired';
export const PROFILE_FIELDS = 'userID nick avatar adminForbidType lastUpdatedTime profileCustomField { key value }';

export interface DefinitionOptions {
  description?: string;
  maxBytes?: number;
  read?: 'PUBLIC' | 'PRIVATE';
  write?: 'OWNER' | 'ADMIN';
}

/** Defines a field as an administrator and fails the test if that is refused. */
export async function defineField(server: TestServer, key: string, options: DefinitionOptions = {}) {
  const response = await server.request(
    `mutation ($input: ProfileCustomFieldDefinitionInput!) { defineProfileCustomField(input: $input) { ${DEFINITION_FIELDS} } }`,
    { as: 'registry_admin', admin: true, variables: { input: { key, ...options } } },
  );
  if (response.errors !== undefined)
    throw new Error(`defineProfileCustomField failed: ${JSON.stringify(response.errors)}`);
  return response.data!.defineProfileCustomField;
}

/** Calls `check` until it returns true or `timeoutMs` passes; the last failure is reported. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function customValues(user: {
  profileCustomField: Array<{ key: string; value: string }>;
}): Record<string, string> {
  return Object.fromEntries(user.profileCustomField.map((field) => [field.key, field.value]));
}
