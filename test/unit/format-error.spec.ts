import { GraphQLError } from 'graphql';
import { BadUserInputError, createFormatError, ErrorReason } from '../../src/errors';

const logged: unknown[] = [];
const logger = { error: (details: Record<string, unknown>) => void logged.push(details) };

/** The formatted error as Apollo hands it over, with a stack trace in its extensions. */
const formatted = (error: GraphQLError) => ({
  ...error.toJSON(),
  extensions: { ...error.extensions, stacktrace: ['Error: at /srv/app/src/x.ts:1:1'] },
});

describe('masking', () => {
  const development = createFormatError({ includeStack: true, logger });
  const production = createFormatError({ includeStack: false, hideSuggestions: true, logger });

  it('never sends a stack with a client error, even in development', () => {
    const error = new BadUserInputError('input.nick', ErrorReason.TOO_LONG, 'too long');
    for (const format of [development, production]) {
      const answer = format(formatted(error), error);
      expect(answer.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.nick', reason: 'TOO_LONG' });
    }
  });

  it('sends the stack of an unexpected error only in development, and logs it in full either way', () => {
    const error = new GraphQLError('relation "x" does not exist', { originalError: new Error('boom') });
    const inDevelopment = development(formatted(error), error);
    expect(inDevelopment).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(inDevelopment.extensions?.stacktrace).toBeDefined();
    const inProduction = production(formatted(error), error);
    expect(inProduction.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(logged).toHaveLength(2);
  });

  it('never sends the http extension other transports cannot use', () => {
    const error = new GraphQLError('slow down', { extensions: { code: 'RATE_LIMITED', http: { status: 429 } } });
    expect(production(error.toJSON(), error).extensions).toEqual({ code: 'RATE_LIMITED' });
  });
});
