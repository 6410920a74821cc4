import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOWED_HEADERS = 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id';

/**
 * Cross-origin access for front ends served from other origins. Only the configured origins
 * (or any, with `*`) get CORS headers; others are left to the browser's same-origin policy.
 * Bearer tokens travel in a header, so credentials (cookies) are never allowed.
 */
export function createCors(allowedOrigins: readonly string[]) {
  const anyOrigin = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  const isAllowed = (origin: string | undefined): origin is string =>
    origin !== undefined && (anyOrigin || allowed.has(origin));

  return {
    /** Adds CORS headers for an allowed origin; answers a preflight completely. Returns true when it answered. */
    handle(request: IncomingMessage, response: ServerResponse): boolean {
      const origin = request.headers.origin;
      if (allowedOrigins.length > 0) response.setHeader('vary', 'Origin');
      if (isAllowed(origin)) {
        response.setHeader('access-control-allow-origin', anyOrigin ? '*' : origin);
        response.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
      }
      if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined) return false;
      if (isAllowed(origin)) {
        response.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        response.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
        response.setHeader('access-control-max-age', '600');
      }
      response.writeHead(204);
      response.end();
      return true;
    },
  };
}
