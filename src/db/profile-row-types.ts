import { types, type CustomTypesConfig } from 'pg';

const INT8_OID = 20;
const TIMESTAMPTZ_OID = 1184;

const digits = (text: string, start: number, end: number): number => {
  let value = 0;
  for (let i = start; i < end; i += 1) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
};

/**
 * Parses Postgres' ISO text for a timestamptz, `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`, in one
 * pass without regular expressions; anything else (BC, infinity, years past 9999) is left to pg's
 * own parser. Milliseconds are truncated, as pg's parser (and Date) does.
 */
export function parseTimestamptz(text: string): Date {
  const length = text.length;
  if (length < 22 || text[4] !== '-' || text[7] !== '-' || text[10] !== ' ' || text[13] !== ':' || text[16] !== ':') {
    return fallbackTimestamptz(text);
  }
  let millis = 0;
  let i = 19;
  if (text[i] === '.') {
    let scale = 100;
    for (i += 1; i < length; i += 1) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      millis += digit * scale;
      scale /= 10;
    }
  }
  const sign = text[i] === '+' ? 1 : text[i] === '-' ? -1 : 0;
  const rest = length - i - 1;
  if (sign === 0 || (rest !== 2 && rest !== 5 && rest !== 8)) return fallbackTimestamptz(text);
  let offsetSeconds = digits(text, i + 1, i + 3) * 3600;
  if (rest >= 5) offsetSeconds += text[i + 3] === ':' ? digits(text, i + 4, i + 6) * 60 : Number.NaN;
  if (rest === 8) offsetSeconds += text[i + 6] === ':' ? digits(text, i + 7, i + 9) : Number.NaN;
  const year = digits(text, 0, 4);
  if (year < 100) return fallbackTimestamptz(text);
  const time = Date.UTC(
    year,
    digits(text, 5, 7) - 1,
    digits(text, 8, 10),
    digits(text, 11, 13),
    digits(text, 14, 16),
    digits(text, 17, 19),
    Math.floor(millis),
  );
  if (Number.isNaN(time) || Number.isNaN(offsetSeconds)) return fallbackTimestamptz(text);
  return new Date(time - sign * offsetSeconds * 1000);
}

function fallbackTimestamptz(text: string): Date {
  return types.getTypeParser(TIMESTAMPTZ_OID, 'text')(text) as Date;
}

/**
 * Type parsers for the profile statements' rows: bigint columns (UInt32 values, exact as numbers)
 * straight to numbers rather than pg's string, and timestamps through parseTimestamptz. pg's
 * regular-expression date parser and its bigint-to-string step were a tenth of a 100-profile read's
 * garbage. Every other type keeps pg's parser.
 */
export const PROFILE_ROW_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === INT8_OID) return Number;
      if (oid === TIMESTAMPTZ_OID) return parseTimestamptz;
    }
    return format === undefined ? types.getTypeParser(oid) : types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};
