// patches/ holds fixes to dependencies that `npm ci` applies (patch-package, package.json's
// postinstall). They are speed fixes (docs/benchmarks.md), invisible to every other test: this one
// notices when an upgrade or an install without scripts leaves one out.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

const root = new URL('..', import.meta.url);
const patches = readdirSync(new URL('patches/', root)).filter((name) => name.endsWith('.patch'));

describe('patched dependencies', () => {
  test('there is something to check', () => assert.ok(patches.length > 0));

  for (const name of patches) {
    test(`${name}: made for the installed version, and applied`, () => {
      const [, pkg, version] = /^(.+)\+([^+]+)\.patch$/.exec(name) ?? [];
      assert.ok(pkg && version, `${name} is named <package>+<version>.patch`);
      const installed = JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, root), 'utf8')) as {
        version: string;
      };
      assert.equal(installed.version, version, `${pkg} was upgraded: remake or drop ${name}`);
      // Every line the patch adds is in the installed file it names.
      const diff = readFileSync(new URL(`patches/${name}`, root), 'utf8');
      for (const section of diff.split(/^diff --git /m).slice(1)) {
        const file = /^\+\+\+ b\/(.+)$/m.exec(section)?.[1];
        assert.ok(file, `a file in ${name}`);
        const text = readFileSync(new URL(file, root), 'utf8');
        const added = section.split('\n').filter((line) => line.startsWith('+') && !line.startsWith('+++'));
        assert.ok(added.length > 0);
        for (const line of added) assert.ok(text.includes(line.slice(1)), `${file} has: ${line.slice(1).trim()}`);
      }
    });
  }
});
