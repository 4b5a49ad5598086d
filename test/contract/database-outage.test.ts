// A PostgreSQL server that goes away and comes back, or drops connections, under a running service.
// The test takes a database of its own away (connections denied, backends terminated), so only a
// real server can play it; on the embedded database nothing here changes.
//
// Directly (DATABASE_URL names the server) or through a pooler: then DATABASE_URL names the pooler
// (CI: PgBouncer in transaction mode, .ci/pgbouncer.sh) and DATABASE_ADMIN_URL the PostgreSQL server
// behind it, for the connection that takes the database away and terminates its backends: the
// outage is the server's, and the hand that causes it must not ride the pooler under test. Unset, it
// is DATABASE_URL, and the test expects the direct behaviour. Through PgBouncer the service
// sees the pooler's errors instead of the server's (src/db/availability.ts lists them), and two
// expectations differ, both bounded by the pooler's settings, which .ci/pgbouncer.sh sets:
// - a call waits for a server connection up to query_wait_timeout (3 s) before its 503, not for
//   the service's own connection timeout (5 s);
// - once the database accepts connections again, PgBouncer tries it only server_login_retry (1 s)
//   after its last failed login, so readiness may answer 503 for that long.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../src/logger.ts';
import { operations } from '../support/contract.ts';
import {
  json,
  newUserId,
  startServerWithOwnDatabase,
  startTestServer,
  usingPostgresServer,
  type TestServer,
} from '../support/server.ts';

const adminUrl = process.env.DATABASE_ADMIN_URL ?? process.env.DATABASE_URL;
const throughPooler = adminUrl !== process.env.DATABASE_URL;
/** How long a call may take to answer 503: the connection timeout directly, query_wait_timeout through PgBouncer, plus a margin. */
const UNAVAILABLE_WITHIN_MS = throughPooler ? 3000 + 1000 : 6000;
/** How long after the database accepts connections again readiness may still answer 503: its answer is reused for 1.1 s, plus PgBouncer's server_login_retry and a margin. */
const READY_AGAIN_WITHIN_MS = throughPooler ? 1000 + 1100 + 1000 : 1100;

const UNAVAILABLE = {
  type: 'about:blank',
  title: 'Service Unavailable',
  status: 503,
  detail: 'The database is unavailable for the moment; retry in a few seconds.',
};

/** Every task operation on one task, in an order that leaves each one something to act on. */
function everyTaskOperation(userId: string, taskId: string): { name: string; path: string; init: RequestInit }[] {
  const task = `/api/${userId}/tasks/${taskId}`;
  return [
    { name: 'createTask', path: `/api/${userId}/tasks`, init: json({ title: 'Buy milk' }) },
    { name: 'listTasks', path: `/api/${userId}/tasks`, init: {} },
    { name: 'getTaskSummary', path: `/api/${userId}/tasks/summary`, init: {} },
    { name: 'getTask', path: task, init: {} },
    { name: 'updateTask', path: task, init: json({ title: 'Buy oat milk' }, 'PUT') },
    { name: 'toggleTaskCompletion', path: `${task}/complete`, init: { method: 'PATCH' } },
    { name: 'deleteTask', path: task, init: { method: 'DELETE' } },
  ];
}

test('the outage tests cover every task operation in the spec', () => {
  assert.deepEqual(
    everyTaskOperation('alice', '0193a5c4-7d2e-7b11-9f3c-2a4b6c8d0e1f')
      .map((call) => call.name)
      .sort(),
    operations
      .filter((op) => op.secured)
      .map((op) => op.operationId)
      .sort(),
  );
});

describe(
  'a database outage',
  { skip: usingPostgresServer ? false : 'needs a PostgreSQL server (DATABASE_URL) whose database it can take away' },
  () => {
    let api: Awaited<ReturnType<typeof startServerWithOwnDatabase>>;
    // The same service with its rate limits off: there a task's own statement is the first to meet the database.
    let unlimited: TestServer;
    let admin: pg.Client;
    let name: string;
    const logLines: { msg: string; cause?: string; downSeconds?: number }[] = [];
    const logged = (prefix: string) => logLines.filter((line) => line.msg.startsWith(prefix));

    before(async () => {
      const sink = new Writable({
        write(chunk, _encoding, done) {
          logLines.push(JSON.parse(String(chunk)) as (typeof logLines)[number]);
          done();
        },
      });
      api = await startServerWithOwnDatabase({}, { logger: createLogger('info', sink) });
      assert.ok(api.database.kind === 'postgresql');
      name = new URL(api.database.url).pathname.slice(1);
      unlimited = await startTestServer(
        { database: api.database },
        { env: { RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' } },
      );
      admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
    });

    // A test that failed while the database was away must not leave it away for the next.
    afterEach(() => admin.query(`alter database "${name}" allow_connections true`));

    after(async () => {
      await unlimited.close();
      await api.close();
      await admin.end();
    });

    /** What a server restart, a failover or Neon suspending its compute does to open connections. */
    const terminateConnections = () =>
      admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);

    async function createTask(server: TestServer, userId: string): Promise<string> {
      const res = await server.raw(`/api/${userId}/tasks`, json({ title: 'Buy milk' }));
      assert.equal(res.status, 201, await res.clone().text());
      return ((await res.json()) as { id: string }).id;
    }

    test('connections the server drops while idle never reach a client: the next call of every operation succeeds', async () => {
      const userId = newUserId();
      const taskId = await createTask(api, userId);
      for (const { name: operation, path, init } of everyTaskOperation(userId, taskId)) {
        // Both pooled connections open and idle, then killed just before the call.
        await Promise.all([api.raw(`/api/${userId}/tasks`), api.raw(`/api/${userId}/tasks`)]);
        await terminateConnections();
        const res = await api.raw(path, init);
        assert.equal(
          res.status,
          operation === 'createTask' ? 201 : 200,
          `${operation} after its connections dropped: ${await res.text()}`,
        );
      }
      // With rate limits off, each operation's own statement is the first to meet the dead connection.
      // A read runs again on any dropped connection; a write once it has looked for its own stamp and
      // not found it (StatementOptions in src/db/availability.ts; test/contract/dropped-writes.test.ts
      // breaks a connection after a commit). Through PgBouncer the pooler mostly notices the killed
      // connection first and opens another; a statement that gets there before it meets the server's
      // 57P01, passed on.
      const otherTask = await createTask(unlimited, userId);
      for (const { name: operation, path, init } of everyTaskOperation(userId, otherTask)) {
        await Promise.all([unlimited.raw(`/api/${userId}/tasks`), unlimited.raw(`/api/${userId}/tasks`)]);
        await terminateConnections();
        const res = await unlimited.raw(path, init);
        assert.equal(
          res.status,
          operation === 'createTask' ? 201 : 200,
          `${operation} without rate limits: ${await res.text()}`,
        );
      }
      assert.deepEqual(logged('database: unavailable'), [], 'a dropped connection is not an outage');
    });

    test('every task operation answers 503 with Retry-After within seconds while the database refuses connections, and 2xx again once it accepts them, without a restart; each change is logged once', async () => {
      const userId = newUserId();
      const taskId = await createTask(api, userId);

      await admin.query(`alter database "${name}" allow_connections false`);
      await terminateConnections();
      const calls = [
        ...everyTaskOperation(userId, taskId).map((call) => ({ ...call, server: api, anonymous: false })),
        // Counted in memory: nothing touches the database before the missing token is judged (401).
        { name: 'listTasks without a token', path: `/api/${userId}/tasks`, init: {}, server: api, anonymous: true },
        ...everyTaskOperation(userId, taskId).map((call) => ({ ...call, server: unlimited, anonymous: false })),
      ];
      for (const { name: operation, path, init, server, anonymous } of calls) {
        const started = performance.now();
        const res = await server.raw(path, init, { anonymous });
        const ms = performance.now() - started;
        if (anonymous) {
          assert.equal(res.status, 401, operation);
          continue;
        }
        assert.equal(res.status, 503, operation);
        assert.ok(
          ms < UNAVAILABLE_WITHIN_MS,
          `${operation} answered in ${Math.round(ms)} ms, within ${throughPooler ? "the pooler's query_wait_timeout" : 'the connection timeout'}`,
        );
        assert.equal(res.headers.get('retry-after'), '5');
        assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.deepEqual(await res.json(), {
          ...UNAVAILABLE,
          instance: path,
          request_id: res.headers.get('x-request-id'),
        });
      }
      // Readiness says so too, so load balancers stop sending traffic.
      const probe = await api.raw('/health/ready', undefined, { anonymous: true });
      assert.equal(probe.status, 503);
      assert.deepEqual(await probe.json(), {
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'The database is not reachable.',
        instance: '/health/ready',
        request_id: probe.headers.get('x-request-id'),
      });
      const outage = logged('database: unavailable');
      assert.equal(outage.length, 1, 'the outage is logged once, not once per request or probe');
      assert.deepEqual(logged('readiness:'), []);
      assert.match(
        outage[0]!.cause!,
        throughPooler
          ? // The server's own 57P01 forwarded, or PgBouncer's words for a server it cannot have.
            /^(57P01: terminating connection due to administrator command|08P01: (query_wait_timeout|server login has been failing, try again later \(server_login_retry\)|server conn crashed\?))$/
          : // Refused, terminated with a word, or (a backend terminated as it starts or while idle) without one.
            new RegExp(
              `^(55000: database "${name}" is not currently accepting connections|57P01: terminating connection due to administrator command|Connection terminated unexpectedly)$`,
            ),
      );

      await admin.query(`alter database "${name}" allow_connections true`);
      const back = performance.now();
      await sleep(1100); // readiness reuses its last answer for a second
      let ready = (await api.raw('/health/ready', undefined, { anonymous: true })).status;
      while (ready !== 200 && performance.now() - back < READY_AGAIN_WITHIN_MS) {
        await sleep(100);
        ready = (await api.raw('/health/ready', undefined, { anonymous: true })).status;
      }
      assert.equal(ready, 200, `ready again within ${READY_AGAIN_WITHIN_MS} ms of the database accepting connections`);
      assert.equal(
        logged('database: reachable again').length,
        1,
        'the recovery is noticed before any traffic (by a probe, or by the rate limiter sending the hits counted meanwhile)',
      );
      for (const { name: operation, path, init } of everyTaskOperation(userId, taskId)) {
        const res = await api.raw(path, init);
        assert.equal(res.status, operation === 'createTask' ? 201 : 200, `${operation} once the database is back`);
      }
      const recovery = logged('database: reachable again');
      assert.equal(recovery.length, 1, 'the recovery is logged once');
      assert.equal(typeof recovery[0]!.downSeconds, 'number');
      assert.equal(logged('database: unavailable').length, 1);
    });

    test('while the database is away each instance still enforces the rate limit from its own counts, and the shared count catches up once it is back', async () => {
      // A quota of 3 has a slice of 1: with the database up, every request learns its place from it.
      // A day's window: through a pooler the four calls take seconds, and a minute's could end among them.
      const limited = await startTestServer(
        { database: api.database },
        { env: { RATE_LIMIT_PER_USER: '3', RATE_LIMIT_WINDOW_SECONDS: '86400' } },
      );
      try {
        const userId = newUserId();
        await admin.query(`alter database "${name}" allow_connections false`);
        await terminateConnections();
        const answers: string[] = [];
        for (let i = 0; i < 4; i += 1) {
          const res = await limited.raw(`/api/${userId}/tasks`);
          answers.push(`${res.status} ${res.headers.get('ratelimit')?.replace(/;t=\d+/, '')}`);
        }
        assert.deepEqual(answers, [
          '503 "per-user";r=2', // admitted by the instance's own count; the task statement meets the outage
          '503 "per-user";r=1',
          '503 "per-user";r=0',
          '429 "per-user";r=0', // refused from memory, never a 503 for the count
        ]);
        await admin.query(`alter database "${name}" allow_connections true`);
        let shared: number | string | undefined;
        for (let waited = 0; shared !== 3 && waited < 3000; waited += 50) {
          await sleep(50); // the next 100 ms tick sends the hits counted during the outage
          // Through PgBouncer this look may itself be refused until the pooler's next login (server_login_retry).
          shared = await limited.db.em
            .getConnection()
            .execute<{ hits: number }[]>('select hits from rate_limit where key = ?', [`per-user:${userId}`])
            .then(
              ([row]) => row?.hits,
              (err: Error) => `${err.message}`,
            );
        }
        assert.equal(shared, 3);
      } finally {
        await admin.query(`alter database "${name}" allow_connections true`);
        await limited.close();
      }
    });
  },
);
