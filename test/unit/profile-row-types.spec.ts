import { types } from 'pg';
import { parseTimestamptz, PROFILE_ROW_TYPES } from '../../src/db/profile-row-types';

const pgParse = types.getTypeParser(1184, 'text') as (text: string) => Date | number;

describe('the profile statements’ row types', () => {
  it.each([
    '2024-01-01 00:00:00+00',
    '2026-11-25 21:12:03.5+00',
    '2026-11-25 21:12:03.123456+00',
    '2026-11-25 21:12:03.999999+00',
    '2026-02-28 23:59:59.0001-03',
    '2026-06-30 08:15:00.25+05:30',
    '1969-12-31 23:59:59.999+00',
    '1899-07-04 10:00:00-04:56:02',
    '2000-02-29 12:00:00+14',
  ])('parses %s as pg does', (text) => {
    const parsed = parseTimestamptz(text);
    expect(parsed).toBeInstanceOf(Date);
    expect(parsed.getTime()).toBe((pgParse(text) as Date).getTime());
  });

  it.each(['0099-01-01 00:00:00+00', '2024-01-01 00:00:00+00 BC', '12024-01-01 00:00:00+00', 'infinity', '-infinity'])(
    'leaves %s to pg’s parser',
    (text) => {
      expect(parseTimestamptz(text)).toEqual(pgParse(text));
    },
  );

  it('reads bigint as a number and keeps pg’s parsers for other types', () => {
    const parser = (oid: number) => PROFILE_ROW_TYPES.getTypeParser(oid, 'text') as (text: string) => unknown;
    expect(parser(20)('4294967295')).toBe(4294967295);
    expect(parser(1184)).toBe(parseTimestamptz);
    expect(parser(3802)('{"a":"b"}')).toEqual({ a: 'b' });
    expect(parser(16)('t')).toBe(true);
  });
});
