// Runs the real service in-process on a random port, on embedded PGlite (in memory) by default or
// on the PostgreSQL server named by DATABASE_URL, and hands out clients typed from generated/.
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
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

/**
 * A server on a database of its own, which the test may take away: a throw-away PostgreSQL
 * database on the server when DATABASE_URL is set, else a separate in-memory PGlite.
 */
export async function startServerWithOwnDatabase(): Promise<TestServer & { loseDatabase(): Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const api = await startTestServer({ database: { kind: 'pglite', dataDir: 'memory://' } });
    return { ...api, loseDatabase: () => api.db.close(true) };
  }
  const name = `tasks_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = await MikroORM.init({ clientUrl: serverUrl, entities: [], discovery: { warnWhenNoEntities: false } });
  await admin.em.getConnection().execute(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const api = await startTestServer({ database: { kind: 'postgresql', url: url.toString(), poolMax: 2 } });
  const drop = () => admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
  return {
    ...api,
    loseDatabase: async () => {
      await drop();
    },
    close: async () => {
      await api.close().catch(() => {});
      await drop();
      await admin.close();
    },
  };
}
