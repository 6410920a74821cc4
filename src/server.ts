import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createCompiledExecution } from './execution/compiled-execution.js';
import { createFastPath, type FastPath } from './execution/fast-path.js';
import { PreparedOperations } from './execution/prepared-operations.js';
import type { Config } from './config.js';
import { createContext, type Context, type Services } from './context.js';
import type { Readiness } from './db/readiness.js';
import { attachSubscriptionServer } from './transport/websocket-server.js';
import { createApolloGatePlugins } from './gate/apollo-gate.js';
import { createOperationGate } from './gate/operation-gate.js';
import { createGraphiQL, createGraphiQLOffPage } from './graphiql/graphiql.handler.js';
import { createCors } from './http/cors.js';
import { readBody } from './http/body.js';
import { HttpError, HttpRefusalReason } from './http/http-error.js';
import { startRequestRecord, type RequestRecord } from './http/request-record.js';
import type { WriteRateLimiter } from './limits/write-rate-limiter.js';
import { buildAppSchema } from './schema.js';

export const GRAPHQL_PATH = '/graphql';

/** Optional parts wired by app.ts; tests may build a server without them. */
export interface AppServerExtras {
  readonly rateLimiter?: WriteRateLimiter;
  /** Backs GET /readyz; without it the server reports ready while it is not stopping. */
  readonly checkReadiness?: () => Promise<Readiness>;
}

/** A step of `stop()`, e.g. closing a WebSocket server so its clients get a proper close frame. */
export type ShutdownStep = () => Promise<void>;

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
  /**
   * 1. stop accepting and report not ready; 2. run the `onStop` steps; 3. wait for in-flight HTTP
   * requests (up to SHUTDOWN_TIMEOUT_MS, then cut the connections); 4. stop Apollo.
   */
  stop(): Promise<void>;
}

/** Adds the warnings collected during execution to the response's `extensions.warnings`. */
const warningsPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        if (contextValue.warnings.length === 0 || response.body.kind !== 'single') return;
        const result = response.body.singleResult;
        result.extensions = { ...result.extensions, warnings: contextValue.warnings };
      },
    };
  },
};

/**
 * Answers are never cacheable (every field needs a token), so every response says `no-store`, as
 * Apollo's cache-control plugin did. That plugin is off: it hooks every field resolution to collect
 * cache hints we never give, which cost more CPU than any other part of Apollo on a 100-profile read.
 */
const noStorePlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

export async function createAppServer(
  config: Config,
  services: Services,
  logger: Logger,
  extras: AppServerExtras = {},
): Promise<AppServer> {
  const schema = await buildAppSchema(services);
  const { rateLimiter } = extras;

  const gate = createOperationGate({ config, schema, metrics: services.metrics, logger, rateLimiter });
  const prepared = new PreparedOperations();
  const fastPath: FastPath | undefined = config.graphqlJit
    ? createFastPath({ schema, services, prepared, gate })
    : undefined;
  const apollo = new ApolloServer<Context>({
    ...(config.graphqlJit ? { gateway: createCompiledExecution(schema, prepared) } : { schema }),
    csrfPrevention: true,
    // The gate's own validation rule refuses introspection where it is off (on every transport).
    introspection: true,
    hideSchemaDetailsFromClientErrors: config.isProduction,
    includeStacktraceInErrorResponses: config.development,
    allowBatchedHttpRequests: config.http.batchEnabled,
    parseOptions: gate.parseOptions,
    validationRules: [...gate.validationRules],
    // main.ts owns shutdown; Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    formatError: gate.formatError,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin,
      warningsPlugin,
      ...createApolloGatePlugins(gate),
    ],
  });
  await apollo.start();

  async function handleGraphQL(request: IncomingMessage, response: ServerResponse, record: RequestRecord) {
    let body: unknown;
    let context: Context | undefined;
    if (request.method === 'POST') {
      const text = await readBody(request, config.http.bodyLimitBytes);
      if ((request.headers['content-type'] ?? '').startsWith('application/json')) {
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          throw new HttpError(400, 'The request body is not valid JSON', {
            code: 'BAD_REQUEST',
            reason: HttpRefusalReason.INVALID_JSON,
          });
        }
      } else {
        body = text;
      }
      if (Array.isArray(body) && config.http.batchEnabled && body.length > config.http.batchMaxOperations) {
        throw new HttpError(400, `A batch may hold at most ${config.http.batchMaxOperations} operations`, {
          code: 'BAD_REQUEST',
          reason: HttpRefusalReason.BATCH_LIMIT,
          limit: config.http.batchMaxOperations,
        });
      }
      if (fastPath !== undefined && typeof body === 'object') {
        const outcome = await fastPath(body, request.headers, record, response);
        if (outcome.answered) return;
        context = outcome.context;
      }
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
      context: async () =>
        // Plugins see only the context: it carries the HTTP request's record for them.
        context ?? (await createContext(services, headers.get('authorization'), record)),
    });
    for (const [name, value] of result.headers) response.setHeader(name, value);
    if (result.body.kind === 'complete') {
      response.setHeader('content-length', String(Buffer.byteLength(result.body.string)));
      response.writeHead(result.status ?? 200);
      response.end(result.body.string);
      return;
    }
    response.writeHead(result.status ?? 200);
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  }

  let stopping = false;
  async function handleReadiness(response: ServerResponse) {
    if (stopping) return sendJson(response, 503, { status: 'unavailable', reason: 'SHUTTING_DOWN' });
    const readiness = (await extras.checkReadiness?.()) ?? { ready: true };
    if (readiness.ready) return sendJson(response, 200, { status: 'ready' });
    sendJson(response, 503, { status: 'unavailable', reason: readiness.reason });
  }

  async function handleMetrics(response: ServerResponse) {
    const text = await services.metrics.registry.metrics();
    response.writeHead(200, { 'content-type': services.metrics.registry.contentType });
    response.end(text);
  }

  const graphiql = config.graphiql ? createGraphiQL(config, GRAPHQL_PATH) : createGraphiQLOffPage(GRAPHQL_PATH);
  const cors = createCors(config.http.corsOrigins);

  let inFlight = 0;
  const httpServer = http.createServer((request, response) => {
    inFlight += 1;
    const record = startRequestRecord(request, config.http.trustProxy);
    response.setHeader('x-request-id', record.id);
    // While stopping, each connection closes after its current response.
    if (stopping) response.setHeader('connection', 'close');
    const path = (request.url ?? '/').split('?')[0];
    response.once('close', () => {
      inFlight -= 1;
      if (stopping) httpServer.closeIdleConnections();
      const details = { method: request.method, path, status: response.statusCode };
      if (path === GRAPHQL_PATH) gate.finish(record, { transport: 'http', ...details });
      else logger.debug({ reqId: record.id, ...details }, 'request');
    });
    const isGet = request.method === 'GET' || request.method === 'HEAD';
    let handled: Promise<void>;
    if (cors.handle(request, response)) handled = Promise.resolve();
    else if (graphiql.matches(request)) handled = graphiql.respond(request, response);
    else if (path === GRAPHQL_PATH) handled = handleGraphQL(request, response, record);
    else if (isGet && path === '/healthz') handled = Promise.resolve(sendJson(response, 200, { status: 'ok' }));
    else if (isGet && path === '/readyz') handled = handleReadiness(response);
    else if (isGet && path === '/metrics' && config.http.metricsEnabled) handled = handleMetrics(response);
    else handled = Promise.reject(new HttpError(404, 'Not found'));
    handled.catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpError) {
        record.errorCodes.push(String(error.extensions.code));
        // A refused body may still be arriving: close the connection rather than read it all.
        const close: Record<string, string> = error.status === 413 ? { connection: 'close' } : {};
        sendJson(response, error.status, { errors: [{ message: error.message, extensions: error.extensions }] }, close);
        return;
      }
      record.errorCodes.push('INTERNAL_SERVER_ERROR');
      logger.error({ err: error, reqId: record.id }, 'request failed outside GraphQL execution');
      sendJson(response, 500, {
        errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
    });
  });
  httpServer.keepAliveTimeout = 65_000;
  const subscriptions = attachSubscriptionServer({
    httpServer,
    path: GRAPHQL_PATH,
    schema,
    services,
    gate,
    limits: config.websocket,
    trustProxy: config.http.trustProxy,
    logger,
  });

  // Subscribers are told first (close code 1001, going away), before requests are awaited.
  const stopSteps: ShutdownStep[] = [() => subscriptions.close()];
  return {
    httpServer,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => resolve((httpServer.address() as AddressInfo).port));
      });
    },
    onStop(step) {
      stopSteps.push(step);
    },
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      for (const step of stopSteps) {
        try {
          await step();
        } catch (error) {
          logger.error({ err: error }, 'a shutdown step failed');
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), config.http.shutdownTimeoutMs);
      });
      if (await Promise.race([closed.then(() => false), timedOut])) {
        logger.warn({ inFlight }, 'requests still running at the shutdown deadline; closing their connections');
        httpServer.closeAllConnections();
        await closed;
      }
      clearTimeout(timer);
      await apollo.stop();
    },
  };
}
