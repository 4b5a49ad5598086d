// Idempotency-Key at the HTTP edge: what identifies a request, so a retry can be told from a new
// request reusing its key. The spec checks the key's syntax; src/tasks/idempotency.sql.ts keeps keys.
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Retry } from '../tasks/idempotency.sql.ts';

/** JSON with object keys sorted, so the same body sent with its members in another order is the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? '';
}

/**
 * The request's Idempotency-Key and fingerprint (method, path, body), or undefined without a key.
 * The path is compared in lower case: its task id is accepted in either case, and the key is
 * already scoped to the path's user.
 */
export function retryOf(req: Request): Retry | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  const fingerprint = createHash('sha256')
    .update(`${req.method} ${req.path.toLowerCase()}\n${canonicalJson(req.body)}`)
    .digest('hex');
  return { key, fingerprint };
}
