// Debian's headless Chromium driven by playwright-core. Nothing here ever downloads a browser: the
// executable is the system one (or CHROMIUM_PATH), and a missing one fails the tests loudly.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches Chromium with a fresh temporary profile, or throws saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `The browser tests need Chromium, and there is no executable at ${CHROMIUM_PATH}.\n` +
        "  Install Debian's: sudo apt-get install chromium\n" +
        '  or point CHROMIUM_PATH at a Chromium binary. (These tests never download a browser.)',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, timeout: 30_000 });
}

/**
 * Records everything that goes wrong in a page: console errors, uncaught
 * exceptions, requests that fail or answer 4xx/5xx, and any request leaving `origin` (which is
 * aborted, so a page that needs a third-party host shows up here instead of hanging or passing
 * by luck). Returns the live list; a healthy page leaves it empty.
 */
export async function watchForProblems(page: Page, origin: string): Promise<string[]> {
  const problems: string[] = [];
  await page.route(
    (url) => (url.protocol === 'http:' || url.protocol === 'https:') && url.origin !== origin,
    (route) => {
      problems.push(`request to another origin: ${route.request().method()} ${route.request().url()}`);
      return route.abort('blockedbyclient');
    },
  );
  page.on('console', (message) => {
    if (message.type() === 'error')
      problems.push(`console error: ${message.text()} (at ${message.location().url || 'unknown'})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(
      `request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? 'unknown error'})`,
    ),
  );
  page.on('response', (response) => {
    if (response.status() >= 400)
      problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  return problems;
}
