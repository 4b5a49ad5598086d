// Incremental sync with deletions: a client lists what changed since its last sync, and with
// include_deleted=true also a tombstone for each task deleted since, in the same oldest-first order
// and through the same cursor. Deleted tasks stay not found everywhere else; a sync from before the
// tombstone retention is refused with a 410 so the client resyncs in full.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { passInstant } from '../support/clock.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

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
