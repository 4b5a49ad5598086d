// Incremental sync with deletions: a client lists what changed since its last sync, and with
// include_deleted=true also a tombstone for each task deleted since, in the same oldest-first order
// and through the same cursor. Deleted tasks stay not found everywhere else; a sync from before the
// tombstone retention is refused with a 410 so the client resyncs in full; tombstones past the
// retention are purged, a bounded batch at a time, by deletes at most once a minute.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { components } from '../../generated/schema.d.ts';
import { DatabaseAvailability, type StatementOptions } from '../../src/db/availability.ts';
import { TaskRepository } from '../../src/tasks/task.repository.ts';
import { manualClock, passInstant } from '../support/clock.ts';
import { json, newUserId, startServerWithOwnDatabase, startTestServer, type TestServer } from '../support/server.ts';

type Task = components['schemas']['Task'];
type TaskTombstone = components['schemas']['TaskTombstone'];
type Item = Task | TaskTombstone;

const DAY_MS = 86_400_000;
const nextLink = (response: Response) => /<([^>]+)>; rel="next"/.exec(response.headers.get('link') ?? '')?.[1];

describe('incremental sync with tombstones (include_deleted)', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  /** Each change at an instant of its own, so the oldest-first order is the story's order. */
  async function create(userId: string, title: string): Promise<Task> {
    const task = await api.createTask(userId, { title });
    await passInstant(task.updated_at);
    return task;
  }

  async function rename(task: Task, title: string): Promise<Task> {
    const response = await api.raw(`/api/${task.user_id}/tasks/${task.id}`, json({ title }, 'PUT'));
    assert.equal(response.status, 200);
    const renamed = (await response.json()) as Task;
    await passInstant(renamed.updated_at);
    return renamed;
  }

  /** Deletes the task and answers the instant range its tombstone must fall in. */
  async function remove(task: Task): Promise<{ from: number; to: number }> {
    const from = Date.now();
    const response = await api.raw(`/api/${task.user_id}/tasks/${task.id}`, { method: 'DELETE' });
    assert.equal(response.status, 200);
    const to = Date.now();
    await passInstant(new Date(to).toISOString());
    return { from, to };
  }

  async function changes(userId: string, since: string, more = ''): Promise<Item[]> {
    const response = await api.raw(`/api/${userId}/tasks?updated_since=${since}&include_deleted=true${more}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Item[];
  }

  /** The tombstone the list holds for `task`, checked to be stamped during its deletion. */
  function tombstoneOf(items: Item[], task: Task, during: { from: number; to: number }): TaskTombstone {
    const found = items.find((item) => item.id === task.id && 'deleted' in item) as TaskTombstone | undefined;
    assert.ok(found, `no tombstone for ${task.title}`);
    const at = Date.parse(found.deleted_at);
    assert.ok(at >= during.from && at <= during.to + 1, `${found.deleted_at} not stamped by the delete`);
    return { id: task.id, deleted_at: found.deleted_at, deleted: true };
  }

  test('a sync round: the baseline, then exactly the change and the deletion since; the deleted task is gone everywhere else', async () => {
    const userId = newUserId('sync');
    const start = new Date(Date.now() - 1000).toISOString();
    const milk = await create(userId, 'Buy milk');
    const report = await create(userId, 'Write the report');
    const plants = await create(userId, 'Water the plants');

    const baseline = await changes(userId, start);
    assert.deepEqual(baseline, [milk, report, plants]);
    const lastSync = plants.updated_at;

    const oatMilk = await rename(milk, 'Buy oat milk');
    const deletion = await remove(report);

    const since = await changes(userId, lastSync);
    assert.deepEqual(since, [oatMilk, tombstoneOf(since, report, deletion)]);
    // Without include_deleted the same sync sees the change only, as before tombstones existed.
    const plain = await api.raw(`/api/${userId}/tasks?updated_since=${lastSync}`);
    assert.deepEqual(await plain.json(), [oatMilk]);
    // Synced up to the tombstone: nothing more.
    assert.deepEqual(await changes(userId, (since[1] as TaskTombstone).deleted_at), []);

    const path = `/api/${userId}/tasks/${report.id}`;
    for (const init of [undefined, json({ title: 'back?' }, 'PUT'), { method: 'DELETE' }]) {
      assert.equal((await api.raw(path, init)).status, 404, init?.method ?? 'GET');
    }
    assert.deepEqual(await (await api.raw(`/api/${userId}/tasks`)).json(), [plants, oatMilk]);
    // Another user's sync holds none of this user's tombstones.
    assert.deepEqual(await changes(newUserId('other'), start), []);
  });

  test('a cursor walk over changes and tombstones pages through each exactly once, in order', async () => {
    const userId = newUserId('walk');
    const start = new Date(Date.now() - 1000).toISOString();
    const [a, b, c, d, e] = [
      await create(userId, 'a'),
      await create(userId, 'b'),
      await create(userId, 'c'),
      await create(userId, 'd'),
      await create(userId, 'e'),
    ] as [Task, Task, Task, Task, Task];
    const bGone = await remove(b);
    const c2 = await rename(c, 'c2');
    const dGone = await remove(d);

    const all = await changes(userId, start);
    const expected = [a, e, tombstoneOf(all, b, bGone), c2, tombstoneOf(all, d, dGone)];
    assert.deepEqual(all, expected);
    for (const limit of [1, 2, 3]) {
      const pages: Item[][] = [];
      let response = await api.raw(`/api/${userId}/tasks?updated_since=${start}&include_deleted=true&limit=${limit}`);
      for (;;) {
        assert.equal(response.status, 200);
        assert.ok(pages.length <= expected.length, `limit=${limit}: more pages than items`);
        pages.push((await response.json()) as Item[]);
        const next = nextLink(response);
        if (!next) break;
        response = await api.raw(next);
      }
      assert.deepEqual(pages.flat(), expected, `limit=${limit}`);
      assert.equal(pages.length, Math.ceil(expected.length / limit), `limit=${limit}`);
    }
  });

  test('include_deleted=true without updated_since is a 422 naming include_deleted; false changes nothing', async () => {
    const userId = newUserId('bare');
    const task = await create(userId, 'Buy milk');
    const refused = await api.raw(`/api/${userId}/tasks?include_deleted=true`);
    assert.equal(refused.status, 422);
    assert.deepEqual(
      ((await refused.json()) as { errors: { path: string }[] }).errors.map((e) => e.path),
      ['/query/include_deleted'],
    );
    assert.deepEqual(await (await api.raw(`/api/${userId}/tasks?include_deleted=false`)).json(), [task]);
  });

  test('deletions asked for since before the retention are a 410: resync in full', async () => {
    const short = await startTestServer({}, { env: { TOMBSTONE_RETENTION_DAYS: '1' } });
    try {
      const userId = newUserId('stale');
      const path = `/api/${userId}/tasks`;
      const tooOld = new Date(Date.now() - DAY_MS - 60_000).toISOString();
      const sentAt = Date.now();
      const gone = await short.raw(`${path}?updated_since=${tooOld}&include_deleted=true`);
      assert.equal(gone.status, 410);
      assert.equal(gone.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const problem = (await gone.json()) as { detail: string };
      const horizon = /^Deletions before (\S+) are no longer kept/.exec(problem.detail)?.[1] ?? '';
      assert.ok(Math.abs(Date.parse(horizon) - (sentAt - DAY_MS)) < 10_000, problem.detail);
      assert.deepEqual(problem, {
        type: 'about:blank',
        title: 'Gone',
        status: 410,
        detail: `Deletions before ${horizon} are no longer kept (1 day); resync from a full list without updated_since.`,
        instance: path,
      });
      // Within the retention, or without asking for deletions, the same instant lists as usual.
      const recent = new Date(Date.now() - DAY_MS + 60_000).toISOString();
      assert.equal((await short.raw(`${path}?updated_since=${recent}&include_deleted=true`)).status, 200);
      assert.equal((await short.raw(`${path}?updated_since=${tooOld}`)).status, 200);
    } finally {
      await short.close();
    }
  });
});

describe('the tombstone purge (TOMBSTONE_RETENTION_DAYS, 30 by default)', () => {
  // A database of its own: the purge works across users, so no other test's tombstones may count.
  let api: Awaited<ReturnType<typeof startServerWithOwnDatabase>>;
  before(async () => {
    api = await startServerWithOwnDatabase();
  });
  after(() => api.close());

  const sql = (text: string, params: unknown[] = []) =>
    api.db.em.getConnection().execute<Record<string, unknown>[]>(text, params);

  /** Arranges a tombstone deleted `days` ago by the database's clock (the one the purge reads). */
  async function tombstoneAged(userId: string, days: number): Promise<string> {
    const id = randomUUID();
    await sql(`insert into task_tombstone (id, user_id, deleted_at) values (?, ?, now() - make_interval(secs => ?))`, [
      id,
      userId,
      days * 86_400,
    ]);
    return id;
  }

  /** The user's tombstones as stored, oldest first. */
  async function storedTombstones(userId: string): Promise<TaskTombstone[]> {
    const rows = await sql('select id, deleted_at from task_tombstone where user_id = ? order by deleted_at, id', [
      userId,
    ]);
    return rows.map((row) => ({
      id: row.id as string,
      deleted_at: new Date(row.deleted_at as string | Date).toISOString(),
      deleted: true,
    }));
  }

  test('a purge removes tombstones past the retention, at most a batch at a time, and keeps the newer ones', async () => {
    const userId = newUserId('purge');
    const hour = 1 / 24;
    const expired = [
      await tombstoneAged(userId, 45),
      await tombstoneAged(userId, 31),
      await tombstoneAged(userId, 30 + hour),
    ];
    const withinRetention = [await tombstoneAged(userId, 30 - hour), await tombstoneAged(userId, 29)];
    const keptTombstones = (await storedTombstones(userId)).filter((t) => withinRetention.includes(t.id));
    assert.equal(keptTombstones.length, 2);
    const repository = new TaskRepository(api.db.em, new DatabaseAvailability(pino({ level: 'silent' })));

    // Three past the retention, a batch of two: two go, whichever the database finds first.
    await repository.purgeTombstones(2);
    const afterOne = await storedTombstones(userId);
    const expiredLeft = afterOne.filter((t) => expired.includes(t.id));
    assert.equal(expiredLeft.length, 1, 'a batch of 2 removes exactly 2 of the 3 expired tombstones');
    assert.deepEqual(afterOne, [...expiredLeft, ...keptTombstones]);

    await repository.purgeTombstones(2);
    assert.deepEqual(await storedTombstones(userId), keptTombstones);
    // Nothing left to purge: the tombstones within the retention stay through any number of purges.
    await repository.purgeTombstones();
    assert.deepEqual(await storedTombstones(userId), keptTombstones);

    // And a sync from within the retention still lists them, oldest first.
    const since = new Date(Date.now() - 30 * DAY_MS + 60_000).toISOString();
    const response = await api.raw(`/api/${userId}/tasks?updated_since=${since}&include_deleted=true`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), keptTombstones);
  });

  test('deletes purge at most once a minute: the next delete within the minute leaves an expired tombstone be', async () => {
    const userId = newUserId('interval');
    const clock = manualClock();
    const availability = new SettlingAvailability();
    const repository = new TaskRepository(api.db.em, availability, { clock });
    const deleted: string[] = [];
    /** Deletes a task through the repository, and waits for what the delete started (a purge) too. */
    async function deleteOne(): Promise<void> {
      const task = await api.createTask(userId, { title: `task ${deleted.length + 1}` });
      assert.equal(await repository.deleteTask(userId, task.id), true);
      deleted.push(task.id);
      await availability.settled();
    }
    const ids = async () => (await storedTombstones(userId)).map((t) => t.id).sort();
    const expect = (...expired: string[]) => [...deleted, ...expired].sort();

    await tombstoneAged(userId, 31);
    await deleteOne(); // the instance's first delete purges
    assert.deepEqual(await ids(), expect());

    const second = await tombstoneAged(userId, 31);
    clock.advance(59_999);
    await deleteOne();
    assert.deepEqual(await ids(), expect(second), 'a delete within the minute purged again');
    // A delete that finds no task writes no tombstone, and purges nothing either.
    clock.advance(1);
    assert.equal(await repository.deleteTask(userId, randomUUID()), false);
    await availability.settled();
    assert.deepEqual(await ids(), expect(second));

    await deleteOne(); // a minute after the first purge
    assert.deepEqual(await ids(), expect());
  });
});

/**
 * The real DatabaseAvailability, which also lets a test wait until every statement sent through it
 * has been answered: a delete starts its purge without waiting for it.
 */
class SettlingAvailability extends DatabaseAvailability {
  readonly #running = new Set<Promise<unknown>>();
  constructor() {
    super(pino({ level: 'silent' }));
  }
  override run<T>(statement: () => Promise<T>, options: StatementOptions<T>): Promise<T> {
    const running = super.run(statement, options);
    const forget = () => {
      this.#running.delete(settled);
    };
    const settled: Promise<void> = running.then(forget, forget);
    this.#running.add(settled);
    return running;
  }
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }
}
