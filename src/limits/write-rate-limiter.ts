import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import type { SqlRunner } from '../user/user.repository.js';

/** Who ran out of writes: `extensions.scope` of a RATE_LIMITED error. */
export enum RateLimitScope {
  USER = 'USER',
  IP = 'IP',
}

export class RateLimitedError extends GraphQLError {
  constructor(scope: RateLimitScope, retryAfter: number) {
    super(`Too many writes; retry in ${retryAfter} s`, {
      extensions: {
        code: ErrorCode.RATE_LIMITED,
        scope,
        retryAfter,
        http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfter)]]) },
      },
    });
  }
}

export interface WriteRateLimiter {
  /** Counts one write for the caller and its address; throws RATE_LIMITED when either is over its limit. */
  consume(caller: { readonly userID?: string; readonly ip?: string }): Promise<void>;
  stop(): void;
}

/**
 * One statement counts the write for every key at once and returns the new counts. Both `SET`
 * expressions read the row as it was, so a window that has ended restarts at 1. Keys are always
 * sent user first, then address, so concurrent statements lock rows in the same order.
 */
const CONSUME = {
  name: 'rate_limit_consume',
  text: `INSERT INTO rate_limit_counter AS c (key, window_start, hits)
    SELECT key, now(), 1 FROM unnest($1::text[]) AS key
    ON CONFLICT (key) DO UPDATE SET
      hits = CASE WHEN c.window_start > now() - make_interval(secs => $2) THEN c.hits + 1 ELSE 1 END,
      window_start = CASE WHEN c.window_start > now() - make_interval(secs => $2) THEN c.window_start ELSE now() END
    RETURNING key, hits,
      greatest(1, ceil(extract(epoch FROM c.window_start + make_interval(secs => $2) - now())))::int AS retry_after`,
};

const PURGE = {
  name: 'rate_limit_purge',
  text: 'DELETE FROM rate_limit_counter WHERE window_start < now() - make_interval(secs => $1)',
};

export function createWriteRateLimiter(
  limits: Config['rateLimit'],
  sql: SqlRunner,
  onPurgeError: (error: unknown) => void,
): WriteRateLimiter {
  const { windowSeconds, writesPerUser, writesPerIp } = limits;
  // Rows of ended windows are useless; every instance may purge them, the statement is idempotent.
  const purgeTimer = setInterval(
    () => {
      sql.query({ ...PURGE, values: [windowSeconds] }).catch(onPurgeError);
    },
    Math.max(windowSeconds, 60) * 1000,
  );
  purgeTimer.unref();

  return {
    async consume({ userID, ip }) {
      const keys: string[] = [];
      if (writesPerUser > 0 && userID !== undefined) keys.push(`user:${userID}`);
      if (writesPerIp > 0 && ip !== undefined) keys.push(`ip:${ip}`);
      if (keys.length === 0) return;
      const rows = await sql.query<{ key: string; hits: number; retry_after: number }>({
        ...CONSUME,
        values: [keys, windowSeconds],
      });
      for (const row of rows) {
        const isUser = row.key.startsWith('user:');
        if (row.hits > (isUser ? writesPerUser : writesPerIp)) {
          throw new RateLimitedError(isUser ? RateLimitScope.USER : RateLimitScope.IP, row.retry_after);
        }
      }
    },
    stop() {
      clearInterval(purgeTimer);
    },
  };
}
