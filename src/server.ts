import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createCompiledExecution } from './compiled-execution.js';
import type { Config } from './config.js';
import { createContext, type Context, type Services } from './context.js';
import { createFormatError } from './errors.js';
import { attachSubscriptionServer } from './events/subscription-server.js';
import { createGraphiQL } from './graphiql/graphiql.handler.js';
import { buildAppSchema } from './schema.js';

export const GRAPHQL_PATH = '/graphql';
const MAX_BODY_BYTES = 1024 * 1024;

export interface AppServer {
  readonly httpServer: http.Server;
  /** Resolves with the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Closes WebSockets with 1001 (going away), stops accepting connections, lets in-flight requests
   * finish, then stops Apollo.
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

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, `Request body is larger than ${limit} bytes`));
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `Request body is larger than ${limit} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export async function createAppServer(config: Config, services: Services, logger: Logger): Promise<AppServer> {
  const schema = await buildAppSchema();
  const formatError = createFormatError({ includeStack: config.nodeEnv === 'development', logger });
  const apollo = new ApolloServer<Context>({
    ...(config.graphqlJit ? { gateway: createCompiledExecution(schema) } : { schema }),
    csrfPrevention: true,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: config.nodeEnv === 'development',
    // main.ts owns shutdown; Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    formatError,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin,
      warningsPlugin,
    ],
  });
  await apollo.start();

  async function handleGraphQL(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (request.method === 'POST') {
      const text = await readBody(request, MAX_BODY_BYTES);
      if ((headers.get('content-type') ?? '').startsWith('application/json')) {
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          throw new HttpError(400, 'The request body is not valid JSON');
        }
      } else {
        body = text;
      }
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
      context: () => createContext(services, headers.get('authorization')),
    });
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of result.headers) responseHeaders[name] = value;
    if (result.body.kind === 'complete') {
      responseHeaders['content-length'] = String(Buffer.byteLength(result.body.string));
      response.writeHead(result.status ?? 200, responseHeaders);
      response.end(result.body.string);
      return;
    }
    response.writeHead(result.status ?? 200, responseHeaders);
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  }

  const graphiql = config.graphiql ? createGraphiQL(config, GRAPHQL_PATH) : undefined;

  const httpServer = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const handled = graphiql?.matches(request)
      ? graphiql.respond(request, response)
      : path === GRAPHQL_PATH
        ? handleGraphQL(request, response)
        : Promise.reject(new HttpError(404, 'Not found'));
    handled.catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(response, error.status, { errors: [{ message: error.message, extensions: { code: 'BAD_REQUEST' } }] });
        return;
      }
      logger.error({ err: error }, 'request failed outside GraphQL execution');
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
    subscriptionsPerConnection: config.events.subscriptionsPerConnection,
    formatError,
    logger,
  });

  return {
    httpServer,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => resolve((httpServer.address() as AddressInfo).port));
      });
    },
    async stop() {
      await subscriptions.close();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      await closed;
      await apollo.stop();
    },
  };
}
