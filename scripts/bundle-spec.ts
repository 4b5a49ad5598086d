// Writes the contract as one self-contained document for consumers (SDK generators, gateways,
// docs sites): dist/openapi.json, produced by `redocly bundle`. The spec only has internal $refs
// today, so the bundle is the very document the service serves at /openapi.json (a test checks).
// Fails, and leaves no bundle behind, when Redocly reports anything at all: an error, or a warning
// (an invalid redocly.yaml, a component renamed on a conflict, …) that would still exit 0.
//
//   node --experimental-strip-types scripts/bundle-spec.ts [output]
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SPEC_PATH } from '../src/spec.ts';

const run = promisify(execFile);

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SPEC_FILE = fileURLToPath(SPEC_PATH);
export const BUNDLE_FILE = resolve(PROJECT_ROOT, 'dist/openapi.json');
const REDOCLY = resolve(PROJECT_ROOT, 'node_modules/.bin/redocly');

// What `redocly bundle` prints when all is well; any other line is a problem it is reporting.
const QUIET = [/^bundling .+\.\.\.$/, /^📦 Created a bundle for .+ at .+ \d+ms\.$/];

class BundleError extends Error {
  override name = 'BundleError';
}

/** Bundles openapi/openapi.yaml into `output` and returns the parsed bundle. */
async function bundleSpec(output: string = BUNDLE_FILE): Promise<Record<string, unknown>> {
  const target = resolve(output);
  await mkdir(dirname(target), { recursive: true });
  await rm(target, { force: true });
  const args = ['bundle', relative(PROJECT_ROOT, SPEC_FILE), '--output', target, '--ext', 'json'];
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, [REDOCLY, ...args], {
      cwd: PROJECT_ROOT, // so redocly.yaml applies
      // Offline and quiet: no telemetry, no update check, no colours in what we parse.
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
    }));
  } catch (err) {
    const { stdout: out = '', stderr: errOut = '' } = err as { stdout?: string; stderr?: string };
    await rm(target, { force: true });
    throw new BundleError(`redocly bundle failed:\n${`${out}\n${errOut}`.trim()}`);
  }
  const reported = `${stdout}\n${stderr}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !QUIET.some((quiet) => quiet.test(line)));
  if (reported.length > 0) {
    await rm(target, { force: true });
    throw new BundleError(`redocly bundle reported problems (treated as failures):\n${reported.join('\n')}`);
  }
  const bundle = JSON.parse(await readFile(target, 'utf8')) as Record<string, unknown>;
  if (typeof bundle.openapi !== 'string' || typeof bundle.paths !== 'object') {
    await rm(target, { force: true });
    throw new BundleError(`${target} is not an OpenAPI document`);
  }
  return bundle;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const output = process.argv[2] ?? BUNDLE_FILE;
  try {
    await bundleSpec(output);
    console.log(`Bundled ${relative(process.cwd(), SPEC_FILE)} → ${relative(process.cwd(), resolve(output))}`);
  } catch (err) {
    console.error(err instanceof BundleError ? err.message : err);
    process.exitCode = 1;
  }
}
