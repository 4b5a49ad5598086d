// Shared by the fuzz suites: the seed and run count (from the environment, printed so a run can be
// repeated), and a request sender that counts what it sends and says what it sent when it fails.
// Every request goes through api.raw, the one place where the harness checks the contract (and
// will add credentials).
import fc from 'fast-check';
import type { TestServer } from '../support/server.ts';

function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer (got "${raw}")`);
  return value;
}

/** FUZZ_SEED repeats a run exactly; the default is fixed, so `npm test` is reproducible (.ci/run adds a fresh-seed pass). */
export const FUZZ_SEED = envInteger('FUZZ_SEED', 20261125);
/** FUZZ_RUNS scales every property; the default keeps the suite to a few thousand requests. */
export const FUZZ_RUNS = Math.max(1, envInteger('FUZZ_RUNS', 50));

/** fc.assert parameters: the fixed seed, a run count, and FUZZ_PATH to replay one shrunk failure. */
export function fuzzParameters(numRuns: number = FUZZ_RUNS): fc.Parameters<unknown> {
  const path = process.env.FUZZ_PATH?.trim();
  return {
    seed: FUZZ_SEED,
    numRuns,
    ...(path ? { path } : {}),
    // A failing run is shrunk; the counterexample printed is the smallest one found.
    endOnFailure: false,
  };
}

export interface Sender {
  (path: string, init?: RequestInit): Promise<Response>;
  readonly count: number;
}

function describeBody(body: RequestInit['body']): string {
  if (body === undefined || body === null) return '(no body)';
  const text = typeof body === 'string' ? body : body instanceof Uint8Array ? `<${body.byteLength} bytes>` : '<body>';
  return text.length > 300 ? `${JSON.stringify(text.slice(0, 300))}… (${text.length} chars)` : JSON.stringify(text);
}

/** A one-line description of a request, for failure messages. */
export function describeRequest(path: string, init?: RequestInit): string {
  const headers = Object.entries((init?.headers as Record<string, string> | undefined) ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const shownPath = path.length > 400 ? `${path.slice(0, 400)}… (${path.length} chars)` : path;
  return `${init?.method ?? 'GET'} ${shownPath} [${headers}] ${describeBody(init?.body)}`;
}

/** api.raw, counted; a contract violation or network error names the request that caused it. */
export function countingSender(api: TestServer): Sender {
  let count = 0;
  const send = async (path: string, init?: RequestInit): Promise<Response> => {
    count += 1;
    try {
      return await api.raw(path, init);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n  request: ${describeRequest(path, init)}`, { cause: err });
    }
  };
  Object.defineProperty(send, 'count', { get: () => count });
  return send as Sender;
}

/** Status and body text of a response, for failure messages (reads a clone). */
export async function describeResponse(response: Response): Promise<string> {
  const text = await response.clone().text();
  return `${response.status} ${text.length > 500 ? `${text.slice(0, 500)}…` : text}`;
}
