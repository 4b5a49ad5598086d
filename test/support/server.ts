// Runs the real service in-process on a random port, on embedded PGlite (in memory) by default or
// on the PostgreSQL server named by DATABASE_URL, and hands out clients typed from generated/.
import { randomUUID } from 'node:crypto';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from '../../generated/schema.d.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/clock.ts';
import type { Logger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { openDatabase } from '../../src/db/orm.ts';
import { signToken } from '../../src/auth/sign-token.ts';
import { isUserId } from '../../src/auth/user-id.ts';
import { contractViolations, findOperation } from './contract.ts';

type TasksClient = Client<paths>;

export interface TestServer extends RunningServer {
  /** A typed client whose every response is checked against the contract. */
  client: TasksClient;
  /**
   * fetch() for requests the typed client refuses to make (broken JSON, wrong types, …). Responses
   * from spec operations are contract-checked too; other paths (unknown ones, /docs) are not.
   * Like the client, it sends a token for the path's user unless `init.headers` has an
   * Authorization header; `{ anonymous: true }` sends none.
   */
  raw(path: string, init?: RequestInit, options?: { anonymous?: boolean }): Promise<Response>;
  /** The step most stories begin with: createTask through the typed client, which must answer 201. */
  createTask(userId: string, body: components['schemas']['TaskCreate']): Promise<components['schemas']['Task']>;
}

export const usingPostgresServer = Boolean(process.env.DATABASE_URL);

/** The HS256 secret every test server of this process verifies with. */
export const TEST_SECRET = randomUUID() + randomUUID();

/** A valid token for the user, as Better Auth (or `npm run token`) would issue it. */
export function tokenFor(userId: string, expiresInSeconds = 600): Promise<string> {
  return signToken({ secret: TEST_SECRET, userId, expiresInSeconds });
}

function testConfig(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Config {
  const base = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    PGLITE_DATA_DIR: 'memory://',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    VALIDATE_RESPONSES: 'true',
    BETTER_AUTH_SECRET: TEST_SECRET,
    // High enough never to trip by accident; the rate-limit tests set their own.
    RATE_LIMIT_PER_USER: '1000000',
    RATE_LIMIT_PER_IP: '1000000',
    ...env,
  });
  return { ...base, ...overrides };
}

/** The user a path belongs to: /api/{user_id}/… */
function pathUser(pathname: string): string | undefined {
  const match = /^\/api\/([^/]+)/.exec(pathname);
  try {
    return match ? decodeURIComponent(match[1]!) : undefined;
  } catch {
    return undefined; // a broken %-escape: nobody to act as
  }
}

/** Adds a valid token for the path's user unless the request already says who it is. */
async function authorize(request: Request): Promise<Request> {
  const userId = pathUser(new URL(request.url).pathname);
  if (!userId || request.headers.has('authorization') || !isUserId(userId)) return request;
  request.headers.set('authorization', `Bearer ${await tokenFor(userId)}`);
  return request;
}

/** A user id no other test (or earlier run on a shared server) uses. */
export function newUserId(prefix = 'user'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** Acts as the path's user (a token for them), and fails the test on any response that breaks the spec. */
const contractCheck = (unsentHeaders: readonly string[]): Middleware => ({
  onRequest: ({ request }) => authorize(request),
  async onResponse({ request, response }) {
    const violations = await contractViolations(request.method, request.url, response, { unsentHeaders });
    if (violations.length > 0) throw new Error(`Contract broken:\n  ${violations.join('\n  ')}`);
    return undefined;
  },
});

/** The spec's required headers a server so configured does not send: a quota of 0 is off, and says nothing. */
const unsentHeadersOf = (config: Config): string[] =>
  config.rateLimit.perUser === 0 || config.rateLimit.perIp === 0 ? ['RateLimit', 'RateLimit-Policy'] : [];

export async function startTestServer(
  overrides: Partial<Config> = {},
  options: { env?: Record<string, string>; logger?: Logger; clock?: Clock } = {},
): Promise<TestServer> {
  const config = testConfig(overrides, options.env);
  const running = await startServer(config, options.logger, { clock: options.clock });
  const unsentHeaders = unsentHeadersOf(config);
  const client = createClient<paths>({ baseUrl: running.url });
  client.use(contractCheck(unsentHeaders));
  return {
    ...running,
    client,
    async raw(path, init, options) {
      const url = `${running.url}${path}`;
      const request = new Request(url, { redirect: 'manual', ...init });
      const response = await fetch(options?.anonymous ? request : await authorize(request));
      const method = init?.method ?? 'GET';
      if (findOperation(method, new URL(url).pathname)) {
        const violations = await contractViolations(method, url, response, { unsentHeaders });
        if (violations.length > 0) throw new Error(`Contract broken:\n  ${violations.join('\n  ')}`);
      }
      return response;
    },
    async createTask(userId, body) {
      const { data, response } = await client.POST('/api/{user_id}/tasks', {
        params: { path: { user_id: userId } },
        body,
      });
      if (response.status !== 201 || !data) throw new Error(`createTask answered ${response.status}, not 201`);
      return data;
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
export async function startServerWithOwnDatabase(
  env: Record<string, string> = {},
  { clock, logger }: { clock?: Clock; logger?: Logger } = {},
): Promise<TestServer & { database: Config['database']; loseDatabase(): Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = { kind: 'pglite' as const, dataDir: 'memory://' };
    const api = await startTestServer({ database }, { env, clock, logger });
    // A closed in-memory PGlite reopens empty on its next statement; reopened here, so the boot's
    // seconds are not charged to the probe that follows (whose answer has a 2 s bound).
    const loseDatabase = async () => {
      await api.db.close(true);
      await api.db.em.getConnection().execute('select 1');
    };
    return { ...api, database, loseDatabase };
  }
  const own = await createPostgresDatabase(serverUrl);
  const { database } = own;
  const api = await startTestServer({ database }, { env, clock, logger });
  return {
    ...api,
    database,
    loseDatabase: () => own.drop(),
    close: async () => {
      await api.close().catch(() => {});
      await own.dispose();
    },
  };
}

/** A throw-away database on the PostgreSQL server at `serverUrl`: `drop` takes it away, `dispose` too and cleans up. */
export async function createPostgresDatabase(serverUrl: string): Promise<{
  database: Extract<Config['database'], { kind: 'postgresql' }>;
  drop(): Promise<void>;
  dispose(): Promise<void>;
}> {
  const name = `tasks_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = await openDatabase({ kind: 'postgresql', url: serverUrl, poolMax: 2 });
  await admin.em.getConnection().execute(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
  };
  return {
    database: { kind: 'postgresql' as const, url: url.toString(), poolMax: 2 },
    drop,
    async dispose() {
      await drop();
      await admin.close();
    },
  };
}

/**
 * Counts the statements a running service sends through its database connection from now until
 * stop(); with `which`, only those whose SQL it accepts.
 */
export function countStatements(
  server: RunningServer,
  which: (sql: string) => boolean = () => true,
): { readonly count: number; stop(): void } {
  const connection = server.db.em.getConnection();
  const execute = connection.execute.bind(connection);
  let count = 0;
  connection.execute = ((...args: Parameters<typeof execute>) => {
    if (typeof args[0] !== 'string' || which(args[0])) count++;
    return execute(...args);
  }) as typeof connection.execute;
  return {
    get count() {
      return count;
    },
    stop: () => {
      connection.execute = execute;
    },
  };
}
