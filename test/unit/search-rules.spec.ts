import { GraphQLError } from 'graphql';
import { ConfigError, loadConfig } from '../../src/config';
import { createSearchRateLimiter } from '../../src/limits/search-rate-limiter';
import { KeywordMatch, SearchTier } from '../../src/search/search.enums';
import { encodeCursor, planSearch } from '../../src/search/search.rules';

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof GraphQLError) return error.extensions;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('the search rate limit', () => {
  it('allows 10 searches a second by default, configurable, 0 for none', () => {
    expect(loadConfig({}).searchRateLimit).toEqual({ windowSeconds: 1, searchesPerUser: 10 });
    expect(
      loadConfig({ SEARCH_RATE_LIMIT_PER_USER: '0', SEARCH_RATE_LIMIT_WINDOW_SECONDS: '60' }).searchRateLimit,
    ).toEqual({ windowSeconds: 60, searchesPerUser: 0 });
    expect(() => loadConfig({ SEARCH_RATE_LIMIT_PER_USER: 'many' })).toThrow(ConfigError);
  });

  it('counts per user in a window that starts at the first search, and starts again after it', () => {
    let now = 1_000_000;
    const limiter = createSearchRateLimiter({ windowSeconds: 1, searchesPerUser: 10 }, () => now);
    for (let i = 0; i < 10; i += 1) limiter.consume('a', 1);
    expect(refusal(() => limiter.consume('a', 1))).toMatchObject({
      code: 'RATE_LIMITED',
      scope: 'USER',
      retryAfter: 1,
    });
    limiter.consume('b', 10);
    now += 999;
    expect(refusal(() => limiter.consume('a', 1))).toMatchObject({ code: 'RATE_LIMITED' });
    now += 1;
    limiter.consume('a', 10);
    expect(refusal(() => limiter.consume('a', 1))).toMatchObject({ code: 'RATE_LIMITED' });
  });
});

describe('cursors', () => {
  const base = { keywords: ['王', 'x'], match: KeywordMatch.ANY };

  it('belong to their search: keyword order and repeats, and the page size, do not matter', () => {
    const { fingerprint } = planSearch(base);
    const after = encodeCursor(fingerprint, { tier: SearchTier.PREFIX, userID: 'u1' });
    expect(planSearch({ keywords: ['x', '王', ' 王 '], first: 7, after }).query.after).toEqual({
      tier: SearchTier.PREFIX,
      userID: 'u1',
    });
    for (const other of [{ keywords: ['王'] }, { match: KeywordMatch.ALL }, { minBirthday: 1 }]) {
      expect(refusal(() => planSearch({ ...base, ...other, after }))).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.after',
        reason: 'INVALID_VALUE',
      });
    }
  });
});
