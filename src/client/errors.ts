import { ERROR_CODE } from './constants.js';

export interface GraphQLErrorShape {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

/** Rejection value of every client call: a numeric `code`, a message, and the server's extensions. */
export class ProfileClientError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ProfileClientError';
  }
}

const BY_REASON: ReadonlyMap<string, number> = new Map([
  ['EMPTY_UPDATE', ERROR_CODE.NOTHING_TO_UPDATE],
  ['TOO_LONG', ERROR_CODE.VALUE_TOO_LONG],
  ['UNKNOWN_CUSTOM_FIELD', ERROR_CODE.UNKNOWN_TAG],
  ['UNKNOWN_ACCOUNT', ERROR_CODE.ACCOUNT_NOT_FOUND],
  ['ACCOUNT_DELETED', ERROR_CODE.ACCOUNT_NOT_FOUND],
  ['ACCOUNT_DEACTIVATED', ERROR_CODE.ACCOUNT_DEACTIVATED],
  ['TOKEN_EXPIRED', ERROR_CODE.TOKEN_EXPIRED],
  ['ADMIN_ONLY', ERROR_CODE.NO_WRITE_PERMISSION],
]);

const BY_CODE: ReadonlyMap<string, number> = new Map([
  ['BAD_USER_INPUT', ERROR_CODE.INVALID_PARAMETER],
  ['GRAPHQL_VALIDATION_FAILED', ERROR_CODE.INVALID_PARAMETER],
  ['UNAUTHENTICATED', ERROR_CODE.INVALID_TOKEN],
  ['FORBIDDEN', ERROR_CODE.ADMIN_REQUIRED],
  ['RATE_LIMITED', ERROR_CODE.OVER_FREQUENCY_LIMIT],
]);

/** Maps a GraphQL error to the numeric code front ends know. */
export function toClientError(error: GraphQLErrorShape): ProfileClientError {
  const extensions = error.extensions ?? {};
  const reason = typeof extensions.reason === 'string' ? extensions.reason : undefined;
  const code = typeof extensions.code === 'string' ? extensions.code : undefined;
  const numeric =
    (reason !== undefined ? BY_REASON.get(reason) : undefined) ??
    (code === 'BAD_USER_INPUT' && reason === 'INVALID_VALUE' ? ERROR_CODE.INVALID_VALUE : undefined) ??
    (code !== undefined ? BY_CODE.get(code) : undefined) ??
    ERROR_CODE.INTERNAL_ERROR;
  return new ProfileClientError(numeric, error.message, extensions);
}

export const invalidParameter = (message: string): ProfileClientError =>
  new ProfileClientError(ERROR_CODE.INVALID_PARAMETER, message, { code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE' });
