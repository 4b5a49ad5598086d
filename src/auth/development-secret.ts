// With the embedded database and no BETTER_AUTH_SECRET or JWKS_URL, the service makes its own
// signing secret, so `npm start` works at once yet every call still needs a token. It is kept beside
// the embedded data (git-ignored) so tokens survive restarts; with in-memory data it is in memory too.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export function developmentSecretPath(pgliteDataDir: string): string | undefined {
  if (pgliteDataDir.startsWith('memory://')) return undefined;
  return join(dirname(resolve(pgliteDataDir)), 'dev-secret');
}

const inMemorySecret = randomBytes(32).toString('base64url');

export async function loadOrCreateDevelopmentSecret(pgliteDataDir: string): Promise<string> {
  const path = developmentSecretPath(pgliteDataDir);
  if (!path) return inMemorySecret;
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dirname(path), { recursive: true });
  // 'wx': if another process created it meanwhile, keep theirs.
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return (await readFile(path, 'utf8')).trim();
}
