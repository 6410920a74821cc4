import { GraphQLError } from 'graphql';
import { BadUserInputError, ErrorReason, ServiceUnavailableError } from '../errors.js';

/** SQLSTATEs and driver error codes that mean "the database is not there right now". */
const UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '57014', // query_canceled: statement_timeout
  '53300', // too_many_connections
  '55P03', // lock_not_available: lock_timeout
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Messages pg and pg-pool use for connection failures that carry no code. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end/i;

const DATA_EXCEPTION_REASONS: Record<string, ErrorReason> = {
  '22001': ErrorReason.TOO_LONG, // string_data_right_truncation
  '22021': ErrorReason.INVALID_CHARACTERS, // character_not_in_repertoire (invalid byte sequence, NUL)
  '22P05': ErrorReason.INVALID_CHARACTERS, // untranslatable_character (\u0000 in jsonb)
};

/**
 * The safety net under input validation: data Postgres refuses becomes BAD_USER_INPUT, a database
 * that is down or too slow becomes SERVICE_UNAVAILABLE. Anything else is returned as it is, to be
 * masked and logged as an internal error.
 */
export function mapDatabaseError(error: unknown): unknown {
  // Not `instanceof Error`: socket errors may come from another realm (e.g. under a test runner).
  if (error instanceof GraphQLError || typeof error !== 'object' || error === null) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (code.startsWith('22')) {
      return new BadUserInputError(
        'input',
        DATA_EXCEPTION_REASONS[code] ?? ErrorReason.INVALID_VALUE,
        'The database refused a value in this request',
      );
    }
    if (code.startsWith('08') || UNAVAILABLE_CODES.has(code)) return new ServiceUnavailableError();
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return new ServiceUnavailableError();
  return error;
}
