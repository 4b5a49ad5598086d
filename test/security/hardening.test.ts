// The edge: rate limits, body caps, CORS, security headers, injection strings, and what reaches logs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createLogger } from '../../src/logger.ts';
import { RATE_LIMIT_ADD_SQL } from '../../src/db/rate-limit.store.ts';
import { sliceOf } from '../../src/http/rate-limit.ts';
import { manualClock } from '../support/clock.ts';
import {
  countStatements,
  json,
  newUserId,
  startServerWithOwnDatabase,
  startTestServer,
  TEST_SECRET,
  tokenFor,
  usingPostgresServer,
  type TestServer,
} from '../support/server.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);

describe('rate limits', () => {
  const limits = { RATE_LIMIT_PER_USER: '5', RATE_LIMIT_PER_IP: '3', RATE_LIMIT_WINDOW_SECONDS: '60' };
  // A database of its own: quotas are shared state, and other test files send anonymous requests too.
  let api: Awaited<ReturnType<typeof startServerWithOwnDatabase>>;
  // Each test starts 1 s into a fresh 60 s window of its own, so no burst straddles a window boundary.
  const clock = manualClock();
  before(async () => {
    api = await startServerWithOwnDatabase(limits, { clock });
  });
  beforeEach(() => clock.nextWindow());
  after(() => api.close());

  test('a burst past the per-user quota answers 429 with Retry-After and the RateLimit headers; other users are unaffected', async () => {
    const userId = newUserId();
    const remaining: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await api.raw(`/api/${userId}/tasks`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ratelimit-policy'), '"per-user";q=5;w=60');
      remaining.push(/r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1] ?? '');
    }
    assert.deepEqual(remaining, ['4', '3', '2', '1', '0']);

    const refused = await api.raw(`/api/${userId}/tasks`, json({ title: 'one too many' }));
    assert.equal(refused.status, 429);
    // 1 s into the window: 59 s until it ends.
    assert.equal(refused.headers.get('retry-after'), '59');
    assert.equal(refused.headers.get('ratelimit'), '"per-user";r=0;t=59');
    assert.equal(refused.headers.get('ratelimit-policy'), '"per-user";q=5;w=60');
    assert.deepEqual(await refused.json(), {
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      detail: 'Too many requests: 5 per 60 s for each user; retry in 59 s.',
      instance: `/api/${userId}/tasks`,
    });

    assert.equal((await api.raw(`/api/${newUserId()}/tasks`)).status, 200, 'another user has a quota of their own');
    clock.nextWindow();
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    assert.deepEqual(data, [], 'the refused create did not happen');
  });

  test('the quota is whole again when its window ends, and not a millisecond before', async () => {
    const userId = newUserId();
    for (let i = 0; i < 5; i += 1) assert.equal((await api.raw(`/api/${userId}/tasks`)).status, 200);
    clock.advance(58_999);
    const refused = await api.raw(`/api/${userId}/tasks`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    clock.advance(1);
    const admitted = await api.raw(`/api/${userId}/tasks`);
    assert.equal(admitted.status, 200);
    assert.equal(admitted.headers.get('ratelimit'), '"per-user";r=4;t=60');
  });

  test('without a valid token the quota is per client address, so guessing tokens is throttled', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await api.raw(`/api/${newUserId()}/tasks`, {
        headers: { authorization: 'Bearer guessed.token.value' },
      });
      statuses.push(res.status);
      if (res.status === 401) assert.equal(res.headers.get('ratelimit-policy'), '"per-ip";q=3;w=60');
    }
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    assert.equal(
      (await api.raw(`/api/${newUserId()}/tasks`)).status,
      200,
      'a valid token still gets in from the same address',
    );
  });

  test('requests the validator rejects (400, 413, 415, 422) are answered before authentication and count against no quota', async () => {
    const userId = newUserId();
    const rejected: [string, RequestInit, number][] = [
      ['malformed JSON', json('{"title":'), 400],
      ['a body over 16 kB', json({ title: 't', description: 'x'.repeat(20_000) }), 413],
      ['a body that is not JSON', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 't' }, 415],
      ['a body the contract refuses', json({ title: '' }), 422],
    ];
    // Each twice without a token and twice with one: 16 requests, more than either quota (5 and 3).
    for (const anonymous of [true, true, false, false]) {
      for (const [what, init, status] of rejected) {
        const res = await api.raw(`/api/${userId}/tasks`, init, { anonymous });
        assert.equal(res.status, status, `${what}${anonymous ? ', without a token' : ''}`);
        assert.equal(res.headers.get('ratelimit'), null, `${what}: counted against no quota`);
      }
    }
    const admitted = await api.raw(`/api/${userId}/tasks`);
    assert.equal(admitted.headers.get('ratelimit'), '"per-user";r=4;t=59', "the user's quota is whole");
    const guessed = await api.raw(`/api/${userId}/tasks`, { headers: { authorization: 'Bearer guessed.token.value' } });
    assert.equal(guessed.status, 401);
    assert.equal(guessed.headers.get('ratelimit'), '"per-ip";r=2;t=59', "the address's quota is whole");
  });

  test(
    'the quota holds across two instances of the service sharing one database',
    { skip: usingPostgresServer ? false : 'needs DATABASE_URL: two instances cannot share one embedded database' },
    async () => {
      const second = await startTestServer({ database: api.database }, { env: limits, clock });
      try {
        const userId = newUserId();
        const statuses: number[] = [];
        for (let i = 0; i < 6; i += 1) statuses.push((await (i % 2 ? second : api).raw(`/api/${userId}/tasks`)).status);
        assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
      } finally {
        await second.close();
      }
    },
  );
});

describe('rate limits counted in memory, reconciled in batches', () => {
  // A quota of 200 has a slice of 10 (5 %): up to 9 hits a key may sit unsent on an instance, and the
  // 10th waits for the batch that tells it its place in the shared count.
  const limits = { RATE_LIMIT_PER_USER: '200', RATE_LIMIT_PER_IP: '200', RATE_LIMIT_WINDOW_SECONDS: '60' };
  const quota = 200;
  const slice = sliceOf(quota);
  let api: Awaited<ReturnType<typeof startServerWithOwnDatabase>>;
  const clock = manualClock();
  before(async () => {
    api = await startServerWithOwnDatabase(limits, { clock });
  });
  beforeEach(() => clock.nextWindow());
  after(() => api.close());

  const sharedHits = async (server: TestServer, userId: string) => {
    const [row] = await server.db.em
      .getConnection()
      .execute<{ hits: number }[]>('select hits from rate_limit where key = ?', [`per-user:${userId}`]);
    return row?.hits;
  };

  /** The shared count once it reaches `expected` (the last hits arrive on the next 100 ms tick), or after 2 s. */
  const settledHits = async (server: TestServer, userId: string, expected: number) => {
    let hits = await sharedHits(server, userId);
    for (let waited = 0; hits !== expected && waited < 2000; waited += 20) {
      await sleep(20);
      hits = await sharedHits(server, userId);
    }
    return hits;
  };

  test('one instance admits exactly the quota, with exact RateLimit headers, and tells the database in a batch per slice, not per request', async (t) => {
    assert.equal(slice, 10);
    const userId = newUserId();
    const batches = countStatements(api, (sql) => sql === RATE_LIMIT_ADD_SQL);
    const remaining: string[] = [];
    try {
      for (let i = 0; i < quota; i += 1) {
        const res = await api.raw(`/api/${userId}/tasks`);
        assert.equal(res.status, 200);
        remaining.push(/r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1] ?? '');
      }
      const refused = await api.raw(`/api/${userId}/tasks`);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '59');
      assert.equal(refused.headers.get('ratelimit'), '"per-user";r=0;t=59');
      assert.equal(refused.headers.get('ratelimit-policy'), '"per-user";q=200;w=60');
      assert.deepEqual(
        remaining,
        Array.from({ length: quota }, (_, i) => String(quota - 1 - i)),
      );
      // A batch at each slice (20), plus at most one a tick (100 ms) for the hits in between.
      t.diagnostic(`${batches.count} batches for ${quota} requests`);
      assert.ok(batches.count >= quota / slice, `${batches.count} batches`);
      assert.ok(batches.count < quota / 2, `${batches.count} batches for ${quota} requests`);
    } finally {
      batches.stop();
    }
    // The last hits reach the database on the next tick; the refused request was answered from memory.
    assert.equal(await settledHits(api, userId, quota), quota);
  });

  test(
    'two instances sharing one database, hammered at once by one user, admit at least the quota and at most 2 × (slice − 1) more',
    { skip: usingPostgresServer ? false : 'needs DATABASE_URL: two instances cannot share one embedded database' },
    async (t) => {
      const second = await startTestServer({ database: api.database }, { env: limits, clock });
      try {
        const userId = newUserId();
        const headers = { authorization: `Bearer ${await tokenFor(userId)}` };
        const statuses = await Promise.all(
          Array.from({ length: 2 * quota }, async (_, i) => {
            const res = await (i % 2 ? second : api).raw(`/api/${userId}/tasks`, { headers });
            await res.arrayBuffer();
            return res.status;
          }),
        );
        const admitted = statuses.filter((status) => status === 200).length;
        t.diagnostic(`admitted ${admitted} of ${statuses.length} for a quota of ${quota}`);
        assert.equal(admitted + statuses.filter((status) => status === 429).length, statuses.length);
        assert.ok(admitted >= quota, `admitted ${admitted}, fewer than the quota`);
        assert.ok(admitted <= quota + 2 * (slice - 1), `admitted ${admitted}, over the bound`);
      } finally {
        await second.close();
      }
    },
  );

  test(
    'hits counted just before an instance shuts down still reach the shared count',
    { skip: usingPostgresServer ? false : 'needs DATABASE_URL: two instances cannot share one embedded database' },
    async () => {
      const leaving = await startTestServer({ database: api.database }, { env: limits, clock });
      const userId = newUserId();
      try {
        for (let i = 0; i < slice - 1; i += 1) assert.equal((await leaving.raw(`/api/${userId}/tasks`)).status, 200);
      } finally {
        await leaving.close();
      }
      assert.equal(await sharedHits(api, userId), slice - 1);
    },
  );
});

describe('rate limits as configured', () => {
  test('RATE_LIMIT_PER_USER=0 and RATE_LIMIT_PER_IP=0 turn the limits off: no 429, no RateLimit headers', async () => {
    const api = await startTestServer({}, { env: { RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' } });
    try {
      const userId = newUserId();
      for (let i = 0; i < 8; i += 1) {
        const admitted = await api.raw(`/api/${userId}/tasks`);
        assert.equal(admitted.status, 200);
        assert.equal(admitted.headers.get('ratelimit'), null);
        assert.equal(admitted.headers.get('ratelimit-policy'), null);
        const guessed = await api.raw(`/api/${userId}/tasks`, { headers: { authorization: 'Bearer guessed.token' } });
        assert.equal(guessed.status, 401);
        assert.equal(guessed.headers.get('ratelimit'), null);
      }
    } finally {
      await api.close();
    }
  });

  test('TRUST_PROXY keys the per-address quota on X-Forwarded-For only when the proxy is trusted', async () => {
    const statusesFrom = async (trustProxy: string) => {
      const api = await startServerWithOwnDatabase(
        { RATE_LIMIT_PER_IP: '1', TRUST_PROXY: trustProxy },
        { clock: manualClock() },
      );
      try {
        const statuses: number[] = [];
        for (const client of ['203.0.113.7', '203.0.113.7', '198.51.100.9']) {
          const res = await api.raw(
            `/api/${newUserId()}/tasks`,
            { headers: { 'x-forwarded-for': client } },
            { anonymous: true },
          );
          statuses.push(res.status);
        }
        return statuses;
      } finally {
        await api.close();
      }
    };
    // Behind a trusted proxy (here: loopback) each client has a quota of its own…
    assert.deepEqual(await statusesFrom('loopback'), [401, 429, 401]);
    // …otherwise the header is anyone's to write, and every request counts against the proxy's address.
    assert.deepEqual(await statusesFrom('false'), [401, 429, 429]);
  });
});

describe('CORS as configured', () => {
  const preflight = (api: TestServer, origin: string) =>
    api.raw(`/api/${newUserId()}/tasks`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });

  test('CORS_ORIGINS=* answers any origin', async () => {
    const api = await startTestServer({}, { env: { CORS_ORIGINS: '*' } });
    try {
      const res = await preflight(api, 'https://anywhere.example.net');
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
      const get = await api.raw(`/api/${newUserId()}/tasks`, { headers: { origin: 'https://anywhere.example.net' } });
      assert.equal(get.headers.get('access-control-allow-origin'), '*');
    } finally {
      await api.close();
    }
  });

  test('with no origin configured no CORS header is ever sent, and a preflight is a plain 405', async () => {
    const api = await startTestServer({ corsOrigins: [] });
    try {
      const res = await preflight(api, 'https://app.example.com');
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      assert.equal(res.headers.get('access-control-allow-methods'), null);
      const get = await api.raw(`/api/${newUserId()}/tasks`, { headers: { origin: 'https://app.example.com' } });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('access-control-allow-origin'), null);
    } finally {
      await api.close();
    }
  });

  test('a preflight from an origin not in CORS_ORIGINS gets no Access-Control-Allow-Origin: the browser refuses the call', async () => {
    const api = await startTestServer({}, { env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const res = await preflight(api, 'https://evil.example.com');
      assert.equal(res.status, 204);
      // Access-Control-Allow-Origin alone decides; without it the browser sends nothing.
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      assert.equal(res.headers.get('access-control-allow-credentials'), null);
    } finally {
      await api.close();
    }
  });
});

describe('the edge', () => {
  let api: TestServer;
  const lines: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    api = await startTestServer(
      {},
      { env: { CORS_ORIGINS: 'https://app.example.com' }, logger: createLogger('trace', sink) },
    );
  });
  after(() => api.close());

  test('an oversized body answers 413 on create and update, and changes nothing', async () => {
    const userId = newUserId();
    const { data: task } = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: userId } },
      body: { title: 't' },
    });
    assert.ok(task);
    const huge = { title: 't', description: 'x'.repeat(20_000) };
    assert.equal((await api.raw(`/api/${userId}/tasks`, json(huge))).status, 413);
    assert.equal((await api.raw(`/api/${userId}/tasks/${task.id}`, json(huge, 'PUT'))).status, 413);
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    assert.deepEqual(data, [task]);
  });

  test('SQL and script injection strings in every field are stored verbatim and returned as JSON', async () => {
    const userId = newUserId();
    const nasty = [
      "'; DROP TABLE task; --",
      '" OR 1=1 --',
      "Robert'); DELETE FROM task WHERE ('1'='1",
      '<script>alert(document.cookie)</script>',
      '<img src=x onerror=alert(1)>',
      '{{7*7}} ${7*7} #{7*7}',
      '${jndi:ldap://127.0.0.1/a}',
      '../../../../etc/passwd',
      '\u202Eevil\u202C 🦄 e\u0301 \uFEFF',
    ];
    for (const text of nasty) {
      const created = await api.raw(`/api/${userId}/tasks`, json({ title: text, description: text }));
      assert.equal(created.status, 201, text);
      assert.match(created.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(created.headers.get('x-content-type-options'), 'nosniff');
      const task = (await created.json()) as { id: string; title: string; description: string };
      assert.equal(task.title, text.trim());
      assert.equal(task.description, text);
      const updated = (await (
        await api.raw(`/api/${userId}/tasks/${task.id}`, json({ title: `x${text}` }, 'PUT'))
      ).json()) as { title: string };
      assert.equal(updated.title, `x${text}`.trim());
    }
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    assert.equal(data?.length, nasty.length, 'every task is there: no statement was cut short');
    for (const path of [
      `/api/${userId}/tasks?completed=true'--`,
      `/api/${userId}/tasks?limit=1;drop`,
      `/api/x'%20OR%20'1'='1/tasks`,
    ]) {
      assert.equal((await api.raw(path, undefined, { anonymous: true })).status, 422, path);
    }
  });

  test("API responses carry the headers an API needs (no caching, sniffing or framing); the documents carry a browser page's full set", async () => {
    const apiSet = {
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    };
    // What only a rendered document needs (helmet's set) never rides on JSON.
    const documentOnly = [
      'cross-origin-opener-policy',
      'origin-agent-cluster',
      'x-dns-prefetch-control',
      'x-xss-protection',
    ];
    const userId = newUserId();
    const created = await api.raw(`/api/${userId}/tasks`, json({ title: 'headers' }));
    for (const res of [
      created,
      await api.raw(`/api/${userId}/tasks`),
      await api.raw(`/api/${userId}/tasks/00000000-0000-4000-8000-000000000000`),
      await api.raw(`/api/${userId}/tasks`, undefined, { anonymous: true }),
      await api.raw('/health/live'),
    ]) {
      const where = `${res.status} ${res.url}`;
      assert.deepEqual(
        Object.fromEntries(Object.keys(apiSet).map((name) => [name, res.headers.get(name)])),
        apiSet,
        where,
      );
      assert.deepEqual(
        documentOnly.filter((name) => res.headers.has(name)),
        [],
        where,
      );
      assert.equal(res.headers.get('x-powered-by'), null, where);
    }
    for (const path of ['/docs/', '/openapi.json', '/openapi.yaml']) {
      const res = await api.raw(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-security-policy') ?? '', /^default-src 'self';/, path);
      assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', path);
      assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', path);
      assert.equal(res.headers.get('x-powered-by'), null, path);
    }
  });

  test('a CORS preflight from an allowed origin is answered, with the validator in place', async () => {
    const res = await api.raw(`/api/${newUserId()}/tasks`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.equal(
      res.headers.get('access-control-allow-headers'),
      'Authorization,Content-Type,Idempotency-Key,If-Match,If-None-Match,X-Request-Id',
    );
  });

  test('a CORS request from an allowed origin can read ETag, Location, Link and the rate-limit headers; other origins get nothing', async () => {
    const userId = newUserId();
    const allowed = await api.raw(`/api/${userId}/tasks`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(
      allowed.headers.get('access-control-expose-headers'),
      'ETag,Idempotent-Replayed,Location,Link,RateLimit,RateLimit-Policy,Retry-After,WWW-Authenticate,X-Request-Id',
    );
    const other = await api.raw(`/api/${userId}/tasks`, { headers: { origin: 'https://evil.example.com' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('tokens and secrets never reach the logs or an error body', async () => {
    const userId = newUserId();
    const token = await tokenFor(userId);
    await api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${token}` } });
    const bad = await api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${token}x` } });
    assert.equal(bad.status, 401);
    assert.ok(!(await bad.text()).includes(token));
    // Both requests were logged (so the log below is one that saw the tokens go by).
    const requestLines = lines
      .map((line) => JSON.parse(line) as { msg: string; req?: { url: string }; res?: { statusCode: number } })
      .filter((entry) => entry.msg === 'request completed' && entry.req?.url === `/api/${userId}/tasks`)
      .map(({ req, res }) => ({ url: req?.url, status: res?.statusCode }));
    assert.deepEqual(requestLines, [
      { url: `/api/${userId}/tasks`, status: 200 },
      { url: `/api/${userId}/tasks`, status: 401 },
    ]);
    const log = lines.join('');
    assert.ok(!log.includes(token.split('.')[2]!), 'no token signature in the logs');
    assert.ok(!log.includes(TEST_SECRET), 'no secret in the logs');
  });
});

describe('trying it locally', () => {
  test('with no secret configured the service makes a development secret beside its data, and `npm run token` signs with it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasks-api-dev-'));
    const dataDir = join(dir, 'pglite');
    try {
      const api = await startTestServer(
        { database: { kind: 'pglite', dataDir } },
        { env: { BETTER_AUTH_SECRET: '', DATABASE_URL: '' } },
      );
      try {
        const secretFile = join(dir, 'dev-secret');
        assert.equal((await stat(secretFile)).mode & 0o777, 0o600, 'readable by its owner only');
        assert.ok((await readFile(secretFile, 'utf8')).trim().length >= 32);
        const userId = newUserId();
        assert.equal(
          (await api.raw(`/api/${userId}/tasks`, undefined, { anonymous: true })).status,
          401,
          'tokens are still required',
        );
        const { stdout } = await run(process.execPath, ['--experimental-strip-types', 'scripts/token.ts', userId], {
          cwd: root,
          env: { ...process.env, DATABASE_URL: '', BETTER_AUTH_SECRET: '', PGLITE_DATA_DIR: dataDir },
        });
        const res = await api.raw(`/api/${userId}/tasks`, { headers: { authorization: `Bearer ${stdout.trim()}` } });
        assert.equal(res.status, 200);
      } finally {
        await api.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('with DATABASE_URL set and neither a secret nor a JWKS URL, the service refuses to start and says why', async () => {
    const result = await run(process.execPath, ['--experimental-strip-types', 'src/server.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres',
        BETTER_AUTH_SECRET: '',
        JWKS_URL: '',
        PORT: '0',
      },
      // A regression that starts the server instead of refusing must fail the test, not hang CI.
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'Configuration error (1 problem):\n' +
        '  BETTER_AUTH_SECRET or JWKS_URL: expected a way to verify tokens (an HS256 shared secret, or a public key ' +
        'set URL) when DATABASE_URL is set; the development secret is only for the embedded database in development; ' +
        'got nothing (unset)\n',
    );
  });
});
