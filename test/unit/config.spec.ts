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

test('development defaults: port 4000 on loopback, embedded database, the development secret', () => {
  const config = loadConfig({});
  expect(config).toMatchObject({ nodeEnv: 'development', development: true, host: '127.0.0.1' });
  expect(config.port).toBe(4000);
  expect(config.databaseUrl).toBeUndefined();
  expect(config.dbMigrate).toBe(true);
  expect(config.jwt).toMatchObject({ secret: DEVELOPMENT_JWT_SECRET, usesDevelopmentSecret: true, requireExp: true });
  expect(Object.isFrozen(config)).toBe(true);
});

const DATABASE_URL = 'postgres://db.internal/profiles';

test('production refuses to start without a JWT_SECRET of at least 32 characters', () => {
  expect(problems({ NODE_ENV: 'production', DATABASE_URL })).toEqual([
    expect.stringMatching(/JWT_SECRET \(at least 32 characters\).* is required in production/),
  ]);
  expect(problems({ NODE_ENV: 'production', DATABASE_URL, JWT_SECRET: 'x'.repeat(31) })).toEqual([
    expect.stringContaining('at least 32 characters'),
  ]);
  const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL, JWT_SECRET: 'x'.repeat(32) });
  expect(config).toMatchObject({ development: false, host: '0.0.0.0' });
  expect(config.jwt.usesDevelopmentSecret).toBe(false);
});

describe('the development configuration is never reached by accident', () => {
  it('NODE_ENV unset with a DATABASE_URL runs as production: a key is required', () => {
    expect(problems({ DATABASE_URL })).toEqual([expect.stringMatching(/JWT_SECRET .* is required in production/)]);
    const config = loadConfig({ DATABASE_URL, JWT_SECRET: 'x'.repeat(32) });
    expect(config).toMatchObject({ nodeEnv: 'production', development: false, introspection: false, graphiql: false });
    expect(config.modeReason).toMatch(/NODE_ENV is unset and DATABASE_URL is set/);
  });

  it('NODE_ENV unset on a HOST other machines reach runs as production', () => {
    expect(problems({ HOST: '0.0.0.0' })).toEqual([
      expect.stringContaining('DATABASE_URL is required in production'),
      expect.stringMatching(/JWT_SECRET .* is required in production/),
    ]);
    for (const HOST of ['127.0.0.1', 'localhost', '::1', '[::1]']) {
      expect(loadConfig({ HOST })).toMatchObject({ development: true, host: HOST });
    }
  });

  it('the published development secret is refused outside development, and test mode has no fallback', () => {
    for (const NODE_ENV of ['production', 'test']) {
      expect(problems({ NODE_ENV, DATABASE_URL, JWT_SECRET: DEVELOPMENT_JWT_SECRET })).toEqual([
        expect.stringContaining('published development secret'),
      ]);
    }
    expect(problems({ DATABASE_URL, JWT_SECRET: DEVELOPMENT_JWT_SECRET })).toEqual([
      expect.stringContaining('published development secret'),
    ]);
    expect(problems({ NODE_ENV: 'test', DATABASE_URL })).toEqual([
      expect.stringMatching(/JWT_SECRET .* is required in test/),
    ]);
  });

  it('development chosen explicitly keeps its conveniences wherever it listens', () => {
    const config = loadConfig({ NODE_ENV: 'development', HOST: '0.0.0.0', DATABASE_URL });
    expect(config).toMatchObject({ development: true, host: '0.0.0.0' });
    expect(config.jwt.usesDevelopmentSecret).toBe(true);
  });

  it('the refusal says why the server is running as production', () => {
    expect(() => loadConfig({ DATABASE_URL })).toThrow(/NODE_ENV is unset and DATABASE_URL is set: production/);
  });
});

test('every problem is reported at once', () => {
  const found = problems({
    NODE_ENV: 'staging',
    PORT: 'eighty',
    DB_MIGRATE: 'perhaps',
    DATABASE_URL: 'mysql://x',
    PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_TooLongKey,Tag_Profile_Custom_1x',
  });
  // Five of the values, and the key an unknown NODE_ENV needs: it is taken as production.
  expect(found).toHaveLength(7);
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
