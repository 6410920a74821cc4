import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, hasBrowser, launchChromium, warnIfNoBrowser, type LaunchedBrowser } from '../support/browser';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/**
 * Opens GraphiQL in Debian's chromium, runs `me` with the page's development token and
 * `users(ids:)` with profiles made here, reads the results off the page, and checks that every
 * request the page made stayed on this machine.
 */

warnIfNoBrowser('GraphiQL browser test');

(hasBrowser ? describe : describe.skip)('GraphiQL in a browser', () => {
  let server: TestServer;
  let browser: LaunchedBrowser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'development' });
    browser = await launchChromium({ width: 1400, height: 900 });
    context = browser.context;
    context.on('request', (request) => requested.push(request.url()));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const resultText = () => page.locator('.result-window').innerText();

  async function run(expected: string[]): Promise<string> {
    await page.click('.graphiql-execute-button');
    for (const needle of expected) await page.locator('.result-window', { hasText: needle }).waitFor();
    return resultText();
  }

  it('runs me with the development token from the headers tab, then users(ids:)', async () => {
    const friends = [uniqueUserID('gq'), uniqueUserID('gq')];
    for (const [index, userID] of friends.entries()) {
      const created = await server.request(
        'mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { userID } }',
        { as: userID, variables: { nick: `Browser friend ${index}` } },
      );
      expect(created.errors).toBeUndefined();
    }

    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    await page.waitForSelector('.graphiql-container');

    const queryEditor = await page.locator('.graphiql-query-editor').innerText();
    expect(queryEditor).toContain('me {');
    expect(queryEditor).toContain('users(ids: $ids)');
    const headersEditor = await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)').innerText();
    expect(headersEditor).toMatch(/"Authorization": "Bearer ey[\w-]+\.[\w-]+\.[\w-]+"/);

    // One click on the example as the page opened it: `me` is the demo user of the token.
    const first = await run(['"me"', 'demo_alice']);
    expect(first).toContain('"userID": "demo_alice"');
    expect(first).not.toContain('"errors"');

    await page.click('.graphiql-editor-tools button[data-name="variables"]');
    await page.click('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(JSON.stringify({ ids: friends }));

    const second = await run(friends);
    expect(second).toContain('"userID": "demo_alice"');
    expect(second).toContain(`"userID": "${friends[0]}"`);
    expect(second).toContain('"nick": "Browser friend 0"');
    expect(second).toContain(`"userID": "${friends[1]}"`);
    expect(second).toContain('"nick": "Browser friend 1"');
    expect(second).not.toContain('"errors"');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql.png') });

    expect(problems).toEqual([]);
    expect(requested.length).toBeGreaterThan(5);
    const offMachine = requested.filter((url) => {
      const { protocol, hostname } = new URL(url);
      if (protocol === 'data:' || protocol === 'blob:') return false;
      return hostname !== '127.0.0.1' && hostname !== 'localhost';
    });
    expect(offMachine).toEqual([]);
    // The page, its scripts and styles, then operations: all from the server under test.
    expect(requested.filter((url) => url.includes('/graphiql/assets/')).length).toBe(5);
  });
});
