import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/** Every `extensions.code` this service answers with. Clients switch on these, never on messages. */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
  /** The database (or a key server) is unreachable or timed out: retry later. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  /** Too many writes; `extensions.retryAfter` says how many seconds to wait. */
  RATE_LIMITED = 'RATE_LIMITED',
}

/** Stable machine-readable detail for `BAD_USER_INPUT` and `FORBIDDEN` errors. */
export enum ErrorReason {
  TOO_LONG = 'TOO_LONG',
  INVALID_VALUE = 'INVALID_VALUE',
  INVALID_CHARACTERS = 'INVALID_CHARACTERS',
  NULL_NOT_ALLOWED = 'NULL_NOT_ALLOWED',
  EMPTY_UPDATE = 'EMPTY_UPDATE',
  UNKNOWN_CUSTOM_FIELD = 'UNKNOWN_CUSTOM_FIELD',
  DUPLICATE_KEY = 'DUPLICATE_KEY',
  ADMIN_ONLY = 'ADMIN_ONLY',
  MISSING_TOKEN = 'MISSING_TOKEN',
  INVALID_TOKEN = 'INVALID_TOKEN',
  TOKEN_EXPIRED = 'TOKEN_EXPIRED',
  FIELD_RETIRED = 'FIELD_RETIRED',
  UNKNOWN_ACCOUNT = 'UNKNOWN_ACCOUNT',
  TOO_MANY = 'TOO_MANY',
  LIMIT_REACHED = 'LIMIT_REACHED',
  UNKNOWN_ENTITY_TYPE = 'UNKNOWN_ENTITY_TYPE',
  TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS',
  ACCOUNT_DEACTIVATED = 'ACCOUNT_DEACTIVATED',
  ACCOUNT_DELETED = 'ACCOUNT_DELETED',
}

/** `extensions.reason` of a request refused for its size or shape (code GRAPHQL_VALIDATION_FAILED). */
export enum QueryLimitReason {
  DEPTH_LIMIT = 'DEPTH_LIMIT',
  ALIAS_LIMIT = 'ALIAS_LIMIT',
  DUPLICATE_FIELD_LIMIT = 'DUPLICATE_FIELD_LIMIT',
  DIRECTIVE_LIMIT = 'DIRECTIVE_LIMIT',
  COST_LIMIT = 'COST_LIMIT',
  /** Sent with GRAPHQL_PARSE_FAILED when the parser stopped at `maxTokens` (see createFormatError). */
  TOKEN_LIMIT = 'TOKEN_LIMIT',
  /** The document asks for `__schema` or `__type` where introspection is off (production's default). */
  INTROSPECTION_DISABLED = 'INTROSPECTION_DISABLED',
}

export class BadUserInputError extends GraphQLError {
  constructor(field: string, reason: ErrorReason, message: string) {
    super(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, field, reason } });
  }
}

export class ForbiddenError extends GraphQLError {
  constructor(reason: ErrorReason, message: string, field?: string) {
    super(message, {
      extensions: { code: ErrorCode.FORBIDDEN, reason, ...(field === undefined ? {} : { field }) },
    });
  }
}

export class UnauthenticatedError extends GraphQLError {
  constructor(reason: ErrorReason, message = 'A valid bearer token is required') {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, reason } });
  }
}

export class ServiceUnavailableError extends GraphQLError {
  constructor(message = 'The service is temporarily unavailable; retry shortly') {
    // `http` is read by Apollo for the response status and never sent to the client.
    super(message, { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, http: { status: 503 } } });
  }
}

/** Codes a client may see as they are; anything else is masked. */
const CLIENT_CODES = new Set<string>([
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.FORBIDDEN,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.SERVICE_UNAVAILABLE,
  ErrorCode.RATE_LIMITED,
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Variable coercion errors name the failing input path: `... at "input.birthday"; ...`. */
const VARIABLE_PATH = /^Variable "\$([^"]+)" got invalid value .*?(?: at "[^".[]+[.]?([^"]+)")?;/s;

/** "Did you mean ...?" names schema members; graphql-js appends it to validation and coercion messages. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/** graphql-js's message when `parseOptions.maxTokens` stops the parser (16.x spells it "more that"). */
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] \d+ tokens\./;

export interface ErrorLogger {
  error(details: Record<string, unknown>, message: string): void;
}

/**
 * Apollo Server passes unexpected errors through as they are; this keeps client errors and
 * replaces everything else with a generic INTERNAL_SERVER_ERROR, logging the original in full.
 */
export function createFormatError(options: { includeStack: boolean; hideSuggestions?: boolean; logger: ErrorLogger }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_CODES.has(code)) {
      const extensions: Record<string, unknown> = { ...formatted.extensions };
      // A client's mistake has no server-side story to tell: stacks only ever come with internal errors.
      delete extensions.stacktrace;
      // Apollo takes `http` out for the response status; other transports have no status to set.
      delete extensions.http;
      if (options.hideSuggestions === true && formatted.message.includes('Did you mean')) {
        formatted = { ...formatted, message: formatted.message.replace(SUGGESTION, '') };
      }
      if (code === 'GRAPHQL_PARSE_FAILED' && TOKEN_LIMIT.test(formatted.message)) {
        extensions.reason ??= QueryLimitReason.TOKEN_LIMIT;
      }
      if (code === ErrorCode.BAD_USER_INPUT && extensions.field === undefined) {
        const match = VARIABLE_PATH.exec(formatted.message);
        if (match) {
          const [, variable, path] = match;
          extensions.field = path === undefined ? variable : path.startsWith('[') ? `${variable}${path}` : path;
        }
        extensions.reason ??= ErrorReason.INVALID_VALUE;
      }
      return { ...formatted, extensions };
    }
    // What was thrown, not graphql's wrapper of it: a database error keeps its SQLSTATE and where it arose.
    const thrown = error instanceof GraphQLError && error.originalError !== undefined ? error.originalError : error;
    options.logger.error({ err: thrown, path: formatted.path }, 'unexpected error while answering a request');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: {
        code: ErrorCode.INTERNAL_SERVER_ERROR,
        ...(options.includeStack ? { stacktrace: formatted.extensions?.stacktrace } : {}),
      },
    };
  };
}
