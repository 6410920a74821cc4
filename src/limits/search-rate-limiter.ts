import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import type { Config } from '../config.js';
import { countRootFields, RateLimitedError, RateLimitScope } from './write-rate-limiter.js';

/** The operation the search rate limit counts. */
export const SEARCH_FIELD = 'searchUsers';

/** How many searches a query runs: its `searchUsers` fields that will execute, each alias one. */
export function searchesOf(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): number {
  return countRootFields(document, operation, variables, (name) => name === SEARCH_FIELD);
}

export interface SearchRateLimiter {
  /**
   * Counts `searches` searches for the user; throws RATE_LIMITED (scope USER) when the user is then
   * over the limit. The refused operation runs none of its searches.
   */
  consume(userID: string, searches: number): void;
}

/**
 * A fixed window per user, starting at the user's first search, counted in this instance's memory:
 * a search costs no statement, and the limit (10 a second by default) is short enough that a
 * restart forgetting the counts matters little. Behind N instances a user may search up to N
 * times as often; the write limit, which must hold across instances, is counted in Postgres
 * (write-rate-limiter.ts). Ended windows are dropped as the map is swept, at most once a window.
 */
export function createSearchRateLimiter(
  limits: Config['searchRateLimit'],
  now: () => number = Date.now,
): SearchRateLimiter {
  const windowMs = limits.windowSeconds * 1000;
  const windows = new Map<string, { start: number; hits: number }>();
  const ended = (window: { start: number }, at: number) => at - window.start >= windowMs;
  let swept = now();
  return {
    consume(userID, searches) {
      if (limits.searchesPerUser === 0 || searches === 0) return;
      const at = now();
      if (at - swept >= windowMs) {
        for (const [key, window] of windows) if (ended(window, at)) windows.delete(key);
        swept = at;
      }
      let window = windows.get(userID);
      if (window === undefined || ended(window, at)) {
        window = { start: at, hits: 0 };
        windows.set(userID, window);
      }
      window.hits += searches;
      if (window.hits > limits.searchesPerUser) {
        throw new RateLimitedError(
          RateLimitScope.USER,
          Math.max(1, Math.ceil((window.start + windowMs - at) / 1000)),
          'searches',
        );
      }
    },
  };
}
