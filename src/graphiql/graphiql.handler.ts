import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { issueToken } from '../auth/token-issuer.js';
import { requestTarget } from '../http/request-target.js';
import type { Config } from '../config.js';
import { DEMO_USERS, DEMO_VIEWER_ID } from './demo-users.js';
import { BOOT_SCRIPT, examplePageConfig, renderOffPage, renderPage } from './graphiql.page.js';

const gzipAsync = promisify(gzip);

/** Where the page's scripts and styles are served; each URL carries the hash of its content. */
export const GRAPHIQL_ASSET_PATH = '/graphiql/assets';

const JAVASCRIPT = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

// The page may hold a development token: no cache keeps it. Everything it loads is on this server.
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  vary: 'Accept',
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    // GraphiQL's editors set inline styles.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

// The page shown while GraphiQL is off runs nothing and loads nothing.
const OFF_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  vary: 'Accept',
  'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

interface Asset {
  readonly url: string;
  readonly contentType: string;
  readonly body: Buffer;
  /** The body gzipped, made on the first request that accepts it and kept. */
  gzipped?: Promise<Buffer>;
}

export interface GraphiQL {
  /** True for the requests answered here: a browser's GET of the endpoint without a query (and, when on, the assets). */
  matches(request: IncomingMessage): boolean;
  respond(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

function packageFile(packageName: string, file: string): Buffer {
  return readFileSync(path.join(path.dirname(require.resolve(`${packageName}/package.json`)), file));
}

function asset(name: string, contentType: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { url: `${GRAPHIQL_ASSET_PATH}/${hash}/${name}`, contentType, body };
}

/** Whether an `accept-encoding` header takes gzip (by name or `*`, with a q above 0). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  return acceptEncoding.split(',').some((part) => {
    const [coding, ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** A browser navigating to the endpoint asks for HTML; API clients ask for JSON or anything. */
export function acceptsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const [type, ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return type === 'text/html' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** A browser's GET or HEAD of the endpoint, asking for HTML and carrying no `query`: never an API call. */
function isPageRequest(request: IncomingMessage, graphqlPath: string): boolean {
  const url = requestTarget(request);
  return (
    url.path === graphqlPath &&
    (request.method === 'GET' || request.method === 'HEAD') &&
    !url.params.has('query') &&
    acceptsHtml(request.headers.accept)
  );
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer,
): void {
  response.writeHead(status, { ...headers, 'content-length': String(body.length) });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/**
 * GraphiQL served from our own server: the React, graphql-ws client and GraphiQL UMD builds straight from
 * node_modules (no CDN, no build step), on content-hashed URLs cached for good.
 */
export function createGraphiQL(config: Config, graphqlPath: string): GraphiQL {
  const styles = [asset('graphiql.min.css', CSS, packageFile('graphiql', 'graphiql.min.css'))];
  const scripts = [
    asset('react.production.min.js', JAVASCRIPT, packageFile('react', 'umd/react.production.min.js')),
    asset('react-dom.production.min.js', JAVASCRIPT, packageFile('react-dom', 'umd/react-dom.production.min.js')),
    asset('graphql-ws.min.js', JAVASCRIPT, packageFile('graphql-ws', 'umd/graphql-ws.min.js')),
    asset('graphiql.min.js', JAVASCRIPT, packageFile('graphiql', 'graphiql.min.js')),
    asset('graphiql-boot.js', JAVASCRIPT, Buffer.from(BOOT_SCRIPT, 'utf8')),
  ];
  const assets = new Map([...styles, ...scripts].map((entry) => [entry.url, entry]));
  const urls = { styles: styles.map((entry) => entry.url), scripts: scripts.map((entry) => entry.url) };
  const exampleUserIDs = DEMO_USERS.map((user) => user.userID).filter((userID) => userID !== DEMO_VIEWER_ID);
  const isDevelopment = config.development;

  async function page(): Promise<string> {
    // A fresh token per page load, signed with the configured secret; never outside development,
    // and not when tokens are verified only with public keys (the server then holds no signing key).
    const secret = config.jwt.secret;
    const developmentToken =
      isDevelopment && secret !== undefined ? await issueToken(secret, DEMO_VIEWER_ID) : undefined;
    return renderPage(examplePageConfig(graphqlPath, { developmentToken, exampleUserIDs }), urls);
  }

  return {
    matches(request) {
      return requestTarget(request).path.startsWith(`${GRAPHIQL_ASSET_PATH}/`) || isPageRequest(request, graphqlPath);
    },

    async respond(request, response) {
      const url = requestTarget(request);
      const textHeaders = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        send(request, response, 405, { ...textHeaders, allow: 'GET, HEAD' }, Buffer.from('Method not allowed\n'));
        return;
      }
      if (url.path === graphqlPath) {
        send(request, response, 200, PAGE_HEADERS, Buffer.from(await page(), 'utf8'));
        return;
      }
      const found = assets.get(url.path);
      if (found === undefined) {
        send(request, response, 404, textHeaders, Buffer.from('Not found\n'));
        return;
      }
      const headers: Record<string, string> = {
        'content-type': found.contentType,
        'cache-control': ASSET_CACHE_CONTROL,
        'x-content-type-options': 'nosniff',
        vary: 'accept-encoding',
      };
      // GraphiQL's scripts are about 1.2 MB as they are and 330 kB gzipped.
      if (acceptsGzip(request.headers['accept-encoding'])) {
        found.gzipped ??= gzipAsync(found.body, { level: 9 });
        send(request, response, 200, { ...headers, 'content-encoding': 'gzip' }, await found.gzipped);
        return;
      }
      send(request, response, 200, headers, found.body);
    },
  };
}

/**
 * While GraphiQL is off, a browser opening the endpoint learns so and how to turn it on or call the
 * API, instead of the API's CSRF refusal. 404: there is no GraphiQL here, which scripts and probes
 * should see as plainly as a person does. API requests and asset URLs are left to the API.
 */
export function createGraphiQLOffPage(graphqlPath: string): GraphiQL {
  const body = Buffer.from(renderOffPage(graphqlPath), 'utf8');
  return {
    matches: (request) => isPageRequest(request, graphqlPath),
    async respond(request, response) {
      send(request, response, 404, OFF_PAGE_HEADERS, body);
    },
  };
}
