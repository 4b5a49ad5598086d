// Which Node runs this project, said in four places that must agree: the `node` dependency (what
// npm scripts run on), .nvmrc (nvm and hosting platforms), `engines` (what the code supports) and
// the preflight (what a too-old Node is told).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import semver from 'semver';

interface PackageJson {
  engines: { node: string };
  dependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
}
interface Lockfile {
  packages: Record<string, { engines?: { node?: string } | string[]; hasInstallScript?: boolean }>;
}

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const pkg = JSON.parse(read('package.json')) as PackageJson;
const lock = JSON.parse(read('package-lock.json')) as Lockfile;
const root = new URL('..', import.meta.url);

describe('the Node this project runs on', () => {
  test('.nvmrc names exactly the Node the `node` dependency installs, and engines allows it', () => {
    const pinned = pkg.dependencies.node;
    assert.ok(pinned && semver.valid(pinned), 'the node dependency is an exact version');
    assert.equal(read('.nvmrc').trim(), pinned);
    assert.ok(semver.satisfies(pinned, pkg.engines.node), `${pinned} satisfies engines ${pkg.engines.node}`);
  });

  test('engines allows no Node that a dependency refuses', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, entry]) => {
        const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        if (!wanted || semver.subset(pkg.engines.node, wanted)) return [];
        return [`${path.replace(/^.*node_modules\//, '')} wants node ${wanted}`];
      });
    assert.deepEqual(refusing, []);
  });

  test('every dependency with an install script is approved or denied in allowScripts', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    assert.deepEqual(withScripts.filter((name) => !(name in pkg.allowScripts)).sort(), []);
    // Node itself is installed by its script; telemetry is not welcome.
    assert.equal(pkg.allowScripts.node, true);
    assert.equal(pkg.allowScripts['@scarf/scarf'], false);
  });

  test('the preflight passes silently on this Node, and on a too-old one says what to do in one line', async () => {
    const run = promisify(execFile);
    assert.deepEqual(await run(process.execPath, ['scripts/preflight.cjs'], { cwd: root }), { stdout: '', stderr: '' });

    // The same script on a Node that claims to be 20: the check reads process.versions, nothing else.
    const asNode20 = `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.19.0' } });
      require('./scripts/preflight.cjs');`;
    const failed = await run(process.execPath, ['-e', asNode20], { cwd: root }).then(
      () => assert.fail('the preflight accepted Node 20'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '');
    assert.equal(
      failed.stderr,
      `Tasks API needs Node.js ${pkg.engines.node} but this is Node.js 20.19.0 (${process.execPath}): ` +
        `run "npm ci" (it installs Node ${pkg.dependencies.node} into node_modules; not with --ignore-scripts), ` +
        'or switch to the Node of .nvmrc (e.g. "nvm use").\n',
    );
  });
});
