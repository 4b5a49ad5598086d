import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { SPEC_PATH } from '../src/spec.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const specText = readFileSync(SPEC_PATH, 'utf8');

describe('documentation endpoints', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  test('/openapi.json serves the spec, exactly the hand-written YAML parsed', async () => {
    const res = await api.raw('/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), parse(specText));
  });

  test('/openapi.yaml serves the YAML file as written', async () => {
    const res = await api.raw('/openapi.yaml');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/yaml/);
    assert.equal(await res.text(), specText);
  });

  test('/docs serves Swagger UI, whose init script loads /openapi.json', async () => {
    const page = await api.raw('/docs/');
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<div id="swagger-ui">/);
    const init = await api.raw('/docs/swagger-ui-init.js');
    assert.equal(init.status, 200);
    assert.match(await init.text(), /"url": "\/openapi\.json"/);
    const bundle = await api.raw('/docs/swagger-ui-bundle.js');
    assert.equal(bundle.status, 200);
  });

  test('/ and /docs lead to the docs', async () => {
    const root = await api.raw('/');
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/docs/');
    const docs = await api.raw('/docs');
    assert.equal(docs.status, 301);
    assert.equal(docs.headers.get('location'), '/docs/');
  });
});
