import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createFormatError, QueryLimitReason } from '../errors.js';
import { HttpRefusalReason } from '../http/http-error.js';
import type { RequestRecord } from '../http/request-record.js';
import {
  createIntrospectionRule,
  createQueryLimitRules,
  limitError,
  operationCost,
  pagedFieldsOf,
} from '../limits/query-limits.js';
import { createSearchRateLimiter, searchesOf } from '../limits/search-rate-limiter.js';
import { writesOf, type WriteRateLimiter, type Writer } from '../limits/write-rate-limiter.js';
import type { Metrics } from '../observability/metrics.js';
import { finishRecord, type FinishedRecord } from '../observability/request-observer.js';

/** One operation about to run, with what the per-request policies need to judge it. */
export interface Admission {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Who its writes count against. */
  readonly writer: Writer;
  /** What brought it: only a socket can carry a subscription's stream of results. */
  readonly transport: 'http' | 'websocket';
}

/**
 * Every policy an operation passes before it runs and after it has answered, whatever brought it:
 * HTTP through Apollo, the HTTP fast path, or a graphql-ws socket. Each transport calls these and
 * nothing else decides; a new policy is added here, and a new transport calls the same ones.
 *
 * - Document policies (parse token limit; introspection; depth, alias, duplicate-field and directive
 *   limits) depend only on the text: Apollo applies `parseOptions` and `validationRules` with its
 *   document cache, other transports call `prepare`, which does the same with a cache of its own.
 * - `admit`: subscriptions only over a socket, the cost limit (which depends on list variables)
 *   and the write rate limit, counted once per mutation field that will execute, by user and by
 *   address; the search rate limit, once per `searchUsers` field, by user (in this instance's
 *   memory). A paged field's cost counts its page size.
 * - `formatError`: masking; stack traces only in development.
 * - `afterMutation`: with replicas, the write position an HTTP response hands back (read-your-writes).
 * - `finish`: the log line and metrics of a request or a WebSocket operation.
 */
export interface OperationGate {
  readonly parseOptions: ParseOptions;
  readonly validationRules: readonly ValidationRule[];
  /** Parses and validates `source` as Apollo does over HTTP: a document, or the errors refusing it. */
  prepare(source: string): DocumentNode | readonly GraphQLError[];
  /** Throws the refusal (a GraphQLError) when a per-request policy refuses the operation. */
  admit(admission: Admission): Promise<void>;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /**
   * After a mutation has run, for read-your-writes with replicas: the position its writer's later
   * reads must see, which the response carries (`x-read-after`, `extensions.readAfter`);
   * undefined without replicas.
   */
  afterMutation(userID: string | undefined): Promise<string | undefined>;
  finish(record: RequestRecord, details: FinishedRecord): void;
}

/** A document with no operation of the requested name (or several and no name): the same refusal on every transport. */
export function operationNotFound(operationName: string | null | undefined): GraphQLError {
  return new GraphQLError(
    operationName
      ? `The document has no operation named "${operationName}"`
      : 'The document names no operation to run, or several without operationName',
    { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } },
  );
}

export interface OperationGateOptions {
  readonly config: Config;
  readonly schema: GraphQLSchema;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly rateLimiter?: WriteRateLimiter;
  /** Set when replicas take reads (see src/db/read-your-writes.ts). */
  readonly writePositions?: WritePositions;
}

/** Reads the primary's position after a write, and remembers it for the writer. */
export interface WritePositions {
  afterWrite(userID: string | undefined): Promise<string | undefined>;
}

/** Documents `prepare` remembers, by text; past this many the oldest are forgotten. */
const PREPARED_DOCUMENTS = 500;
/** A text longer than this is prepared each time, never kept (hot operations are short). */
const PREPARED_TEXT_LENGTH = 16 * 1024;

function parseFailure(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code: 'GRAPHQL_PARSE_FAILED' },
  });
}

function validationFailure(error: GraphQLError): GraphQLError {
  if (error.extensions.code !== undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
  });
}

export function createOperationGate(options: OperationGateOptions): OperationGate {
  const { config, schema, metrics, logger, rateLimiter, writePositions } = options;
  const limits = config.graphqlLimits;
  const parseOptions: ParseOptions = { maxTokens: limits.maxTokens };
  const validationRules: ValidationRule[] = [
    ...(config.introspection ? [] : [createIntrospectionRule()]),
    ...createQueryLimitRules(limits),
  ];
  const allRules = [...specifiedRules, ...validationRules];
  const pagedFields = pagedFieldsOf(schema);
  const searchRateLimiter = createSearchRateLimiter(config.searchRateLimit);
  const prepared = new Map<string, DocumentNode>();

  return {
    parseOptions,
    validationRules,

    prepare(source) {
      const known = prepared.get(source);
      if (known !== undefined) return known;
      let document: DocumentNode;
      try {
        document = parse(source, parseOptions);
      } catch (error) {
        if (error instanceof GraphQLError) return [parseFailure(error)];
        throw error;
      }
      const errors = validate(schema, document, allRules);
      if (errors.length > 0) return errors.map(validationFailure);
      if (source.length <= PREPARED_TEXT_LENGTH) {
        if (prepared.size >= PREPARED_DOCUMENTS) prepared.delete(prepared.keys().next().value as string);
        prepared.set(source, document);
      }
      return document;
    },

    async admit({ document, operation, variables, writer, transport }) {
      if (operation.operation === 'subscription' && transport !== 'websocket') {
        throw new GraphQLError('Subscriptions are served over the graphql-ws protocol (WebSocket) on this path', {
          extensions: {
            code: 'BAD_REQUEST',
            reason: HttpRefusalReason.SUBSCRIPTION_NEEDS_WEBSOCKET,
            http: { status: 400 },
          },
        });
      }
      const cost = operationCost(document, operation, variables, pagedFields);
      if (cost > limits.maxCost) {
        throw limitError(
          QueryLimitReason.COST_LIMIT,
          limits.maxCost,
          `The query costs ${cost}; the limit is ${limits.maxCost}`,
        );
      }
      if (rateLimiter !== undefined && operation.operation === 'mutation') {
        const writes = writesOf(document, operation, variables);
        if (writes > 0) await rateLimiter.consume(writer, writes);
      }
      // An anonymous search is refused by the operation itself (UNAUTHENTICATED), having cost nothing.
      if (operation.operation === 'query' && writer.userID !== undefined) {
        const searches = searchesOf(document, operation, variables);
        if (searches > 0) searchRateLimiter.consume(writer.userID, searches);
      }
    },

    formatError: createFormatError({
      includeStack: config.development,
      hideSuggestions: config.isProduction,
      logger,
    }),

    async afterMutation(userID) {
      return writePositions?.afterWrite(userID);
    },

    finish(record, details) {
      finishRecord(record, details, logger, metrics);
    },
  };
}
