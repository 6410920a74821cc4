import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { createContext, type Context, type Services } from '../context.js';
import type { FastPath } from '../execution/fast-path.js';
import { readBody } from '../http/body.js';
import { HttpError, HttpRefusalReason } from '../http/http-error.js';
import type { RequestRecord } from '../http/request-record.js';
import { requestTarget } from '../http/request-target.js';

/** The body of a GraphQL POST: JSON parsed (a batch checked against its limit), anything else as text. */
async function readGraphQLBody(request: IncomingMessage, limits: Config['http']): Promise<unknown> {
  const text = await readBody(request, limits.bodyLimitBytes);
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) return text;
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON', {
      code: 'BAD_REQUEST',
      reason: HttpRefusalReason.INVALID_JSON,
    });
  }
  if (Array.isArray(body) && limits.batchEnabled && body.length > limits.batchMaxOperations) {
    throw new HttpError(400, `A batch may hold at most ${limits.batchMaxOperations} operations`, {
      code: 'BAD_REQUEST',
      reason: HttpRefusalReason.BATCH_LIMIT,
      limit: limits.batchMaxOperations,
    });
  }
  return body;
}

export type GraphQLHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  record: RequestRecord,
) => Promise<void>;

/**
 * GraphQL over HTTP: a POST the fast path can answer ends there; everything else (and what the
 * fast path hands on, with the work it did) goes to Apollo.
 */
export function createGraphQLHandler(options: {
  readonly config: Config;
  readonly services: Services;
  readonly apollo: ApolloServer<Context>;
  readonly fastPath: FastPath | undefined;
}): GraphQLHandler {
  const { config, services, apollo, fastPath } = options;
  return async (request, response, record) => {
    let body: unknown;
    let context: Context | undefined;
    if (request.method === 'POST') {
      body = await readGraphQLBody(request, config.http);
      if (fastPath !== undefined && typeof body === 'object') {
        const outcome = await fastPath(body, request.headers, record, response);
        if (outcome.answered) return;
        context = outcome.context;
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: requestTarget(request).search, body },
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
  };
}
