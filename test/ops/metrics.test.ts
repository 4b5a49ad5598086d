// What Prometheus scrapes after a few calls: requests by operation and status, refusals, the pool,
// the process; on a port of its own, never on the API's.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import {
  createPostgresDatabase,
  json,
  newUserId,
  startServerWithOwnDatabase,
  startTestServer,
  tokenFor,
  usingPostgresServer,
} from '../support/server.ts';
import { startServiceProcess } from '../support/service-process.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus's text format, one sample per line (comments skipped). */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `a sample line: ${line}`);
      const labels: Record<string, string> = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

describe('metrics', () => {
  // A database of its own: the rate-limit counters must be this test's alone.
  let api: Awaited<ReturnType<typeof startServerWithOwnDatabase>>;
  let samples: Sample[];
  const userId = newUserId();
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

  before(async () => {
    api = await startServerWithOwnDatabase({ METRICS_PORT: '0', RATE_LIMIT_PER_USER: '5' });
    const created = await api.raw(`/api/${userId}/tasks`, json({ title: 'counted' }));
    const { id } = (await created.json()) as { id: string };
    await api.raw(`/api/${userId}/tasks/${id}`);
    await api.raw(`/api/${userId}/tasks/${id}`);
    await api.raw(`/api/${userId}/tasks/${uuidv7()}`);
    await api.raw(`/api/${userId}/tasks`);
    await api.raw(`/api/${userId}/tasks`); // the sixth call: over the quota of five
    await api.raw('/no/such/path');
    await api.raw(`/api/${userId}/tasks/${id}/and/more`);
    const scraped = await fetch(`${api.metricsUrl}/metrics`);
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    samples = parse(await scraped.text());
  });
  after(() => api.close());

  test('requests are counted by the operationId they matched and the status answered', () => {
    const counts = find('http_requests_total').map((s) => `${s.labels.operation_id} ${s.labels.status} ${s.value}`);
    assert.deepEqual(counts.sort(), [
      'createTask 201 1',
      'getTask 200 2',
      'getTask 404 1',
      'listTasks 200 1',
      'listTasks 429 1',
      'unknown 404 2',
    ]);
  });

  test('each operation has a latency histogram: every bucket, a count and a sum', () => {
    const labels = { operation_id: 'getTask', status: '200' };
    const buckets = find('http_request_duration_seconds_bucket', labels);
    assert.deepEqual(
      buckets.map((b) => b.labels.le),
      ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'],
    );
    assert.equal(buckets.at(-1)?.value, 2, 'both calls are in the +Inf bucket');
    assert.ok(
      buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1]!.value),
      'buckets are cumulative',
    );
    assert.equal(find('http_request_duration_seconds_count', labels)[0]?.value, 2);
    assert.ok(find('http_request_duration_seconds_sum', labels)[0]!.value > 0);
  });

  test('rate-limit refusals are counted by quota', () => {
    assert.deepEqual(find('rate_limit_refusals_total'), [
      { name: 'rate_limit_refusals_total', labels: { policy: 'per-user' }, value: 1 },
    ]);
  });

  test('the database pool is reported on PostgreSQL (its size, idle, waiting, maximum); PGlite has no pool', () => {
    const pool = [
      'db_pool_connections',
      'db_pool_idle_connections',
      'db_pool_waiting_requests',
      'db_pool_max_connections',
    ];
    const reported = pool.flatMap((name) => find(name));
    if (!usingPostgresServer) {
      assert.deepEqual(reported, []);
      return;
    }
    const [total = NaN, idle = NaN, waiting, max = NaN] = reported.map((s) => s.value);
    assert.equal(max, 2, 'the test database pool (DB_POOL_MAX)');
    assert.ok(total >= 1 && total <= max, `total ${total}`);
    assert.ok(idle <= total, `idle ${idle}`);
    assert.equal(waiting, 0, 'nothing waits while the service is idle');
  });

  test('process and event-loop metrics come along', () => {
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.equal(find(name).length, 1, name);
    }
  });

  test('metrics are not on the public port, and the metrics port serves nothing else', async () => {
    const onApi = await api.raw('/metrics', undefined, { anonymous: true });
    assert.equal(onApi.status, 404);
    assert.equal(onApi.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const elsewhere = await fetch(`${api.metricsUrl}/api/${userId}/tasks`);
    assert.equal(elsewhere.status, 404);
    await elsewhere.arrayBuffer();
  });
});

describe('metrics when METRICS_PORT is unset', () => {
  let api: Awaited<ReturnType<typeof startTestServer>>;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  test('no metrics listener, and /metrics is not on the API', async () => {
    assert.equal(api.metricsUrl, undefined);
    assert.equal((await api.raw('/metrics', undefined, { anonymous: true })).status, 404);
  });
});

describe(
  'metrics of a cluster (WEB_CONCURRENCY=2)',
  {
    skip: usingPostgresServer ? false : 'needs DATABASE_URL: workers cannot share one embedded database',
  },
  () => {
    test("the primary serves every worker's requests in one scrape; the workers listen on no metrics port", async () => {
      const own = await createPostgresDatabase(process.env.DATABASE_URL!);
      const service = await startServiceProcess({
        DATABASE_URL: own.database.url,
        WEB_CONCURRENCY: '2',
        DB_POOL_MAX: '3',
        METRICS_PORT: '0',
        SHUTDOWN_DELAY_SECONDS: '0',
      });
      try {
        assert.ok(service.metricsUrl, 'the primary says where metrics are');
        const userId = newUserId();
        const token = await tokenFor(userId);
        // A connection per request: the cluster hands each new connection to the next worker in turn.
        const statuses = await Promise.all(
          Array.from({ length: 6 }, () => createOnNewConnection(service.url, userId, token)),
        );
        assert.deepEqual(statuses, [201, 201, 201, 201, 201, 201]);
        const samples = parse(await (await fetch(`${service.metricsUrl}/metrics`)).text());
        const created = samples.filter(
          (s) =>
            s.name === 'http_requests_total' && s.labels.operation_id === 'createTask' && s.labels.status === '201',
        );
        assert.deepEqual(
          created.map((s) => s.value),
          [6],
          'both workers counted, summed',
        );
        const workersReporting = samples.find((s) => s.name === 'db_pool_max_connections')?.value;
        assert.equal(workersReporting, 2 * 3, "each worker's pool (DB_POOL_MAX), summed");
      } finally {
        service.child.kill('SIGTERM');
        assert.equal(await service.exited, 0);
        await own.dispose();
      }
    });
  },
);

/** POST a task on a connection of its own (fetch would keep one connection, and so one worker). */
function createOnNewConnection(url: string, userId: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/${userId}/tasks`,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(JSON.stringify({ title: 'counted by whichever worker' }));
  });
}
