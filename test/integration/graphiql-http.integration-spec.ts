import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from '../support/test-server';

/** GraphiQL over plain HTTP: when the page is served, what it loads, and what stays the API. */

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

function packageFile(packageName: string, file: string): Buffer {
  return readFileSync(path.join(path.dirname(require.resolve(`${packageName}/package.json`)), file));
}

function pageConfig(html: string): { endpoint: string; query: string; variables: string; headers: string } {
  const json = /<script type="application\/json" id="graphiql-config">(.*?)<\/script>/s.exec(html)?.[1];
  expect(json).toBeDefined();
  return JSON.parse(json!);
}

function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:href|src)="(\/graphiql\/assets\/[^"]+)"/g)].map((match) => match[1]);
}

describe('GraphiQL in development', () => {
  let server: TestServer;
  let origin: string;

  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'development' });
    origin = new URL(server.url).origin;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('serves the page to a browser on GET /graphql, never cached, with a strict content policy', async () => {
    const response = await fetch(server.url, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('vary')).toBe('Accept');
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    const html = await response.text();
    expect(html).toContain('<div id="graphiql">');
    // Every script and style is ours: nothing names another host.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(assetUrls(html)).toHaveLength(6);
  });

  it('opens with the example operation and a working token for the demo user', async () => {
    const html = await (await fetch(server.url, { headers: { accept: BROWSER_ACCEPT } })).text();
    const config = pageConfig(html);
    expect(config.endpoint).toBe('/graphql');
    expect(config.query).toMatch(/query Example\(\$ids: \[ID!\]!\) \{\s+me \{/);
    expect(config.query).toContain('users(ids: $ids)');
    expect(JSON.parse(config.variables)).toEqual({ ids: ['demo_bob', 'demo_carol'] });
    const authorization: string = JSON.parse(config.headers).Authorization;
    expect(authorization).toMatch(/^Bearer ey/);

    const result = await server.request('{ me { userID } }', { token: authorization.slice('Bearer '.length) });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ me: { userID: 'demo_alice' } });
  });

  it('serves each asset from the npm packages with its content type and an immutable cache', async () => {
    const html = await (await fetch(server.url, { headers: { accept: BROWSER_ACCEPT } })).text();
    const urls = assetUrls(html);
    const expected: Record<string, { type: string; body?: Buffer }> = {
      'graphiql.min.css': { type: 'text/css; charset=utf-8', body: packageFile('graphiql', 'graphiql.min.css') },
      'graphiql.min.js': { type: 'text/javascript; charset=utf-8', body: packageFile('graphiql', 'graphiql.min.js') },
      'graphql-ws.min.js': {
        type: 'text/javascript; charset=utf-8',
        body: packageFile('graphql-ws', 'umd/graphql-ws.min.js'),
      },
      'react.production.min.js': {
        type: 'text/javascript; charset=utf-8',
        body: packageFile('react', 'umd/react.production.min.js'),
      },
      'react-dom.production.min.js': {
        type: 'text/javascript; charset=utf-8',
        body: packageFile('react-dom', 'umd/react-dom.production.min.js'),
      },
      'graphiql-boot.js': { type: 'text/javascript; charset=utf-8' },
    };
    expect(urls.map((url) => url.split('/').at(-1)).sort()).toEqual(Object.keys(expected).sort());
    for (const url of urls) {
      expect(url).toMatch(/^\/graphiql\/assets\/[0-9a-f]{16}\/[\w.-]+$/);
      const response = await fetch(origin + url);
      expect(response.status).toBe(200);
      const { type, body } = expected[url.split('/').at(-1)!];
      expect(response.headers.get('content-type')).toBe(type);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const received = Buffer.from(await response.arrayBuffer());
      if (body !== undefined) expect(received.equals(body)).toBe(true);
      else expect(received.toString('utf8')).toContain('GraphiQL.createFetcher');
    }
  });

  it('sends the assets gzipped to clients that accept it, and as they are to others', async () => {
    const page = await fetch(`${origin}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    const url = assetUrls(await page.text()).find((candidate) => candidate.endsWith('/graphiql.min.js'))!;
    const original = packageFile('graphiql', 'graphiql.min.js');
    const get = (headers: Record<string, string>) =>
      new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http
          .get(origin + url, { headers }, (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
          })
          .on('error', reject);
      });

    const gzipped = await get({ 'accept-encoding': 'gzip, deflate, br' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('accept-encoding');
    expect(Number(gzipped.headers['content-length'])).toBe(gzipped.body.length);
    expect(gzipped.body.length).toBeLessThan(original.length / 2);
    expect(gunzipSync(gzipped.body).equals(original)).toBe(true);

    for (const headers of [{}, { 'accept-encoding': 'gzip;q=0, identity' }] as Record<string, string>[]) {
      const plain = await get(headers);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.equals(original)).toBe(true);
    }
  });

  it('answers an unknown asset with 404 and other methods with 405', async () => {
    const missing = await fetch(`${origin}/graphiql/assets/0000000000000000/graphiql.min.js`);
    expect(missing.status).toBe(404);
    const posted = await fetch(`${origin}/graphiql/assets/0000000000000000/graphiql.min.js`, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
  });

  it('keeps answering API requests: POST, GET with a query, and GET asking for JSON', async () => {
    const posted = await fetch(server.url, {
      method: 'POST',
      headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(posted.status).toBe(200);
    expect(posted.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await posted.json()).toEqual({ data: { __typename: 'Query' } });

    const got = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: BROWSER_ACCEPT, 'apollo-require-preflight': 'true' },
    });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ data: { __typename: 'Query' } });

    const noQuery = await fetch(server.url, { headers: { accept: 'application/json' } });
    expect(noQuery.status).toBe(400);
    expect(noQuery.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('lets a client introspect the schema', async () => {
    const result = await server.request('{ __schema { queryType { name } } }');
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});

describe('GraphiQL outside development', () => {
  it('holds no token in test mode, only a placeholder', async () => {
    const server = await startTestServer({ NODE_ENV: 'test' });
    try {
      const response = await fetch(server.url, { headers: { accept: BROWSER_ACCEPT } });
      expect(response.status).toBe(200);
      const config = pageConfig(await response.text());
      expect(JSON.parse(config.headers)).toEqual({ Authorization: 'Bearer <token>' });
    } finally {
      await server.stop();
    }
  });

  it('is off in production with introspection, and _service { sdl } still answers for the gateway', async () => {
    const server = await startTestServer({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET });
    try {
      const origin = new URL(server.url).origin;
      const asset = await fetch(`${origin}/graphiql/assets/0000000000000000/graphiql.min.js`);
      expect(asset.status).toBe(404);
      expect(asset.headers.get('content-type')).toMatch(/^application\/json/);

      const introspection = await server.request('{ __schema { queryType { name } } }');
      expect(introspection.data).toBeUndefined();
      expect(introspection.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

      const sdl = await server.request('{ _service { sdl } }');
      expect(sdl.errors).toBeUndefined();
      expect(sdl.data!._service.sdl).toContain('@key(fields: "userID")');
    } finally {
      await server.stop();
    }
  });

  it('tells a browser, on a page that runs nothing, that GraphiQL is off and how to turn it on or call the API', async () => {
    const server = await startTestServer({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET });
    try {
      const page = await fetch(server.url, { headers: { accept: BROWSER_ACCEPT } });
      expect(page.status).toBe(404);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('vary')).toBe('Accept');
      expect(page.headers.get('content-security-policy')).toBe(
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await page.text();
      expect(html).toContain('GraphiQL is off on this server');
      expect(html).toContain('GRAPHIQL=true');
      expect(html).toContain('curl -X POST');
      expect(html).not.toMatch(/<script|<link rel="stylesheet"|<style|graphiql-config|Bearer ey/);

      const head = await fetch(server.url, { method: 'HEAD', headers: { accept: BROWSER_ACCEPT } });
      expect(head.status).toBe(404);
      expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await head.text()).toBe('');

      // API requests are answered as before: without a query, with one, and a POST from the same browser.
      const noQuery = await fetch(server.url, { headers: { accept: 'application/json' } });
      expect(noQuery.status).toBe(400);
      expect(noQuery.headers.get('content-type')).toMatch(/^application\/json/);
      const got = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { accept: BROWSER_ACCEPT, 'apollo-require-preflight': 'true' },
      });
      expect(got.status).toBe(200);
      expect(await got.json()).toEqual({ data: { __typename: 'Query' } });
      const posted = await fetch(server.url, {
        method: 'POST',
        headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(posted.status).toBe(200);
      expect(await posted.json()).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await server.stop();
    }
  });

  it('is on in production with GRAPHIQL=true and INTROSPECTION=true, without a development token', async () => {
    const server = await startTestServer({
      NODE_ENV: 'production',
      JWT_SECRET: TEST_JWT_SECRET,
      GRAPHIQL: 'true',
      INTROSPECTION: 'true',
    });
    try {
      const page = await fetch(server.url, { headers: { accept: BROWSER_ACCEPT } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(JSON.parse(pageConfig(html).headers)).toEqual({ Authorization: 'Bearer <token>' });
      expect(html).not.toMatch(/Bearer ey/);

      const introspection = await server.request('{ __schema { queryType { name } } }');
      expect(introspection.errors).toBeUndefined();
      expect(introspection.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await server.stop();
    }
  });
});
