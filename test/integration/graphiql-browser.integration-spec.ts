import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { DEMO_VIEWER_ID } from '../../src/graphiql/demo-users';
import { ARTIFACTS, hasBrowser, launchChromium, warnIfNoBrowser, type LaunchedBrowser } from '../support/browser';
import { waitFor } from '../support/subscription-client';
import { startTestServer, uniqueUserID, type TestServer } from '../support/test-server';

/**
 * Opens GraphiQL in Debian's chromium, runs `me` with the page's development token and
 * `users(ids:)` with profiles made here, runs a subscription over the page's WebSocket, reads the
 * results off the page, looks through the docs, and checks that every request the page made stayed
 * on this machine.
 */

warnIfNoBrowser('GraphiQL browser test');

(hasBrowser ? describe : describe.skip)('GraphiQL in a browser', () => {
  let server: TestServer;
  let browser: LaunchedBrowser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];
  const posted: string[] = [];
  const sockets: Array<{ url: string; sent: string[]; received: string[] }> = [];

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
    page.on('request', (request) => {
      if (request.method() === 'POST') posted.push(request.postData() ?? '');
    });
    page.on('websocket', (socket) => {
      const seen = { url: socket.url(), sent: [] as string[], received: [] as string[] };
      sockets.push(seen);
      socket.on('framesent', (frame) => seen.sent.push(String(frame.payload)));
      socket.on('framereceived', (frame) => seen.received.push(String(frame.payload)));
      socket.on('socketerror', (error) => problems.push(`socket error: ${error}`));
    });
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

  async function openPage() {
    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    await page.waitForSelector('.graphiql-container');
  }

  async function typeInto(editor: string, text: string) {
    await page.click(`${editor} .CodeMirror`);
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(text);
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

    await openPage();

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
    await typeInto('.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ ids: friends }));

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
    expect(requested.filter((url) => url.includes('/graphiql/assets/')).length).toBe(6);
  });

  it('runs a subscription over a WebSocket with the token from the headers tab, and shows each change', async () => {
    await openPage();
    const subscription = `subscription { profileUpdated(userIDs: ["${DEMO_VIEWER_ID}"]) { userID nick } }`;
    await typeInto('.graphiql-query-editor', subscription);
    const postsBefore = posted.length;
    await page.click('.graphiql-execute-button');

    const changeNick = async () => {
      const nick = `Alice ${randomBytes(3).toString('hex')}`;
      const updated = await server.request(
        'mutation($nick: String!) { updateMyProfile(input: { nick: $nick }) { nick } }',
        { as: DEMO_VIEWER_ID, variables: { nick } },
      );
      expect(updated.errors).toBeUndefined();
      return nick;
    };
    const shows = (nick: string, timeout: number) =>
      page
        .locator('.result-window', { hasText: nick })
        .waitFor({ timeout })
        .then(
          () => true,
          () => false,
        );
    // Nothing tells the page when the server has started watching: change the nick until a change
    // arrives, then once more, and that one must arrive too.
    await waitFor('a first change to reach the page', async () =>
      (await shows(await changeNick(), 500)) ? true : undefined,
    );
    const nick = await changeNick();
    if (!(await shows(nick, 15000))) {
      throw new Error(
        `"${nick}" never shown; frames received: ${JSON.stringify(sockets.map((socket) => socket.received))}`,
      );
    }
    const shown = await resultText();
    expect(shown).toContain(`"userID": "${DEMO_VIEWER_ID}"`);
    expect(shown).not.toContain('"errors"');

    // One socket to this server's own path (the page's connect-src 'self' lets it through), the
    // headers tab's token in its connection_init, the operation on it and never over HTTP.
    const { port } = new URL(server.url);
    expect(sockets.map((socket) => socket.url)).toEqual([`ws://127.0.0.1:${port}/graphql`]);
    const [init, subscribe] = sockets[0].sent.map((frame) => JSON.parse(frame));
    expect(init).toEqual({ type: 'connection_init', payload: { authorization: expect.stringMatching(/^Bearer ey/) } });
    expect(subscribe).toMatchObject({ type: 'subscribe', payload: { query: subscription } });
    expect(posted.slice(postsBefore).filter((body) => body.includes('profileUpdated'))).toEqual([]);

    // The execute button, now a stop button, ends it on the socket.
    await page.click('.graphiql-execute-button');
    await waitFor('the page to end the subscription', () =>
      sockets[0].sent.some((frame) => JSON.parse(frame).type === 'complete') ? true : undefined,
    );
    expect(problems).toEqual([]);
  });

  it("lists the profile API in the docs, and none of federation's internals", async () => {
    await openPage();
    await page.click('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]');
    const explorer = page.locator('.graphiql-doc-explorer');
    const typeLink = (name: string) =>
      explorer.locator('a.graphiql-doc-explorer-type-name', { hasText: new RegExp(`^${name}$`) });
    await typeLink('User').waitFor();
    const listed = await explorer.locator('a.graphiql-doc-explorer-type-name').allInnerTexts();
    expect(listed).toEqual(
      expect.arrayContaining(['Query', 'Mutation', 'Subscription', 'User', 'UpdateMyProfileInput']),
    );
    expect(listed.filter((name) => /^_|__/.test(name))).toEqual([]);
    const root = await explorer.innerText();
    for (const hidden of [
      '_Service',
      '_Entity',
      '_Any',
      'link__Purpose',
      'link__Import',
      'federation__',
      '@key',
      '@link',
    ]) {
      expect(root).not.toContain(hidden);
    }

    await typeLink('Query').first().click();
    await explorer.locator('.graphiql-doc-explorer-field-name', { hasText: /^users$/ }).waitFor();
    const fields = await explorer.locator('.graphiql-doc-explorer-field-name').allInnerTexts();
    expect(fields).toEqual(expect.arrayContaining(['me', 'users']));
    expect(fields.filter((name) => name.startsWith('_'))).toEqual([]);

    const search = explorer.locator('.graphiql-doc-explorer-search-input input');
    for (const hidden of ['_Service', 'link__Purpose', '_entities']) {
      await search.fill(hidden);
      await explorer.locator('.graphiql-doc-explorer-search-empty').waitFor();
    }
    await search.fill('User');
    await explorer
      .locator('.graphiql-doc-explorer-search-type', { hasText: /^User$/ })
      .first()
      .waitFor();
    expect(problems).toEqual([]);
  });
});
