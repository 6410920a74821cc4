/**
 * What both servers under test send for a profile: the same fields the GraphQL selection in
 * operations.ts asks for, built from the same row. The floor server uses this directly.
 */
export const PROFILE_COLUMNS = `user_id, nick, avatar, gender, self_signature, allow_type, birthday, location, language,
  message_settings, admin_forbid_type, level, role, custom_fields, last_updated_time`;

export interface ProfileRow {
  user_id: string;
  nick: string;
  avatar: string;
  gender: string;
  self_signature: string;
  allow_type: string;
  birthday: string;
  location: string;
  language: string;
  message_settings: number;
  admin_forbid_type: string;
  level: string;
  role: string;
  custom_fields: Record<string, string>;
  last_updated_time: Date;
}

export function profileJson(row: ProfileRow, declared: ReadonlySet<string>): Record<string, unknown> {
  const profileCustomField: { key: string; value: string }[] = [];
  for (const key of Object.keys(row.custom_fields).sort()) {
    if (declared.has(key)) profileCustomField.push({ key, value: row.custom_fields[key] });
  }
  return {
    userID: row.user_id,
    nick: row.nick,
    avatar: row.avatar,
    gender: row.gender,
    selfSignature: row.self_signature,
    allowType: row.allow_type,
    birthday: Number(row.birthday),
    location: row.location,
    language: Number(row.language),
    messageSettings: row.message_settings,
    adminForbidType: row.admin_forbid_type,
    level: Number(row.level),
    role: Number(row.role),
    profileCustomField,
    lastUpdatedTime: row.last_updated_time.toISOString(),
  };
}
