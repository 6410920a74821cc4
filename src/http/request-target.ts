import type { IncomingMessage } from 'node:http';

/** A request's target, split into its path and its query string. */
export interface RequestTarget {
  /** As sent, without the query string: what the routes compare against. */
  readonly path: string;
  /** `?...`, or '' without one. */
  readonly search: string;
  readonly params: URLSearchParams;
}

/**
 * Reads the request target without `new URL`, which throws on targets a client may send (`//`,
 * `//host:x`): one request must never be able to stop the process.
 */
export function requestTarget(request: IncomingMessage): RequestTarget {
  const raw = request.url ?? '/';
  const mark = raw.indexOf('?');
  const search = mark < 0 ? '' : raw.slice(mark);
  return { path: mark < 0 ? raw : raw.slice(0, mark), search, params: new URLSearchParams(search) };
}
