import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Services } from './context.js';
import type { Readiness } from './db/readiness.js';
import { createFastPath } from './execution/fast-path.js';
import { PreparedOperations } from './execution/prepared-operations.js';
import { createOperationGate, type WritePositions } from './gate/operation-gate.js';
import { createGraphiQL, createGraphiQLOffPage } from './graphiql/graphiql.handler.js';
import { createCors } from './http/cors.js';
import type { WriteRateLimiter } from './limits/write-rate-limiter.js';
import { buildAppSchema } from './schema.js';
import { startApollo } from './transport/apollo.js';
import { createGraphQLHandler } from './transport/graphql-http.js';
import { createRequestListener, type ServerState } from './transport/http-routes.js';
import { createShutdown, type ShutdownStep } from './transport/shutdown.js';
import { attachSubscriptionServer } from './transport/websocket-server.js';

export type { ShutdownStep };

export const GRAPHQL_PATH = '/graphql';

/** Optional parts wired by app.ts; tests may build a server without them. */
export interface AppServerExtras {
  readonly rateLimiter?: WriteRateLimiter;
  /** Backs GET /readyz; without it the server reports ready while it is not stopping. */
  readonly checkReadiness?: () => Promise<Readiness>;
  /** With replicas: read-your-writes positions after mutations (see src/db/read-your-writes.ts). */
  readonly writePositions?: WritePositions;
}

export interface AppServer {
  readonly httpServer: http.Server;
  /** Resolves with the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Adds a step to `stop()`. Steps run in the order added, after the server has stopped accepting
   * connections and before in-flight HTTP requests are awaited; the database pool closes only
   * after `stop()` resolves (see RunningApp.stop).
   */
  onStop(step: ShutdownStep): void;
  /** Stops accepting, closes sockets, drains requests (see transport/shutdown.ts), stops Apollo. */
  stop(): Promise<void>;
}

/**
 * The HTTP server and its transports, built around one gate: Apollo (transport/apollo.ts) and the
 * fast path for HTTP (transport/graphql-http.ts, routed by transport/http-routes.ts), graphql-ws on
 * the same path (transport/websocket-server.ts), and the shutdown (transport/shutdown.ts).
 */
export async function createAppServer(
  config: Config,
  services: Services,
  logger: Logger,
  extras: AppServerExtras = {},
): Promise<AppServer> {
  const schema = await buildAppSchema(services);
  const gate = createOperationGate({
    config,
    schema,
    metrics: services.metrics,
    logger,
    rateLimiter: extras.rateLimiter,
    writePositions: extras.writePositions,
  });
  const prepared = new PreparedOperations();
  const apollo = await startApollo(config, schema, gate, prepared);
  const fastPath = config.graphqlJit ? createFastPath({ schema, services, prepared, gate }) : undefined;

  const state: ServerState = { stopping: false, inFlight: 0, onIdle: () => server.closeIdleConnections() };
  const server = http.createServer(
    createRequestListener({
      config,
      logger,
      graphqlPath: GRAPHQL_PATH,
      gate,
      graphql: createGraphQLHandler({ config, services, apollo, fastPath }),
      graphiql: config.graphiql ? createGraphiQL(config, GRAPHQL_PATH) : createGraphiQLOffPage(GRAPHQL_PATH),
      cors: createCors(config.http.corsOrigins),
      metrics: services.metrics,
      checkReadiness: extras.checkReadiness,
      state,
    }),
  );
  server.keepAliveTimeout = 65_000;
  const subscriptions = attachSubscriptionServer({
    httpServer: server,
    path: GRAPHQL_PATH,
    schema,
    services,
    gate,
    limits: config.websocket,
    trustProxy: config.http.trustProxy,
    logger,
  });

  // Subscribers are told first (close code 1001, going away), before requests are awaited.
  const steps: ShutdownStep[] = [() => subscriptions.close()];
  return {
    httpServer: server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    onStop(step) {
      steps.push(step);
    },
    stop: createShutdown({
      httpServer: server,
      state,
      steps,
      afterRequests: () => apollo.stop(),
      timeoutMs: config.http.shutdownTimeoutMs,
      logger,
    }),
  };
}
