import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ARTIFACTS, hasBrowser, launchChromium, warnIfNoBrowser, type LaunchedBrowser } from '../support/browser';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/**
 * A page served by the test, on its own origin, loads the built client bundle
 * (dist/client/profile-client.mjs) in Chromium and calls the three functions against the server.
 */

const BUNDLE = path.resolve(__dirname, '..', '..', 'dist', 'client', 'profile-client.mjs');
warnIfNoBrowser('Client browser test');

function page(apiUrl: string, token: string, friend: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>client</title></head>
<body><pre id="out">running</pre>
<script type="module">
  import { createProfileClient, TYPES } from '/profile-client.mjs';
  const out = document.getElementById('out');
  const chat = createProfileClient({ url: ${JSON.stringify(apiUrl)}, getToken: () => ${JSON.stringify(token)} });
  try {
    const updated = await chat.updateMyProfile({ nick: 'From the browser', gender: TYPES.GENDER_FEMALE });
    const mine = await chat.getMyProfile();
    const others = await chat.getUserProfile({ userIDList: [${JSON.stringify(friend)}, mine.data.userID] });
    let refused;
    try { await chat.updateMyProfile({ nick: 'x'.repeat(501) }); } catch (error) { refused = { code: error.code, reason: error.extensions.reason }; }
    const checked = [];
    for (const options of [{}, { gender: 'constructor' }, { level: '3' }, { profileCustomField: [] }]) {
      try { await chat.updateMyProfile(options); checked.push('resolved'); } catch (error) { checked.push(error.code); }
    }
    const codes = [updated.code, mine.code, others.code];
    window.results = { codes, updated: updated.data, mine: mine.data, others: others.data, refused, checked };
    out.textContent = JSON.stringify(window.results, null, 2);
  } catch (error) {
    window.results = { failed: String(error && error.message || error) };
    out.textContent = 'failed: ' + window.results.failed;
  }
</script></body></html>`;
}

(hasBrowser ? describe : describe.skip)('the client in a browser', () => {
  let server: TestServer;
  let pageServer: http.Server;
  let browser: LaunchedBrowser;
  let html = '';

  beforeAll(async () => {
    pageServer = http.createServer((request, response) => {
      if (request.url === '/profile-client.mjs') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        response.end(readFileSync(BUNDLE));
      } else if (request.url === '/') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(html);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
    const pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    server = await startTestServer({ CORS_ORIGINS: pageOrigin });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await new Promise((resolve) => pageServer?.close(resolve));
  });

  it('getMyProfile, getUserProfile and updateMyProfile work from a page on another origin', async () => {
    const me = uniqueUserID('br');
    const friend = uniqueUserID('br');
    await server.request('mutation { updateMyProfile(input: { nick: "Browser friend" }) { userID } }', { as: friend });
    html = page(server.url, await server.token(me), friend);
    const tab = browser.context.pages()[0] ?? (await browser.context.newPage());
    const requested: string[] = [];
    tab.on('request', (request) => requested.push(request.url()));
    await tab.goto(`http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`);
    await tab.waitForFunction(() => (globalThis as unknown as { results?: unknown }).results !== undefined);
    const results = await tab.evaluate(() => (globalThis as unknown as { results: any }).results);
    mkdirSync(ARTIFACTS, { recursive: true });
    await tab.screenshot({ path: path.join(ARTIFACTS, 'client-browser.png') });

    expect(results.failed).toBeUndefined();
    expect(results.updated).toMatchObject({ userID: me, nick: 'From the browser', gender: 'Gender_Type_Female' });
    expect(results.mine).toMatchObject({
      userID: me,
      nick: 'From the browser',
      allowType: 'AllowType_Type_NeedConfirm',
    });
    expect(results.others.map((p: { userID: string; nick: string }) => [p.userID, p.nick])).toEqual([
      [friend, 'Browser friend'],
      [me, 'From the browser'],
    ]);
    expect(results.refused).toEqual({ code: 40601, reason: 'TOO_LONG' });
    expect(results.codes).toEqual([0, 0, 0]);
    expect(results.checked).toEqual([2721, 2721, 2721, 2722]);
    expect(requested.every((url) => url.startsWith('http://127.0.0.1:'))).toBe(true);
  });
});
