import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig } from '../../src/config';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

test('development defaults: port 4000, embedded database, the development secret', () => {
  const config = loadConfig({});
  expect(config.port).toBe(4000);
  expect(config.databaseUrl).toBeUndefined();
  expect(config.dbMigrate).toBe(true);
  expect(config.jwt).toMatchObject({ secret: DEVELOPMENT_JWT_SECRET, usesDevelopmentSecret: true, requireExp: true });
  expect(Object.isFrozen(config)).toBe(true);
});

test('production refuses to start without a JWT_SECRET of at least 32 characters', () => {
  expect(problems({ NODE_ENV: 'production' })).toEqual([
    expect.stringMatching(/JWT_SECRET \(at least 32 characters\).* is required in production/),
  ]);
  expect(problems({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) })).toEqual([
    expect.stringContaining('at least 32 characters'),
  ]);
  expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwt.usesDevelopmentSecret).toBe(false);
});

test('every problem is reported at once', () => {
  const found = problems({
    NODE_ENV: 'staging',
    PORT: 'eighty',
    DB_MIGRATE: 'perhaps',
    DATABASE_URL: 'mysql://x',
    PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_TooLongKey,Tag_Profile_Custom_1x',
  });
  expect(found).toHaveLength(6);
});

test('custom field keys are Tag_Profile_Custom_ plus 1 to 8 letters or digits starting with a letter', () => {
  expect(
    loadConfig({ PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_A, Tag_Profile_Custom_Abcdefg8' }).profileCustomFields,
  ).toEqual(['Tag_Profile_Custom_A', 'Tag_Profile_Custom_Abcdefg8']);
  expect(problems({ PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_' })).toHaveLength(1);
  expect(problems({ PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_Abcdefghi' })).toHaveLength(1);
  expect(problems({ PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_A_b' })).toHaveLength(1);
  expect(problems({ PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_A,Tag_Profile_Custom_A' })).toHaveLength(1);
});

test('HEAP_GROWING_PERCENT: 100 unless set, 0 leaves V8 its own, out of range refused', () => {
  expect(loadConfig({}).heapGrowingPercent).toBe(100);
  expect(loadConfig({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
  expect(problems({ HEAP_GROWING_PERCENT: '-1' })).toEqual([expect.stringContaining('HEAP_GROWING_PERCENT')]);
  expect(problems({ HEAP_GROWING_PERCENT: 'lots' })).toEqual([expect.stringContaining('HEAP_GROWING_PERCENT')]);
});
