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

/**
 * The class 22 (data exception) SQLSTATEs a statement's client-supplied parameters can cause, with
 * the reason each is answered with. A statement lists the ones its parameters can cause (see
 * mapDatabaseError); from any other statement, or of any other code, a data exception is a bug of ours.
 */
export const INPUT_DATA_EXCEPTIONS = {
  '22001': ErrorReason.TOO_LONG, // string_data_right_truncation: too long for a varchar(n)
  '22003': ErrorReason.INVALID_VALUE, // numeric_value_out_of_range
  '22021': ErrorReason.INVALID_CHARACTERS, // character_not_in_repertoire (invalid byte sequence, NUL)
  '22P02': ErrorReason.INVALID_VALUE, // invalid_text_representation (e.g. not a number)
  '22P05': ErrorReason.INVALID_CHARACTERS, // untranslatable_character (\u0000 in jsonb)
} as const satisfies Record<string, ErrorReason>;

export type InputDataException = keyof typeof INPUT_DATA_EXCEPTIONS;

/**
 * The safety net under input validation: a data exception that `fromInput` lists (the ones the
 * statement's client-supplied parameters can cause) becomes BAD_USER_INPUT, a database that is down
 * or too slow becomes SERVICE_UNAVAILABLE. Anything else, every other data exception included, is
 * returned as it is, to be masked and logged as an internal error.
 */
export function mapDatabaseError(error: unknown, fromInput: readonly InputDataException[] = []): unknown {
  // Not `instanceof Error`: socket errors may come from another realm (e.g. under a test runner).
  if (error instanceof GraphQLError || typeof error !== 'object' || error === null) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if ((fromInput as readonly string[]).includes(code)) {
      return new BadUserInputError(
        'input',
        INPUT_DATA_EXCEPTIONS[code as InputDataException],
        'The database refused a value in this request',
      );
    }
    if (code.startsWith('08') || UNAVAILABLE_CODES.has(code)) return new ServiceUnavailableError();
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return new ServiceUnavailableError();
  return error;
}
