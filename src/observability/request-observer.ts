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

/**
 * Writes the request's single log line and its metrics. Only names, codes and timings are logged:
 * never headers (the token), variables or results (profile values).
 */
export function finishRequest(
  record: RequestRecord,
  details: { method: string | undefined; path: string; status: number },
  logger: Logger,
  metrics: Metrics,
): void {
  const seconds = Number(process.hrtime.bigint() - record.startedAt) / 1e9;
  for (const operation of record.operations) metrics.observeOperation(operation.name, operation.outcome, seconds);
  for (const code of record.errorCodes) metrics.observeError(code);
  const failed = details.status >= 400 || record.errorCodes.length > 0;
  const line = {
    reqId: record.id,
    method: details.method,
    path: details.path,
    status: details.status,
    operations: record.operations.map((operation) => operation.name ?? 'anonymous'),
    durationMs: Math.round(seconds * 1e6) / 1e3,
    outcome: failed ? 'error' : 'success',
    ...(record.errorCodes.length > 0 ? { errorCodes: record.errorCodes } : {}),
  };
  if (details.status >= 500) logger.warn(line, 'request');
  else logger.info(line, 'request');
}
