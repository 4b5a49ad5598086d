// The one decision of which HS256 secret tokens are verified (and, locally, signed) with: the
// server and `npm run token` both ask here, so they can never disagree.
//
// With the embedded database and no BETTER_AUTH_SECRET or JWKS_URL, the service makes its own
// development secret, so `npm start` works at once yet every call still needs a token. It is kept
// beside the embedded data (git-ignored) so tokens survive restarts; with in-memory data it is in
// memory too, and only the process that made it knows it.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config.ts';

type SigningSecret =
  | { source: 'BETTER_AUTH_SECRET'; secret: string }
  /** `file` is undefined when the secret lives in this process's memory only. */
  | { source: 'development'; secret: string; file: string | undefined };

/** BETTER_AUTH_SECRET when set; else the development secret when the config allows one; else none (JWKS only). */
export async function signingSecret(config: Pick<Config, 'auth' | 'database'>): Promise<SigningSecret | undefined> {
  if (config.auth.secret) return { source: 'BETTER_AUTH_SECRET', secret: config.auth.secret };
  if (!config.auth.developmentSecret || config.database.kind !== 'pglite') return undefined;
  const file = developmentSecretPath(config.database.dataDir);
  return { source: 'development', secret: file ? await loadOrCreate(file) : inMemorySecret, file };
}

function developmentSecretPath(pgliteDataDir: string): string | undefined {
  if (pgliteDataDir.startsWith('memory://')) return undefined;
  return join(dirname(resolve(pgliteDataDir)), 'dev-secret');
}

const inMemorySecret = randomBytes(32).toString('base64url');

async function loadOrCreate(path: string): Promise<string> {
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
