import type { Logger } from 'pino';
import { createTokenVerifier } from './auth/token-verifier.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { openDatabase, type Database } from './db/database.js';
import { createProfileEvents } from './events/profile-events.js';
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

export function createServices(config: Config, database: Database, databaseUrl: string, logger: Logger): Services {
  const customFieldCatalog = createConfiguredCustomFieldCatalog(config.profileCustomFields);
  const sqlStatements = { count: 0 };
  const profileEvents = createProfileEvents(config, { pool: database.pool, url: databaseUrl }, logger);
  const profileRepository = new UserProfileRepository(
    createSqlRunner(database.pool, sqlStatements),
    profileEvents.outbox,
  );
  const profileService = new UserProfileService(profileRepository, customFieldCatalog);
  profileEvents.attach(profileRepository, profileService);
  return {
    tokenVerifier: createTokenVerifier(config.jwt.secret),
    customFieldCatalog,
    profileRepository,
    sqlStatements,
    profileService,
    profileEvents,
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
    const database = await openDatabase(databaseUrl, { poolMax: config.dbPoolMax, migrate: config.dbMigrate });
    const services = createServices(config, database, databaseUrl, logger);
    await services.profileEvents.start();
    const server = await createAppServer(config, services, logger);
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
        await services.profileEvents.stop();
        await database.close();
        await stopEmbedded?.();
      },
    };
  } catch (error) {
    await stopEmbedded?.();
    throw error;
  }
}
