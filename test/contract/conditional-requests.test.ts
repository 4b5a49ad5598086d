// Lost-update protection: every task has a version, sent as a strong ETag; If-Match makes a write
// conditional (412 and nothing changes when the task moved on), If-None-Match makes a read cheap
// (304). Without either header everything behaves as before (the other contract tests).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

type Task = components['schemas']['Task'];

const CHANGED = {
  type: 'about:blank',
  title: 'Precondition Failed',
  status: 412,
  detail: 'The task has changed since the ETag sent in If-Match; nothing was changed.',
};

describe('ETags, If-Match and If-None-Match', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  const taskPath = (task: Task) => `/api/${task.user_id}/tasks/${task.id}`;
  const withHeaders = (init: RequestInit, headers: Record<string, string>): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), ...headers },
  });

  async function current(task: Task): Promise<{ etag: string | null; body: Task }> {
    const res = await api.raw(taskPath(task));
    assert.equal(res.status, 200);
    return { etag: res.headers.get('etag'), body: (await res.json()) as Task };
  }

  async function expectChanged(res: Response, currentVersion: number): Promise<void> {
    assert.equal(res.status, 412);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(res.headers.get('etag'), `"${currentVersion}"`, 'the 412 names the current ETag');
    assert.deepEqual(await res.json(), { ...CHANGED, instance: new URL(res.url).pathname });
  }

  test('every answer with a task carries its strong ETag, the version in quotes, one more on every write', async () => {
    const userId = newUserId();
    const created = await api.raw(`/api/${userId}/tasks`, json({ title: 'Buy milk' }));
    const task = (await created.json()) as Task;
    assert.equal(created.headers.get('etag'), '"1"');
    assert.equal(task.version, 1);
    assert.deepEqual(await current(task), { etag: '"1"', body: task });

    const updated = await api.raw(taskPath(task), json({ title: 'Buy oat milk' }, 'PUT'));
    assert.equal(updated.headers.get('etag'), '"2"');
    assert.equal(((await updated.json()) as Task).version, 2);

    const toggled = await api.raw(`${taskPath(task)}/complete`, { method: 'PATCH' });
    assert.equal(toggled.headers.get('etag'), '"3"');
    assert.equal(((await toggled.json()) as Task).version, 3);

    // Setting the state it already has changes nothing, the version included.
    const again = await api.raw(`${taskPath(task)}/complete`, json({ completed: true }, 'PATCH'));
    assert.equal(again.headers.get('etag'), '"3"');
    assert.equal(((await again.json()) as Task).version, 3);
  });

  describe('If-None-Match on getTask', () => {
    test('the current ETag (or W/ of it, or *) answers 304 with the ETag and no body', async () => {
      const task = await api.createTask(newUserId(), { title: 'Buy milk' });
      for (const header of ['"1"', 'W/"1"', '"7", "1"', '*']) {
        const res = await api.raw(taskPath(task), { headers: { 'if-none-match': header } });
        assert.equal(res.status, 304, header);
        assert.equal(res.headers.get('etag'), '"1"');
        assert.equal(await res.text(), '');
      }
    });

    test('an ETag the task has moved past answers 200 with the task and its new ETag', async () => {
      const task = await api.createTask(newUserId(), { title: 'Buy milk' });
      const changed = (await (await api.raw(taskPath(task), json({ title: 'Buy oat milk' }, 'PUT'))).json()) as Task;
      const res = await api.raw(taskPath(task), { headers: { 'if-none-match': '"1"' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('etag'), '"2"');
      assert.deepEqual(await res.json(), changed);
    });

    test('an unknown task answers 404 whatever If-None-Match says', async () => {
      const res = await api.raw(`/api/${newUserId()}/tasks/0193a5c4-7d2e-7b11-9f3c-2a4b6c8d0e1f`, {
        headers: { 'if-none-match': '*' },
      });
      assert.equal(res.status, 404);
    });
  });

  describe('If-Match on updateTask, the completion call and deleteTask', () => {
    const writes = {
      updateTask: (task: Task) => [taskPath(task), json({ title: 'Mine' }, 'PUT')] as const,
      'the completion call': (task: Task) =>
        [`${taskPath(task)}/complete`, json({ completed: true }, 'PATCH')] as const,
      deleteTask: (task: Task) => [taskPath(task), { method: 'DELETE' }] as const,
    };

    for (const [name, write] of Object.entries(writes)) {
      test(`${name}: a stale ETag answers 412 naming the current one, and the task is unchanged`, async () => {
        const task = await api.createTask(newUserId(), { title: 'Buy milk' });
        const moved = (await (await api.raw(taskPath(task), json({ description: 'moved on' }, 'PUT'))).json()) as Task;
        const [path, init] = write(task);
        for (const header of ['"1"', 'W/"2"', '"999"', '"not-ours"']) {
          await expectChanged(await api.raw(path, withHeaders(init, { 'if-match': header })), 2);
        }
        assert.deepEqual(await current(task), { etag: '"2"', body: moved });
      });

      test(`${name}: the current ETag (one of a list, or *) lets the write through`, async () => {
        for (const header of ['"1"', '"5", "1"', '*']) {
          const task = await api.createTask(newUserId(), { title: 'Buy milk' });
          const [path, init] = write(task);
          const res = await api.raw(path, withHeaders(init, { 'if-match': header }));
          assert.equal(res.status, 200, header);
        }
      });

      test(`${name}: an unknown task answers 404 whatever If-Match says`, async () => {
        const ghost = {
          ...(await api.createTask(newUserId(), { title: 'Buy milk' })),
          id: '0193a5c4-7d2e-7b11-9f3c-2a4b6c8d0e1f',
        };
        const [path, init] = write(ghost);
        for (const header of ['"1"', '*']) {
          assert.equal((await api.raw(path, withHeaders(init, { 'if-match': header }))).status, 404, header);
        }
      });
    }

    test('ten writers holding the same ETag: exactly one wins, the other nine get 412', async () => {
      const task = await api.createTask(newUserId(), { title: 'Buy milk' });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          api.raw(taskPath(task), withHeaders(json({ title: `Writer ${i}` }, 'PUT'), { 'if-match': '"1"' })),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, ...Array<number>(9).fill(412)]);
      const winner = (await results.find((r) => r.status === 200)!.json()) as Task;
      assert.deepEqual(await current(task), { etag: '"2"', body: winner });
    });

    test('an If-Match that is not a list of entity tags answers 422 naming the header', async () => {
      const task = await api.createTask(newUserId(), { title: 'Buy milk' });
      const res = await api.raw(taskPath(task), withHeaders(json({ title: 'x' }, 'PUT'), { 'if-match': '1' }));
      assert.equal(res.status, 422);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual(
        problem.errors.map((e) => e.path),
        ['/headers/if-match'],
      );
      assert.equal((await current(task)).body.title, 'Buy milk');
    });
  });
});
