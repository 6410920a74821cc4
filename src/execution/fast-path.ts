import { getVariableValues, type ExecutionResult, type GraphQLSchema } from 'graphql';
import Negotiator from 'negotiator';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createContext, writerOf, type Context, type Services } from '../context.js';
import { READ_AFTER_HEADER } from '../db/read-your-writes.js';
import type { RequestRecord } from '../http/request-record.js';
import type { OperationGate } from '../gate/operation-gate.js';
import { attachEarlyWork, type EarlyWork, type PreparedOperations } from './prepared-operations.js';

/** The media types Apollo chooses among for a single result, in its order of preference. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_CONTENT_TYPE = 'application/graphql-response+json; charset=utf-8';
const APOLLO_RESULT_TYPES = [
  JSON_CONTENT_TYPE,
  GRAPHQL_RESPONSE_CONTENT_TYPE,
  'application/json; callbackSpec=1.0; charset=utf-8',
];
/** Distinct `accept` values remembered; clients send few, and past this many the rest go to Apollo. */
const MAX_ACCEPT_VALUES = 64;

/**
 * The content type Apollo would answer a successful single result with, for an `accept` header:
 * Apollo's own choice (negotiator, over the same list), remembered per header value. Undefined for
 * what the fast path leaves to Apollo (its callback variant, or nothing acceptable: a 406).
 */
function createResultTypeChooser(): (accept: string | undefined) => string | undefined {
  const chosen = new Map<string, string | undefined>();
  return (accept) => {
    if (accept === undefined || accept === '') return JSON_CONTENT_TYPE;
    if (chosen.has(accept)) return chosen.get(accept);
    const preferred = new Negotiator({ headers: { accept } }).mediaType(APOLLO_RESULT_TYPES);
    const type = preferred === JSON_CONTENT_TYPE || preferred === GRAPHQL_RESPONSE_CONTENT_TYPE ? preferred : undefined;
    if (chosen.size < MAX_ACCEPT_VALUES) chosen.set(accept, type);
    return type;
  };
}

export type FastPathOutcome =
  /** The response is sent. */
  | { readonly answered: true }
  /** Apollo answers; `context` (when set) is the request's context, carrying the work already done. */
  | { readonly answered: false; readonly context?: Context };

const NOT_TAKEN: FastPathOutcome = { answered: false };
const ANSWERED: FastPathOutcome = { answered: true };

export interface FastPathOptions {
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly prepared: PreparedOperations;
  readonly gate: OperationGate;
}

/**
 * Answers a POSTed query or mutation that Apollo has already validated and compiled (the same text
 * and operation name; see PreparedOperations) without going through Apollo's request pipeline:
 * content negotiation, hashing the text for the document cache, and the plugin hooks cost more CPU
 * per request than resolving a profile does. Everything the pipeline would do for such a request is
 * done here: variable coercion, the gate's admission (cost limit, write rate limit), execution,
 * `cache-control: no-store`, and the operation's record for the log line and metrics
 * (which the HTTP server hands to the gate when the response is sent).
 *
 * Only success takes the whole fast path. Anything unusual (a batch, extensions such as persisted
 * queries, an `accept` Apollo would refuse, variables Apollo would refuse) is left to Apollo before
 * anything has happened; a refused admission or an execution with errors is handed to Apollo with
 * what was already done (EarlyWork), so errors are formatted, logged and counted in one place and
 * nothing runs twice. Tests send every request both ways and expect the same bytes.
 */
export function createFastPath(options: FastPathOptions) {
  const { schema, services, prepared, gate } = options;
  const resultType = createResultTypeChooser();

  return async function answer(
    body: unknown,
    headers: IncomingHttpHeaders,
    record: RequestRecord,
    response: ServerResponse,
  ): Promise<FastPathOutcome> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return NOT_TAKEN;
    const { query, operationName = null, variables = null, extensions } = body as Record<string, unknown>;
    if (typeof query !== 'string' || extensions !== undefined) return NOT_TAKEN;
    if (operationName !== null && typeof operationName !== 'string') return NOT_TAKEN;
    if (variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return NOT_TAKEN;
    const contentType = resultType(headers.accept);
    if (contentType === undefined) return NOT_TAKEN;
    const operation = prepared.get(query, operationName);
    if (operation === undefined) return NOT_TAKEN;

    const variableValues = (variables ?? {}) as Record<string, unknown>;
    const coerced = getVariableValues(schema, operation.operation.variableDefinitions ?? [], variableValues, {
      maxErrors: 1,
    });
    if (coerced.errors !== undefined) return NOT_TAKEN;

    const context = await createContext(services, headers.authorization, record);
    const early: EarlyWork = {};
    try {
      await gate.admit({
        document: operation.document,
        operation: operation.operation,
        variables: variableValues,
        writer: writerOf(context),
        transport: 'http',
      });
      early.admission = {};
    } catch (refusal) {
      early.admission = { refusal };
      return { answered: false, context: attachEarlyWork(context, early) };
    }

    const result = (await operation.compiled.query(undefined, context, variableValues)) as ExecutionResult;
    if (result.errors !== undefined && result.errors.length > 0) {
      early.result = result;
      return { answered: false, context: attachEarlyWork(context, early) };
    }

    // As Apollo's plugin does (see apollo-gate.ts): with replicas, a mutation hands back its position.
    const readAfter =
      operation.operation.operation === 'mutation' ? await gate.afterMutation(writerOf(context).userID) : undefined;
    // Apollo's trailing newline, so both paths send the same bytes. Sent as a Buffer: node:http
    // prepends the headers to a string body (a second copy of the whole answer on the heap, per
    // request), where a Buffer is written as it is.
    const answerBytes = Buffer.from(
      JSON.stringify(
        readAfter === undefined ? { data: result.data } : { data: result.data, extensions: { readAfter } },
      ) + '\n',
    );
    record.operations.push({ name: operation.operation.name?.value, outcome: 'success' });
    services.metrics.observeFastPath();
    response.writeHead(200, {
      'content-type': contentType,
      'cache-control': 'no-store',
      ...(readAfter === undefined ? {} : { [READ_AFTER_HEADER]: readAfter }),
      'content-length': String(answerBytes.length),
    });
    response.end(answerBytes);
    return ANSWERED;
  };
}

export type FastPath = ReturnType<typeof createFastPath>;
