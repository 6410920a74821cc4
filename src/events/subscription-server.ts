import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createContext, type Services } from '../context.js';
import { ErrorCode, ErrorReason, ForbiddenError } from '../errors.js';

export interface SubscriptionServerOptions {
  readonly httpServer: http.Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly subscriptionsPerConnection: number;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly logger: Logger;
}

export interface SubscriptionServer {
  /** Closes every socket with 1001 (going away, so clients reconnect elsewhere) and stops accepting. */
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 1024 * 1024;
const CLOSE_GRACE_MS = 2000;
/** RFC 6455: the endpoint is going away, e.g. a server shutting down. */
const CLOSE_GOING_AWAY = 1001;
/** graphql-ws's Forbidden: what a refused connection_init gets too. */
const CLOSE_FORBIDDEN = 4403;
/** setTimeout's limit (about 24.8 days); a token valid longer is closed then and reconnects. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The token from the connection_init payload: `authorization` or `Authorization`, "Bearer <token>". */
function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Errors graphql-js returns without a code: request errors (no path; e.g. a variable of the wrong
 * type) are the client's input, like Apollo labels them over HTTP; the rest is masked as usual.
 */
function labelled(error: GraphQLError, requestErrorCode: string): GraphQLError {
  if (error.extensions.code !== undefined || error.path !== undefined || error.originalError) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code: requestErrorCode },
  });
}

/** Serves the graphql-ws protocol on the HTTP server's GraphQL path, with the same schema. */
export function attachSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { httpServer, services, formatError } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? '/').split('?')[0] !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  httpServer.on('upgrade', onUpgrade);

  const format = (errors: readonly GraphQLError[], requestErrorCode: string) =>
    errors.map((error) => {
      const coded = labelled(error, requestErrorCode);
      return formatError(coded.toJSON(), coded);
    });

  const disposable = useServer<Record<string, unknown>>(
    {
      schema: options.schema,
      // Returning false closes the socket with 4403 Forbidden.
      onConnect: async (ctx) => {
        let viewer;
        try {
          viewer = await services.tokenVerifier.verifyAuthorization(authorizationOf(ctx.connectionParams));
        } catch {
          return false;
        }
        // A socket outlives its token only until the token expires: then it is closed like one that
        // presented an invalid token, and the client reconnects with a fresh one.
        if (viewer.expiresAt !== undefined) {
          const socket = ctx.extra.socket;
          const timer = setTimeout(
            () => socket.close(CLOSE_FORBIDDEN, 'Token expired'),
            Math.min(Math.max(viewer.expiresAt - Date.now(), 0), MAX_TIMER_MS),
          );
          socket.once('close', () => clearTimeout(timer));
        }
        return true;
      },
      onSubscribe: (ctx) => {
        // The operation being started is already counted.
        if (Object.keys(ctx.subscriptions).length > options.subscriptionsPerConnection) {
          return [
            new ForbiddenError(
              ErrorReason.TOO_MANY_SUBSCRIPTIONS,
              `A connection may hold at most ${options.subscriptionsPerConnection} operations at once`,
            ),
          ];
        }
        return undefined;
      },
      context: (ctx) => createContext(services, authorizationOf(ctx.connectionParams)),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors, ErrorCode.BAD_USER_INPUT) } : undefined,
      onError: (_ctx, _id, _payload, errors) => format(errors, 'GRAPHQL_VALIDATION_FAILED'),
    },
    wss,
  );

  return {
    async close() {
      httpServer.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(CLOSE_GOING_AWAY, 'Server is shutting down');
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const client of wss.clients) client.terminate();
      await disposable.dispose();
    },
  };
}
