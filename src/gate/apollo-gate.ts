import type { ApolloServerPlugin } from '@apollo/server';
import { writerOf, type Context } from '../context.js';
import { READ_AFTER_HEADER } from '../db/read-your-writes.js';
import { earlyWorkOf } from '../execution/prepared-operations.js';
import { requestRecordOf } from '../http/request-record.js';
import { createRequestObserverPlugin } from '../observability/request-observer.js';
import { operationNotFound, type OperationGate } from './operation-gate.js';

/**
 * The gate's per-request policies as Apollo plugin hooks (its document policies reach Apollo as
 * `parseOptions` and `validationRules`, its masking as `formatError`). An operation the fast path
 * already admitted or refused arrives with that verdict (EarlyWork) and is not judged twice.
 */
export function createApolloGatePlugins(gate: OperationGate): ApolloServerPlugin<Context>[] {
  const admission: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, contextValue }) {
          if (operation === undefined) throw operationNotFound(request.operationName);
          const judged = earlyWorkOf(contextValue)?.admission;
          if (judged !== undefined) {
            if (judged.refusal !== undefined) throw judged.refusal;
            return;
          }
          await gate.admit({
            document,
            operation,
            variables: request.variables ?? {},
            writer: writerOf(contextValue),
            transport: 'http',
          });
        },
        async willSendResponse({ operation, contextValue, response }) {
          if (operation?.operation !== 'mutation') return;
          const readAfter = await gate.afterMutation(writerOf(contextValue).userID);
          if (readAfter === undefined) return;
          response.http.headers.set(READ_AFTER_HEADER, readAfter);
          if (response.body.kind === 'single') {
            response.body.singleResult.extensions = { ...response.body.singleResult.extensions, readAfter };
          }
        },
      };
    },
  };
  return [admission, createRequestObserverPlugin<Context>(requestRecordOf)];
}
