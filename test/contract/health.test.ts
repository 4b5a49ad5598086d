import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { migrate } from '../../src/db/migrate.ts';
import { DatabaseAvailability } from '../../src/db/availability.ts';
import { ReadinessCheck } from '../../src/health/readiness.ts';
import { createLogger } from '../../src/logger.ts';
import { manualClock } from '../support/clock.ts';
import {
  countStatements,
  startServerWithOwnDatabase,
  startTestServer,
  usingPostgresServer,
  type TestServer,
} from '../support/server.ts';

/**
 * Holds an exclusive lock on `table` in a transaction of its own until released, so every query
 * touching the table waits: a database that accepts connections but does not answer.
 */
async function holdTable(db: TestServer['db'], table: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = db.em.fork().transactional(async (em) => {
    await em.execute(`lock table "${table}" in access exclusive mode`);
    locked();
    await released;
  });
  await Promise.race([isLocked, holder]);
  return async () => {
    release();
    await holder;
  };
}

describe('health probes', () => {
  let api: TestServer;
  const clock = manualClock();
  before(async () => {
    // A quota of one: a probe that counted against any rate limit would be refused by the second call.
    api = await startTestServer({ rateLimit: { perUser: 1, perIp: 1, windowSeconds: 60 } }, { clock });
  });
  after(() => api.close());

  test('liveness answers 200 {"status": "ok"} to anyone, without a token, never rate-limited, never asking the database', async () => {
    const queries = countStatements(api);
    try {
      for (let i = 0; i < 3; i++) {
        const res = await api.raw('/health/live', undefined, { anonymous: true });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('ratelimit'), null, 'a probe counts against no quota');
        assert.deepEqual(await res.json(), { status: 'ok' });
      }
      assert.equal(queries.count, 0, 'no query, on either database, so an outage cannot fail it');
    } finally {
      queries.stop();
    }
  });

  test('readiness answers 200 {"status": "ok"} while the database answers, to anyone, never rate-limited', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await api.raw('/health/ready', undefined, { anonymous: true });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ratelimit'), null);
      assert.deepEqual(await res.json(), { status: 'ok' });
    }
  });

  test('a flood of readiness probes costs the database one query a second, not one each', async () => {
    const queries = countStatements(api);
    try {
      clock.advance(1000); // past the answer the earlier test left
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => api.raw('/health/ready', undefined, { anonymous: true })),
      );
      assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
      assert.equal(queries.count, 1, '50 probes within a second share one query');
      clock.advance(999);
      assert.equal((await api.raw('/health/ready', undefined, { anonymous: true })).status, 200);
      assert.equal(queries.count, 1, 'the answer is reused until a second has passed');
      clock.advance(1);
      assert.equal((await api.raw('/health/ready', undefined, { anonymous: true })).status, 200);
      assert.equal(queries.count, 2, 'then the database is asked again');
    } finally {
      queries.stop();
    }
  });

  test('a probe with a query parameter it does not take answers 422 naming it', async () => {
    const res = await api.raw('/health/ready?verbose=1', undefined, { anonymous: true });
    assert.equal(res.status, 422);
    const body = (await res.json()) as { errors: { path: string }[] };
    assert.deepEqual(
      body.errors.map((e) => e.path),
      ['/query/verbose'],
    );
  });

  test('a probe with another method answers 405 with Allow: GET', async () => {
    const res = await api.raw('/health/live', { method: 'POST' }, { anonymous: true });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
  });

  test('once the instance starts shutting down, readiness says so without asking the database', async () => {
    const silent = createLogger('silent');
    const readiness = new ReadinessCheck(api.db, new DatabaseAvailability(silent), silent);
    assert.deepEqual(await readiness.check(), { ready: true });
    readiness.shuttingDown();
    assert.deepEqual(await readiness.check(), { ready: false, reason: 'The instance is shutting down.' });
  });
});

describe('health probes when the database is not there for this version', () => {
  test('with migrations left to a release step, readiness answers 503 until they are applied, then 200', async () => {
    const clock = manualClock();
    const api = await startServerWithOwnDatabase({ MIGRATE_ON_START: 'false' }, { clock });
    try {
      // A fresh embedded database's first query can take longer than readiness waits on a loaded machine.
      await api.db.em.getConnection().execute('select 1');
      const res = await api.raw('/health/ready', undefined, { anonymous: true });
      assert.equal(res.status, 503);
      assert.equal(
        ((await res.json()) as { detail: string }).detail,
        'The database schema is not up to date: migrations are pending.',
      );
      assert.equal((await api.raw('/health/live', undefined, { anonymous: true })).status, 200);
      await migrate(api.db); // what `npm run migrate` does
      clock.advance(1000); // the last answer is reused for a second
      assert.equal((await api.raw('/health/ready', undefined, { anonymous: true })).status, 200);
    } finally {
      await api.close();
    }
  });

  test('readiness answers 503 problem+json, while liveness still answers 200 (no restart for an outage)', async () => {
    const clock = manualClock();
    const api = await startServerWithOwnDatabase({}, { clock });
    try {
      assert.equal((await api.raw('/health/ready', undefined, { anonymous: true })).status, 200);
      await api.loseDatabase();
      // PGlite reopens empty on the next query, which can take longer than readiness waits on a
      // loaded machine: reopen it first (on a PostgreSQL server the query fails at once).
      if (!usingPostgresServer) await api.db.em.getConnection().execute('select 1');
      clock.advance(1000); // the last answer is reused for a second
      const res = await api.raw('/health/ready', undefined, { anonymous: true });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual(await res.json(), {
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        // A closed in-memory PGlite reopens empty on the next query: there the schema is what is gone.
        detail: usingPostgresServer
          ? 'The database is not reachable.'
          : 'The database schema is not up to date: migrations are pending.',
        instance: '/health/ready',
        request_id: res.headers.get('x-request-id'),
      });
      const live = await api.raw('/health/live', undefined, { anonymous: true });
      assert.equal(live.status, 200);
    } finally {
      await api.close();
    }
  });

  test('a hung database gets a 503 from readiness after about 2 s, not a hang', { timeout: 30_000 }, async () => {
    const clock = manualClock();
    const api = await startServerWithOwnDatabase({}, { clock });
    try {
      const release = await holdTable(api.db, 'mikro_orm_migrations');
      try {
        clock.advance(1000); // no answer cached from start-up
        const started = performance.now();
        const res = await api.raw('/health/ready', undefined, { anonymous: true });
        const ms = performance.now() - started;
        assert.equal(res.status, 503);
        assert.equal(((await res.json()) as { detail: string }).detail, 'The database is not reachable.');
        assert.ok(ms >= 1900 && ms < 5000, `answered after ${Math.round(ms)} ms`);
      } finally {
        await release();
      }
    } finally {
      await api.close();
    }
  });
});
