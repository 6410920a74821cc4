import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium: browser tests never download a browser of their own. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasBrowser = existsSync(CHROMIUM);
export const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');

/** Says once, clearly, why a browser test file is skipped. */
export function warnIfNoBrowser(what: string): void {
  if (!hasBrowser) {
    console.warn(
      `${what} SKIPPED: ${CHROMIUM} does not exist. Install it with \`apt-get install -y chromium\` (.ci/run does).`,
    );
  }
}

export interface LaunchedBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, and none of the background traffic this machine refuses. */
export async function launchChromium(viewport = { width: 1280, height: 800 }): Promise<LaunchedBrowser> {
  const profileDir = mkdtempSync(path.join(os.tmpdir(), 'profile-service-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
