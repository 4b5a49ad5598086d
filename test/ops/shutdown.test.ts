// A restart as an orchestrator does it: the real service process, busy with creates, gets SIGTERM.
// It must say "not ready" at once yet keep serving through the delay, then drain, lose no write it
// acknowledged, and exit 0.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { Config } from '../../src/config.ts';
import { openDatabase } from '../../src/db/orm.ts';
import { createPostgresDatabase, newUserId, tokenFor, usingPostgresServer } from '../support/server.ts';
import { startServiceProcess } from '../support/service-process.ts';

const DELAY_SECONDS = 2;
const WORKERS = 4;

interface Attempt {
  /** Milliseconds since SIGTERM (negative: before). */
  startedAt: number;
  status?: number;
  id?: string;
  error?: string;
}

const beforeDrainCount = (attempts: Attempt[]) =>
  attempts.filter((a) => a.startedAt < DELAY_SECONDS * 1000 - 300).length;

/** Where the service's database lives for this test: a directory or database it can read after the exit. */
async function ownDatabase(): Promise<{
  database: Config['database'];
  env: Record<string, string>;
  dispose(): Promise<void>;
}> {
  if (usingPostgresServer) {
    const own = await createPostgresDatabase(process.env.DATABASE_URL!);
    return { database: own.database, env: { DATABASE_URL: own.database.url }, dispose: () => own.dispose() };
  }
  const dir = await mkdtemp(join(tmpdir(), 'tasks-api-shutdown-'));
  const dataDir = join(dir, 'pglite');
  return {
    database: { kind: 'pglite', dataDir },
    env: { PGLITE_DATA_DIR: dataDir },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

test('on SIGTERM under write load: not ready at once, serving through the delay, every acknowledged create kept, exit 0', async (t) => {
  const own = await ownDatabase();
  try {
    const { child, url, logLines, exited } = await startServiceProcess({
      ...own.env,
      SHUTDOWN_DELAY_SECONDS: String(DELAY_SECONDS),
      SHUTDOWN_TIMEOUT_SECONDS: '30',
    });

    let sigtermAt = Number.POSITIVE_INFINITY;
    let done = false;
    void exited.then(() => (done = true));
    const since = () => performance.now() - sigtermAt;
    const userId = newUserId();
    const headers = { authorization: `Bearer ${await tokenFor(userId)}`, 'content-type': 'application/json' };

    const attempts: Attempt[] = [];
    const worker = async (n: number) => {
      for (let i = 0; !done; i++) {
        const attempt: Attempt = { startedAt: since() };
        attempts.push(attempt);
        try {
          const res = await fetch(`${url}/api/${userId}/tasks`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ title: `worker ${n}, create ${i}` }),
          });
          attempt.status = res.status;
          attempt.id = ((await res.json()) as { id?: string }).id;
        } catch (err) {
          attempt.error = String((err as { cause?: { code?: string } }).cause?.code ?? err);
          await sleep(20); // the listener is gone: no need to spin until the process is
        }
      }
    };
    // `at`: when a probe was sent; `answeredAt`: when its answer arrived (relative to SIGTERM).
    const probes: { at: number; answeredAt: number; status: number }[] = [];
    const prober = async () => {
      while (!done && since() < DELAY_SECONDS * 1000 - 300) {
        const at = since();
        const res = await fetch(`${url}/health/ready`).catch(() => undefined);
        if (res) probes.push({ at, answeredAt: since(), status: res.status });
        await res?.arrayBuffer();
        await sleep(100);
      }
    };

    const load = Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
    const probing = prober();
    await sleep(500);
    sigtermAt = performance.now();
    child.kill('SIGTERM');
    const code = await exited;
    await Promise.all([load, probing]);

    const after = attempts.filter((a) => a.startedAt >= DELAY_SECONDS * 1000 - 300);
    t.diagnostic(
      `${attempts.length} creates: ${beforeDrainCount(attempts)} before the drain, ${after.length} after ` +
        `(${after.filter((a) => a.status === 201).length} acknowledged, errors: ${[...new Set(after.map((a) => a.error))].join(', ')})`,
    );
    assert.equal(code, 0, 'a clean shutdown exits 0');
    const beforeDrain = attempts.filter((a) => a.startedAt < DELAY_SECONDS * 1000 - 300);
    const duringDelay = beforeDrain.filter((a) => a.startedAt > 0);
    assert.deepEqual(
      beforeDrain.filter((a) => a.status !== 201).map((a) => a.error ?? a.status),
      [],
      'no create sent before or during the delay is refused or reset',
    );
    assert.ok(duringDelay.length >= WORKERS, `creates kept being served during the delay (${duringDelay.length})`);
    assert.deepEqual(
      attempts.filter((a) => a.status !== undefined && a.status !== 201).map((a) => a.status),
      [],
      'every answer, even while draining, is a 201',
    );
    // Answered before the signal was sent: a probe sent just before it may be served just after.
    assert.deepEqual(new Set(probes.filter((p) => p.answeredAt < 0).map((p) => p.status)), new Set([200]));
    assert.deepEqual(
      new Set(probes.filter((p) => p.at > 100).map((p) => p.status)),
      new Set([503]),
      'readiness answers 503 soon after SIGTERM',
    );
    assert.deepEqual(
      logLines.filter((l) => l.msg.startsWith('shut')).map((l) => l.msg),
      ['shutting down', 'shut down'],
    );

    const acknowledged = attempts.filter((a) => a.status === 201).map((a) => a.id!);
    const db = await openDatabase(own.database);
    try {
      const rows = await db.em
        .getConnection()
        .execute<{ id: string }[]>('select id from task where user_id = ?', [userId]);
      const stored = new Set(rows.map((r) => r.id));
      assert.deepEqual(
        acknowledged.filter((id) => !stored.has(id)),
        [],
        `every acknowledged create (${acknowledged.length}) is in the database`,
      );
    } finally {
      await db.close();
    }
  } finally {
    await own.dispose();
  }
});
