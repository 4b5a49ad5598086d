// Runs the real service in-process on a random port, on embedded PGlite (in memory) by default or
// on the PostgreSQL server named by DATABASE_URL, and hands out clients typed from generated/.
import { randomUUID } from 'node:crypto';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from '../../generated/schema.d.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { contractViolations, findOperation } from './contract.ts';

export type TasksClient = Client<paths>;

export interface TestServer extends RunningServer {
  /** A typed client whose every response is checked against the contract. */
  client: TasksClient;
  /**
   * fetch() for requests the typed client refuses to make (broken JSON, wrong types, …). Responses
   * from spec operations are contract-checked too; other paths (unknown ones, /docs) are not.
   */
  raw(path: string, init?: RequestInit): Promise<Response>;
}

export const usingPostgresServer = Boolean(process.env.DATABASE_URL);

export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    PGLITE_DATA_DIR: 'memory://',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    VALIDATE_RESPONSES: 'true',
  });
  return { ...base, ...overrides };
}

/** A user id no other test (or earlier run on a shared server) uses. */
export function newUserId(prefix = 'user'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** Fails the test on any response that breaks the spec. */
const contractCheck: Middleware = {
  async onResponse({ request, response }) {
    const violations = await contractViolations(request.method, request.url, response);
    if (violations.length > 0) throw new Error(`Contract broken:\n  ${violations.join('\n  ')}`);
    return undefined;
  },
};

export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const running = await startServer(testConfig(overrides));
  const client = createClient<paths>({ baseUrl: running.url });
  client.use(contractCheck);
  return {
    ...running,
    client,
    async raw(path, init) {
      const url = `${running.url}${path}`;
      const response = await fetch(url, { redirect: 'manual', ...init });
      const method = init?.method ?? 'GET';
      if (findOperation(method, new URL(url).pathname)) {
        const violations = await contractViolations(method, url, response);
        if (violations.length > 0) throw new Error(`Contract broken:\n  ${violations.join('\n  ')}`);
      }
      return response;
    },
  };
}

export const json = (body: unknown, method = 'POST'): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
