import type { Pool } from 'pg';
import { AllowType, Gender } from '../user/user.enums.js';
import type { StandardValues } from '../user/profile-fields.js';

export type DemoUser = { readonly userID: string } & Readonly<
  Pick<
    StandardValues,
    'nick' | 'avatar' | 'gender' | 'selfSignature' | 'allowType' | 'birthday' | 'location' | 'language' | 'level'
  >
>;

/** The demo user whose development token GraphiQL puts in its headers tab. */
export const DEMO_VIEWER_ID = 'demo_alice';

/** Profiles a fresh development database starts with, so `me` and `users(ids:)` show something. */
export const DEMO_USERS: readonly DemoUser[] = [
  {
    userID: DEMO_VIEWER_ID,
    nick: 'Alice',
    avatar: 'https://example.com/avatars/alice.png',
    gender: Gender.FEMALE,
    selfSignature: 'Trying out the profile service.',
    allowType: AllowType.ALLOW_ANY,
    birthday: 19900415,
    location: 'Shenzhen',
    language: 1,
    level: 3,
  },
  {
    userID: 'demo_bob',
    nick: 'Bob',
    avatar: 'https://example.com/avatars/bob.png',
    gender: Gender.MALE,
    selfSignature: 'Ask me about federation.',
    allowType: AllowType.NEED_CONFIRM,
    birthday: 19851102,
    location: 'Berlin',
    language: 2,
    level: 7,
  },
  {
    userID: 'demo_carol',
    nick: 'Carol',
    avatar: 'https://example.com/avatars/carol.png',
    gender: Gender.UNKNOWN,
    selfSignature: 'Friend requests closed.\nMessages welcome.',
    allowType: AllowType.DENY_ANY,
    birthday: 20010730,
    location: 'Lisbon',
    language: 3,
    level: 1,
  },
];

/**
 * Inserts the demo users when the profile table is empty, in one statement; does nothing
 * otherwise, so it is safe on every start. Resolves with the number of profiles inserted.
 */
export async function seedDemoUsers(pool: Pool): Promise<number> {
  const result = await pool.query({
    text: `INSERT INTO user_profile
        (user_id, nick, avatar, gender, self_signature, allow_type, birthday, location, language, level)
      SELECT d."userID", d.nick, d.avatar, d.gender, d."selfSignature", d."allowType", d.birthday, d.location,
        d.language, d.level
      FROM jsonb_to_recordset($1::jsonb) AS d("userID" text, nick text, avatar text, gender profile_gender,
        "selfSignature" text, "allowType" profile_allow_type, birthday bigint, location text, language bigint,
        level bigint)
      WHERE NOT EXISTS (SELECT 1 FROM user_profile)
      ON CONFLICT (user_id) DO NOTHING`,
    values: [JSON.stringify(DEMO_USERS)],
  });
  return result.rowCount ?? 0;
}
