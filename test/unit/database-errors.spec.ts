import { GraphQLError } from 'graphql';
import { INPUT_DATA_EXCEPTIONS, mapDatabaseError, type InputDataException } from '../../src/db/database-errors';

const databaseError = (code: string) => Object.assign(new Error(`SQLSTATE ${code}`), { code });

function extensionsOf(mapped: unknown): Record<string, unknown> | undefined {
  return mapped instanceof GraphQLError ? { ...mapped.extensions } : undefined;
}

describe('mapDatabaseError', () => {
  it.each([
    ['22001', 'TOO_LONG'],
    ['22003', 'INVALID_VALUE'],
    ['22021', 'INVALID_CHARACTERS'],
    ['22P02', 'INVALID_VALUE'],
    ['22P05', 'INVALID_CHARACTERS'],
  ] as const)('answers %s BAD_USER_INPUT (%s) from a statement that declares it', (code, reason) => {
    const mapped = mapDatabaseError(databaseError(code), [code]);
    expect(extensionsOf(mapped)).toEqual({ code: 'BAD_USER_INPUT', field: 'input', reason });
  });

  it.each(Object.keys(INPUT_DATA_EXCEPTIONS) as InputDataException[])(
    'returns %s as it is from a statement that does not declare it',
    (code) => {
      const error = databaseError(code);
      expect(mapDatabaseError(error)).toBe(error);
      const others = (Object.keys(INPUT_DATA_EXCEPTIONS) as InputDataException[]).filter((other) => other !== code);
      expect(mapDatabaseError(error, others)).toBe(error);
    },
  );

  it.each([
    ['22012', 'division_by_zero'],
    ['22007', 'invalid_datetime_format'],
    ['22008', 'datetime_field_overflow'],
    ['22023', 'invalid_parameter_value'],
    ['2200G', 'most_specific_type_mismatch'],
  ])('returns %s (%s) as it is, whatever the statement declares', (code) => {
    const error = databaseError(code);
    expect(mapDatabaseError(error, Object.keys(INPUT_DATA_EXCEPTIONS) as InputDataException[])).toBe(error);
  });

  it.each([
    ['a connection failure', databaseError('08006')],
    ['a statement timeout', databaseError('57014')],
    ['a refused connection', databaseError('ECONNREFUSED')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
  ])('answers %s SERVICE_UNAVAILABLE', (_name, error) => {
    expect(extensionsOf(mapDatabaseError(error))).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('leaves GraphQL errors and other errors alone', () => {
    const graphQLError = new GraphQLError('refused', { extensions: { code: 'FORBIDDEN' } });
    expect(mapDatabaseError(graphQLError, ['22021'])).toBe(graphQLError);
    const uniqueViolation = databaseError('23505');
    expect(mapDatabaseError(uniqueViolation, ['22021'])).toBe(uniqueViolation);
  });
});
