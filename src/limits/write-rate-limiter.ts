import { HeaderMap } from '@apollo/server';
import {
  getDirectiveValues,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import type { SqlRunner } from '../db/sql-runner.js';

/** Who ran out of writes: `extensions.scope` of a RATE_LIMITED error. */
export enum RateLimitScope {
  USER = 'USER',
  IP = 'IP',
}

export class RateLimitedError extends GraphQLError {
  /** `what` ran out: writes, or searches (see search-rate-limiter.ts). */
  constructor(scope: RateLimitScope, retryAfter: number, what = 'writes') {
    super(`Too many ${what}; retry in ${retryAfter} s`, {
      extensions: {
        code: ErrorCode.RATE_LIMITED,
        scope,
        retryAfter,
        http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfter)]]) },
      },
    });
  }
}

/** Who a write counts against: the signed-in user, and the address the request came from. */
export interface Writer {
  readonly userID?: string;
  readonly ip?: string;
}

export interface WriteRateLimiter {
  /**
   * Counts `writes` writes for the caller and its address; throws RATE_LIMITED when either is then
   * over its limit (the operation is refused whole: it runs none of its writes).
   */
  consume(writer: Writer, writes: number): Promise<void>;
  stop(): void;
}

/**
 * How many writes a mutation makes: its root fields that will execute (each `updateMyProfile`
 * alias is a write of its own). `__typename` writes nothing.
 */
export function writesOf(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
): number {
  return countRootFields(document, operation, variables, (name) => name !== '__typename');
}

/**
 * How many of an operation's root fields that will execute `counts` names (each alias is one of
 * its own), following fragments and honouring `@skip`/`@include` with the request's variables.
 */
export function countRootFields(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  counts: (fieldName: string) => boolean,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const included = (node: Parameters<typeof getDirectiveValues>[1]): boolean => {
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
      return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
    } catch {
      // A variable of the wrong type: execution refuses it; counting the field is the safe side.
      return true;
    }
  };
  const visited = new Set<string>();
  const count = (set: SelectionSetNode): number => {
    let fields = 0;
    for (const selection of set.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        if (counts(selection.name.value)) fields += 1;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        fields += count(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        // graphql-js collects a fragment's fields once per selection set, however often it is spread.
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment !== undefined) fields += count(fragment.selectionSet);
      }
    }
    return fields;
  };
  return count(operation.selectionSet);
}

/**
 * One statement counts the write for every key at once and returns the new counts. Both `SET`
 * expressions read the row as it was, so a window that has ended restarts at 1. Keys are always
 * sent user first, then address, so concurrent statements lock rows in the same order.
 */
const CONSUME = {
  name: 'rate_limit_consume',
  text: `INSERT INTO rate_limit_counter AS c (key, window_start, hits)
    SELECT key, now(), $3::int FROM unnest($1::text[]) AS key
    ON CONFLICT (key) DO UPDATE SET
      hits = CASE WHEN c.window_start > now() - make_interval(secs => $2) THEN c.hits + $3::int ELSE $3::int END,
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
    async consume({ userID, ip }, writes) {
      const keys: string[] = [];
      if (writesPerUser > 0 && userID !== undefined) keys.push(`user:${userID}`);
      if (writesPerIp > 0 && ip !== undefined) keys.push(`ip:${ip}`);
      if (keys.length === 0) return;
      const rows = await sql.query<{ key: string; hits: number; retry_after: number }>({
        ...CONSUME,
        values: [keys, windowSeconds, writes],
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
