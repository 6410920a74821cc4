import type { Logger } from 'pino';
import { createTokenVerifier } from './auth/token-verifier.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { openDatabase, type Database } from './db/database.js';
import { createReadinessCheck } from './db/readiness.js';
import { createWriteRateLimiter } from './limits/write-rate-limiter.js';
import { createMetrics } from './observability/metrics.js';
import { createAppServer, GRAPHQL_PATH, type AppServer } from './server.js';
import { createConfiguredCustomFieldCatalog } from './user/custom-field-catalog.js';
import { createSqlRunner, UserProfileRepository } from './user/user.repository.js';
import { UserProfileService } from './user/user.service.js';

export interface RunningApp {
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly server: AppServer;
  readonly services: Services;
  /** Stops accepting, drains requests, closes the pool, then stops an embedded database. */
  stop(): Promise<void>;
}

export function createServices(config: Config, database: Database): Services {
  const customFieldCatalog = createConfiguredCustomFieldCatalog(config.profileCustomFields);
  const sqlStatements = { count: 0 };
  const profileRepository = new UserProfileRepository(createSqlRunner(database.pool, sqlStatements));
  return {
    tokenVerifier: createTokenVerifier(config.jwt),
    customFieldCatalog,
    profileRepository,
    sqlStatements,
    profileService: new UserProfileService(profileRepository, customFieldCatalog),
    metrics: createMetrics(),
  };
}

/** Everything `npm start` does after reading the configuration; tests start the same thing. */
export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  let databaseUrl = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (databaseUrl === undefined) {
    const { startEmbeddedDatabase } = await import('./db/embedded-postgres.js');
    const embedded = await startEmbeddedDatabase({
      ...config.embeddedDatabase,
      log: (line) => logger.info(line),
    });
    databaseUrl = embedded.url;
    stopEmbedded = () => embedded.stop();
    logger.info({ dataDir: config.embeddedDatabase.dataDir }, 'embedded Postgres is running (DATABASE_URL is unset)');
  }
  try {
    const database = await openDatabase(databaseUrl, {
      poolMax: config.dbPoolMax,
      migrate: config.dbMigrate,
      connectTimeoutMs: config.dbConnectTimeoutMs,
      statementTimeoutMs: config.dbStatementTimeoutMs,
    });
    const services = createServices(config, database);
    services.metrics.watchPool(database.pool);
    // Its own statement counter: the profile runner's count is what tests of the profile SQL assert.
    const rateLimiter = createWriteRateLimiter(config.rateLimit, createSqlRunner(database.pool), (error) =>
      logger.warn({ err: error }, 'could not purge ended rate-limit windows'),
    );
    const server = await createAppServer(config, services, logger, {
      rateLimiter,
      checkReadiness: createReadinessCheck(database),
    });
    const port = await server.listen(config.port, config.host);
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    return {
      url: `http://${host}:${port}${GRAPHQL_PATH}`,
      port,
      database,
      server,
      services,
      async stop() {
        await server.stop();
        rateLimiter.stop();
        await database.close();
        await stopEmbedded?.();
      },
    };
  } catch (error) {
    await stopEmbedded?.();
    throw error;
  }
}
