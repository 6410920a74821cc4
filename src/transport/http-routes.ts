import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { attachReadAfter, READ_AFTER_HEADER } from '../db/read-your-writes.js';
import type { Readiness } from '../db/readiness.js';
import type { OperationGate } from '../gate/operation-gate.js';
import type { GraphiQL } from '../graphiql/graphiql.handler.js';
import { requestTarget } from '../http/request-target.js';
import type { createCors } from '../http/cors.js';
import { HttpError } from '../http/http-error.js';
import { startRequestRecord } from '../http/request-record.js';
import type { Metrics } from '../observability/metrics.js';
import type { GraphQLHandler } from './graphql-http.js';

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

/** What the routes and the shutdown share: whether the server is stopping, and the requests in flight. */
export interface ServerState {
  stopping: boolean;
  inFlight: number;
  /** Called when a response ends while stopping, so idle keep-alive connections close. */
  onIdle(): void;
}

export interface Routes {
  readonly config: Config;
  readonly logger: Logger;
  readonly graphqlPath: string;
  readonly gate: OperationGate;
  readonly graphql: GraphQLHandler;
  readonly graphiql: GraphiQL;
  readonly cors: ReturnType<typeof createCors>;
  readonly metrics: Metrics;
  /** Backs GET /readyz; without it the server reports ready while it is not stopping. */
  readonly checkReadiness?: () => Promise<Readiness>;
  readonly state: ServerState;
}

/**
 * The HTTP server's routing: CORS preflights, GraphiQL (or the page saying it is off), GraphQL,
 * the health checks and metrics; every GraphQL request's log line and metrics go through the gate.
 */
export function createRequestListener(routes: Routes): RequestListener {
  const { config, logger, graphqlPath, gate, state } = routes;

  async function readiness(response: ServerResponse): Promise<void> {
    if (state.stopping) return sendJson(response, 503, { status: 'unavailable', reason: 'SHUTTING_DOWN' });
    const result: Readiness = (await routes.checkReadiness?.()) ?? { ready: true };
    const missing = result.missing === undefined ? {} : { missing: result.missing };
    // Ready with a role missing (the primary: reads still answer; the replicas: the primary reads) is
    // degraded, not unready, so a load balancer keeps sending the requests it can answer.
    if (result.ready) return sendJson(response, 200, { status: result.missing ? 'degraded' : 'ready', ...missing });
    sendJson(response, 503, { status: 'unavailable', reason: result.reason, ...missing });
  }

  async function metrics(response: ServerResponse): Promise<void> {
    const text = await routes.metrics.registry.metrics();
    response.writeHead(200, { 'content-type': routes.metrics.registry.contentType });
    response.end(text);
  }

  return (request: IncomingMessage, response: ServerResponse) => {
    state.inFlight += 1;
    const record = attachReadAfter(
      startRequestRecord(request, config.http.trustProxy),
      request.headers[READ_AFTER_HEADER],
    );
    response.setHeader('x-request-id', record.id);
    // While stopping, each connection closes after its current response.
    if (state.stopping) response.setHeader('connection', 'close');
    const { path } = requestTarget(request);
    response.once('close', () => {
      state.inFlight -= 1;
      if (state.stopping) state.onIdle();
      const details = { method: request.method, path, status: response.statusCode };
      if (path === graphqlPath) gate.finish(record, { transport: 'http', ...details });
      else logger.debug({ reqId: record.id, ...details }, 'request');
    });
    const isGet = request.method === 'GET' || request.method === 'HEAD';
    let handled: Promise<void>;
    // A route that throws at once is answered like one that rejects: never an uncaught exception.
    try {
      if (routes.cors.handle(request, response)) handled = Promise.resolve();
      else if (routes.graphiql.matches(request)) handled = routes.graphiql.respond(request, response);
      else if (path === graphqlPath) handled = routes.graphql(request, response, record);
      else if (isGet && path === '/healthz') handled = Promise.resolve(sendJson(response, 200, { status: 'ok' }));
      else if (isGet && path === '/readyz') handled = readiness(response);
      else if (isGet && path === '/metrics' && config.http.metricsEnabled) handled = metrics(response);
      else handled = Promise.reject(new HttpError(404, 'Not found'));
    } catch (error) {
      handled = Promise.reject(error);
    }
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
  };
}
