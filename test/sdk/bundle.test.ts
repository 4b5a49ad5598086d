import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BUNDLE_FILE, PROJECT_ROOT } from '../../scripts/bundle-spec.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/bundle-spec.ts', import.meta.url));

/** Every $ref in a document, with the JSON pointer it sits at. */
function refsIn(node: unknown, pointer = ''): { at: string; ref: string }[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => refsIn(item, `${pointer}/${i}`));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const at = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    return key === '$ref' && typeof value === 'string' ? [{ at, ref: value }] : refsIn(value, at);
  });
}

function resolvePointer(document: unknown, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((segment) => decodeURIComponent(segment).replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>(
      (at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined),
      document,
    );
}

describe('the bundled spec for consumers (npm run bundle:spec)', () => {
  let api: TestServer;
  let bundle: unknown;
  let output: { stdout: string; stderr: string };

  before(async () => {
    // Exactly what the npm script runs; the server starts meanwhile.
    const [server, result] = await Promise.all([
      startTestServer(),
      run(process.execPath, ['--experimental-strip-types', SCRIPT], { cwd: PROJECT_ROOT }),
    ]);
    api = server;
    output = result;
    bundle = JSON.parse(await readFile(BUNDLE_FILE, 'utf8'));
  });
  after(() => api?.close());

  test('the script succeeds quietly and says where the bundle went', () => {
    assert.equal(output.stderr, '');
    assert.equal(output.stdout, 'Bundled openapi/openapi.yaml → dist/openapi.json\n');
  });

  test('dist/openapi.json is the very document the service serves at /openapi.json', async () => {
    const res = await api.raw('/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(bundle, await res.json());
  });

  test('the bundle is self-contained: every $ref is internal and resolves inside it', () => {
    const refs = refsIn(bundle);
    assert.ok(refs.length > 20, `only ${refs.length} $refs found; is this the whole spec?`);
    const external = refs.filter(({ ref }) => !ref.startsWith('#/'));
    assert.deepEqual(external, [], 'a $ref points outside the document');
    const dangling = refs.filter(({ ref }) => resolvePointer(bundle, ref) === undefined);
    assert.deepEqual(dangling, [], 'a $ref resolves to nothing');
  });
});
