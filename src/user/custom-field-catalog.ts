/**
 * Which custom profile fields exist. Values stored under a key that is no longer declared are
 * kept in the database but neither shown nor writable.
 */
export interface CustomFieldCatalog {
  isDeclared(key: string): boolean;
}

/** The catalog declared by configuration (`PROFILE_CUSTOM_FIELDS`). */
export function createConfiguredCustomFieldCatalog(keys: readonly string[]): CustomFieldCatalog {
  const declared = new Set(keys);
  return { isDeclared: (key) => declared.has(key) };
}
