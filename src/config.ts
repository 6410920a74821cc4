import path from 'node:path';

/** The secret `npm start` and `npm run token` use in development when JWT_SECRET is unset. Never valid in production. */
export const DEVELOPMENT_JWT_SECRET = 'profile-service-development-secret-do-not-use-in-production';

export const CUSTOM_FIELD_KEY_PATTERN = /^Tag_Profile_Custom_[A-Za-z][A-Za-z0-9]{0,7}$/;

export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  /** Unset: the embedded Postgres in `embeddedDatabase.dataDir` is used. */
  readonly databaseUrl: string | undefined;
  readonly embeddedDatabase: { readonly dataDir: string; readonly port: number };
  readonly dbPoolMax: number;
  readonly dbMigrate: boolean;
  readonly jwt: { readonly secret: string; readonly usesDevelopmentSecret: boolean };
  readonly profileCustomFields: readonly string[];
  /** Custom field registry: the cap on definitions (retired ones count) and the re-read period. */
  readonly customFieldRegistry: { readonly maxDefinitions: number; readonly refreshMs: number };
  /** GraphiQL on GET /graphql for browsers; off in production unless GRAPHIQL=true. */
  readonly graphiql: boolean;
  /** Schema introspection; off in production unless INTROSPECTION=true. */
  readonly introspection: boolean;
  /** Execute operations compiled by graphql-jit (true) or with graphql-js (false). */
  readonly graphqlJit: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The only reader of the environment. Every problem is collected so a misconfigured
 * deployment learns everything wrong with it in one start, not one per restart.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return parsed;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const nodeEnvRaw = value('NODE_ENV') ?? 'development';
  let nodeEnv: NodeEnv = 'development';
  if (nodeEnvRaw === 'development' || nodeEnvRaw === 'production' || nodeEnvRaw === 'test') {
    nodeEnv = nodeEnvRaw;
  } else {
    problems.push(`NODE_ENV must be development, production or test (got "${nodeEnvRaw}")`);
  }
  const isProduction = nodeEnv === 'production';

  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }

  let secret = value('JWT_SECRET');
  let usesDevelopmentSecret = false;
  if (secret === undefined) {
    if (isProduction) problems.push('JWT_SECRET is required in production (at least 32 characters)');
    secret = DEVELOPMENT_JWT_SECRET;
    usesDevelopmentSecret = true;
  } else if (isProduction && secret.length < 32) {
    problems.push(`JWT_SECRET must be at least 32 characters in production (got ${secret.length})`);
  }

  const profileCustomFields = (value('PROFILE_CUSTOM_FIELDS') ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  for (const key of profileCustomFields) {
    if (!CUSTOM_FIELD_KEY_PATTERN.test(key)) {
      problems.push(
        `PROFILE_CUSTOM_FIELDS: "${key}" is not Tag_Profile_Custom_ followed by 1 to 8 ASCII letters or digits starting with a letter`,
      );
    }
  }
  if (new Set(profileCustomFields).size !== profileCustomFields.length) {
    problems.push('PROFILE_CUSTOM_FIELDS lists a key twice');
  }

  const maxDefinitions = integer('PROFILE_CUSTOM_FIELD_LIMIT', 20, 1, 10000);
  if (profileCustomFields.length > maxDefinitions) {
    problems.push(
      `PROFILE_CUSTOM_FIELDS lists ${profileCustomFields.length} keys, more than PROFILE_CUSTOM_FIELD_LIMIT (${maxDefinitions})`,
    );
  }

  const config: Config = {
    nodeEnv,
    isProduction,
    port: integer('PORT', 4000, 0, 65535),
    host: value('HOST') ?? '0.0.0.0',
    databaseUrl,
    embeddedDatabase: {
      dataDir: path.resolve(value('EMBEDDED_PG_DIR') ?? '.data/postgres'),
      port: integer('EMBEDDED_PG_PORT', 54329, 1024, 65535),
    },
    dbPoolMax: integer('DB_POOL_MAX', 10, 1, 1000),
    dbMigrate: boolean('DB_MIGRATE', true),
    jwt: { secret, usesDevelopmentSecret },
    profileCustomFields,
    customFieldRegistry: {
      maxDefinitions,
      refreshMs: integer('PROFILE_CUSTOM_FIELD_REFRESH_MS', 5000, 100, 600000),
    },
    graphiql: boolean('GRAPHIQL', !isProduction),
    introspection: boolean('INTROSPECTION', !isProduction),
    graphqlJit: boolean('GRAPHQL_JIT', true),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function deepFreeze<T extends object>(target: T): T {
  for (const inner of Object.values(target)) {
    if (inner !== null && typeof inner === 'object') deepFreeze(inner as object);
  }
  return Object.freeze(target);
}
