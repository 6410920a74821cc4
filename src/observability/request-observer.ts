import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { RequestRecord } from '../http/request-record.js';
import type { Metrics } from './metrics.js';

/** Records each operation's name and outcome, and the codes of the errors sent, on the request's record. */
export function createRequestObserverPlugin<T extends object>(
  recordOf: (context: T) => RequestRecord | undefined,
): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, operationName, operation, response }) {
          const record = recordOf(contextValue);
          if (record === undefined) return;
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          for (const error of errors ?? []) {
            const code = error.extensions?.code;
            record.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
          }
          record.operations.push({
            name: operationName ?? operation?.name?.value ?? undefined,
            outcome: errors === undefined || errors.length === 0 ? 'success' : 'error',
          });
        },
      };
    },
  };
}

/** How a finished record arrived: an HTTP request, or one operation on a WebSocket. */
export type FinishedRecord =
  | { readonly transport: 'http'; readonly method: string | undefined; readonly path: string; readonly status: number }
  | { readonly transport: 'websocket'; readonly path: string };

/**
 * Writes the single log line and the metrics of an HTTP request or of one WebSocket operation.
 * Only names, codes and timings are logged: never headers (the token), variables or results
 * (profile values).
 */
export function finishRecord(record: RequestRecord, details: FinishedRecord, logger: Logger, metrics: Metrics): void {
  const seconds = Number(process.hrtime.bigint() - record.startedAt) / 1e9;
  for (const operation of record.operations) metrics.observeOperation(operation.name, operation.outcome, seconds);
  for (const code of record.errorCodes) metrics.observeError(code);
  const status = details.transport === 'http' ? details.status : undefined;
  const failed = (status !== undefined && status >= 400) || record.errorCodes.length > 0;
  const line = {
    reqId: record.id,
    ...(details.transport === 'http'
      ? { method: details.method, path: details.path, status }
      : { transport: details.transport, path: details.path }),
    operations: record.operations.map((operation) => operation.name ?? 'anonymous'),
    durationMs: Math.round(seconds * 1e6) / 1e3,
    outcome: failed ? 'error' : 'success',
    ...(record.errorCodes.length > 0 ? { errorCodes: record.errorCodes } : {}),
  };
  // Over a socket there is no status: the server's own failures are what a 5xx would have been.
  const serverFailed =
    status !== undefined
      ? status >= 500
      : record.errorCodes.some((code) => code === 'INTERNAL_SERVER_ERROR' || code === 'SERVICE_UNAVAILABLE');
  if (serverFailed) logger.warn(line, 'request');
  else logger.info(line, 'request');
}
