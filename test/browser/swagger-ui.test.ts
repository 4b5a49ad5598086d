// The interactive docs at /docs, as a reader sees them in a real (headless) Chromium.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { operations } from '../support/contract.ts';
import { newUserId, startTestServer, tokenFor, type TestServer } from '../support/server.ts';
import { browserTestsSkipped, launchChromium, watchForProblems } from './chromium.ts';
import { byNameAndPlace, SwaggerUiPage } from './swagger-ui-page.ts';

const operation = (operationId: string) => {
  const found = operations.find((op) => op.operationId === operationId);
  assert.ok(found, `${operationId} is in the spec`);
  return found;
};

const SCREENSHOT = new URL('../../test-results/swagger-ui.png', import.meta.url);

describe('Swagger UI at /docs', { skip: await browserTestsSkipped() }, () => {
  let browser: Browser | undefined;
  let api: TestServer | undefined;
  let page: Page | undefined;
  let docs: SwaggerUiPage;
  let problems: string[] = [];

  before(async () => {
    // The browser first: without one there is nothing to test, and no server to clean up.
    browser = await launchChromium();
    api = await startTestServer();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(5_000);
    context.setDefaultNavigationTimeout(10_000);
    page = await context.newPage();
    problems = await watchForProblems(page, new URL(api.url).origin);
    docs = await SwaggerUiPage.open(page, api.url);
  });

  after(async () => {
    try {
      // The page as the stories left it (after a failure too): an artifact to look at, not a check.
      if (page) {
        await mkdir(new URL('.', SCREENSHOT), { recursive: true });
        await page.screenshot({ path: fileURLToPath(SCREENSHOT), fullPage: true });
      }
    } finally {
      await browser?.close();
      await api?.close();
    }
  });

  test('the page loads without console errors, uncaught exceptions or failed requests', () => {
    assert.deepEqual(problems, []);
  });

  test('every operation in the spec is listed with its operation id, method and path', async () => {
    const byId = (a: { operationId: string }, b: { operationId: string }) => a.operationId.localeCompare(b.operationId);
    const expected = operations.map(({ operationId, method, path }) => ({ operationId, method, path })).sort(byId);
    assert.deepEqual((await docs.listedOperations()).sort(byId), expected);
    for (const { operationId } of operations) {
      assert.equal(await docs.operation(operationId).count(), 1, `one block for ${operationId}`);
    }
  });

  test('a reader creates a task with "Try it out", sees the live 201, and the task is really stored', async () => {
    assert.ok(api);
    const userId = newUserId('swagger');
    const body = { title: 'Tried it out', description: 'Created from the docs page.' };
    const token = await tokenFor(userId);
    await docs.authorize(token);

    // createTask is the first operation this page opens: what it shows must not depend on that.
    await docs.expand('createTask');
    const declared = operation('createTask')
      .parameters.map((p) => ({ name: String(p.name), in: String(p.in) }))
      .sort(byNameAndPlace);
    assert.deepEqual(
      await docs.parametersShown('createTask', declared),
      declared,
      'createTask shows the parameters the spec declares',
    );

    const { response, shown } = await docs.tryItOut('createTask', { path: { user_id: userId }, body });

    // What was sent is what the reader typed (and their token), to the service that serves the page.
    assert.equal(response.request().method(), 'POST');
    assert.equal(response.url(), `${api.url}/api/${userId}/tasks`);
    assert.deepEqual(response.request().postDataJSON(), body);
    assert.equal(await response.request().headerValue('authorization'), `Bearer ${token}`);
    // The page shows the live answer.
    assert.equal(response.status(), 201);
    assert.equal(shown.status, 201);
    const created = JSON.parse(shown.body) as { id: string; user_id: string; title: string };
    assert.equal(created.user_id, userId);
    assert.equal(created.title, body.title);

    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    assert.deepEqual(data, [created]);
    assert.deepEqual(problems, []);
  });

  test('the token entered in Authorize survives a reload, and calls made after it still carry it', async () => {
    assert.ok(api && page);
    const userId = newUserId('reload');
    const token = await tokenFor(userId);
    // Start signed out (the story above signed in as someone else), sign in, then load the page anew.
    await page.evaluate(() => localStorage.clear());
    docs = await SwaggerUiPage.open(page, api.url);
    await docs.authorize(token);
    docs = await SwaggerUiPage.open(page, api.url);
    await page.locator('.swagger-ui .auth-wrapper button.authorize.locked').waitFor();
    await docs.expand('createTask');
    const { response, shown } = await docs.tryItOut('createTask', {
      path: { user_id: userId },
      body: { title: 'After a reload' },
    });
    assert.equal(await response.request().headerValue('authorization'), `Bearer ${token}`);
    assert.equal(shown.status, 201);
    assert.deepEqual(problems, []);
  });
});
