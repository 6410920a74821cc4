import type { CustomFieldCatalog } from './custom-field-catalog.js';
import type { ProfileRecord } from './user.repository.js';
import type { ProfileCustomField, User } from './user.types.js';

/** The API view of a stored profile: only declared custom fields, ordered by key. */
export function presentProfile(record: ProfileRecord, catalog: CustomFieldCatalog): User {
  const profileCustomField: ProfileCustomField[] = [];
  for (const key of Object.keys(record.customFields).sort()) {
    if (catalog.isDeclared(key)) profileCustomField.push({ key, value: record.customFields[key] });
  }
  return {
    userID: record.userID,
    nick: record.nick,
    avatar: record.avatar,
    gender: record.gender,
    selfSignature: record.selfSignature,
    allowType: record.allowType,
    birthday: record.birthday,
    location: record.location,
    language: record.language,
    messageSettings: record.messageSettings,
    adminForbidType: record.adminForbidType,
    level: record.level,
    role: record.role,
    profileCustomField,
    lastUpdatedTime: record.lastUpdatedTime,
  };
}
