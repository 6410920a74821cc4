import type { Pool } from 'pg';

export const BENCH_USERS = 100_000;
export const BENCH_CUSTOM_FIELDS = [
  'Tag_Profile_Custom_Bench1',
  'Tag_Profile_Custom_Bench2',
  'Tag_Profile_Custom_Bench3',
];

/** The i-th seeded user's ID: bench_000000 .. bench_099999. */
export function benchUserID(i: number): string {
  return `bench_${String(i).padStart(6, '0')}`;
}

/**
 * Writes the 100,000 bench users, each with three custom fields, as one upsert. Deterministic and
 * idempotent: rows already equal to their seed are left alone; rows a previous run's write benchmark
 * changed are put back.
 */
export async function seed(pool: Pool): Promise<{ written: number }> {
  const [b1, b2, b3] = BENCH_CUSTOM_FIELDS;
  const result = await pool.query(
    `INSERT INTO user_profile AS p (user_id, nick, avatar, gender, self_signature, allow_type, birthday, location,
       language, message_settings, admin_forbid_type, level, role, custom_fields, last_updated_time, created_at)
     SELECT 'bench_' || lpad(i::text, 6, '0'),
       'Bench user ' || i,
       'https://cdn.example.com/avatars/' || i || '.png',
       (ARRAY['UNKNOWN', 'FEMALE', 'MALE'])[1 + i % 3]::profile_gender,
       'Status line of bench user ' || i || ', long enough to look like a real one.',
       (ARRAY['ALLOW_ANY', 'NEED_CONFIRM', 'DENY_ANY'])[1 + i % 3]::profile_allow_type,
       19700101 + (i % 50) * 10000 + (i % 12) * 100 + (i % 28),
       'CN-GD-' || (i % 100),
       i % 10,
       i % 2,
       'NONE'::profile_forbid_type,
       i % 100,
       i % 4,
       jsonb_build_object($1::text, 'first-' || i, $2::text, 'second-' || (i * 7 % 1000), $3::text, 'third value ' || i),
       timestamptz '2024-01-01 00:00:00+00',
       timestamptz '2024-01-01 00:00:00+00'
     FROM generate_series(0, $4::int - 1) AS i
     ON CONFLICT (user_id) DO UPDATE SET
       nick = EXCLUDED.nick, avatar = EXCLUDED.avatar, gender = EXCLUDED.gender,
       self_signature = EXCLUDED.self_signature, allow_type = EXCLUDED.allow_type, birthday = EXCLUDED.birthday,
       location = EXCLUDED.location, language = EXCLUDED.language, message_settings = EXCLUDED.message_settings,
       admin_forbid_type = EXCLUDED.admin_forbid_type, level = EXCLUDED.level, role = EXCLUDED.role,
       custom_fields = EXCLUDED.custom_fields, last_updated_time = EXCLUDED.last_updated_time
     WHERE (p.nick, p.avatar, p.gender, p.self_signature, p.allow_type, p.birthday, p.location, p.language,
            p.message_settings, p.admin_forbid_type, p.level, p.role, p.custom_fields, p.last_updated_time)
       IS DISTINCT FROM
           (EXCLUDED.nick, EXCLUDED.avatar, EXCLUDED.gender, EXCLUDED.self_signature, EXCLUDED.allow_type,
            EXCLUDED.birthday, EXCLUDED.location, EXCLUDED.language, EXCLUDED.message_settings,
            EXCLUDED.admin_forbid_type, EXCLUDED.level, EXCLUDED.role, EXCLUDED.custom_fields,
            EXCLUDED.last_updated_time)`,
    [b1, b2, b3, BENCH_USERS],
  );
  return { written: result.rowCount ?? 0 };
}
