// Debian's headless Chromium driven by playwright-core. Nothing here ever downloads a browser: the
// executable is the system one (or CHROMIUM_PATH). Where there is none, `npm test` skips the browser
// tests with one line saying how to run them; in CI (CI=true) and under `npm run test:browser`
// (BROWSER_TESTS=required) a missing browser fails them instead, so they cannot silently stop running.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const INSTALL_HINT = "install Debian's (sudo apt-get install chromium) or set CHROMIUM_PATH";

async function chromiumExists(): Promise<boolean> {
  return access(CHROMIUM_PATH, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Why the browser tests should be skipped here (for node:test's `skip`), or false to run them.
 * Only a developer's machine without Chromium skips; CI and `npm run test:browser` never do.
 */
export async function browserTestsSkipped(): Promise<string | false> {
  const required = process.env.CI === 'true' || process.env.BROWSER_TESTS === 'required';
  if (required || (await chromiumExists())) return false;
  return `no Chromium at ${CHROMIUM_PATH}: ${INSTALL_HINT}, then run npm run test:browser`;
}

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
  if (!(await chromiumExists())) {
    throw new Error(
      `The browser tests need Chromium, and there is no executable at ${CHROMIUM_PATH}: ${INSTALL_HINT}. ` +
        '(These tests never download a browser.)',
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
