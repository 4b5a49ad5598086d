import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertStampedSince, passInstant } from '../support/clock.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

const NOT_FOUND = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'Task not found' };

describe('getTask, updateTask, toggleTaskCompletion, deleteTask', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  async function create(userId: string, body: { title: string; description?: string | null } = { title: 'Buy milk' }) {
    const { data } = await api.client.POST('/api/{user_id}/tasks', { params: { path: { user_id: userId } }, body });
    assert.ok(data);
    return data;
  }

  const path = (userId: string, taskId: string) => ({ params: { path: { user_id: userId, task_id: taskId } } });

  async function get(userId: string, taskId: string) {
    return api.client.GET('/api/{user_id}/tasks/{task_id}', path(userId, taskId));
  }

  describe('getTask', () => {
    test('answers the task', async () => {
      const userId = newUserId();
      const task = await create(userId);
      assert.deepEqual((await get(userId, task.id)).data, task);
    });

    test('accepts the id in upper case and answers it in lower case', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const { data } = await get(userId, task.id.toUpperCase());
      assert.equal(data?.id, task.id);
    });

    test('an unknown id answers 404 "Task not found"', async () => {
      const res = await api.raw(`/api/${newUserId()}/tasks/0193a5c4-7d2e-7b11-9f3c-2a4b6c8d0e1f`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual(await res.json(), { ...NOT_FOUND, instance: new URL(res.url).pathname });
    });

    test("another user's task is a 404 identical to an unknown id, so ownership never leaks", async () => {
      const owner = newUserId('owner');
      const stranger = newUserId('stranger');
      const task = await create(owner);
      const res = await api.raw(`/api/${stranger}/tasks/${task.id}`);
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { ...NOT_FOUND, instance: `/api/${stranger}/tasks/${task.id}` });
    });

    test('a task id that is not a UUID answers 422 naming /params/task_id', async () => {
      const res = await api.raw(`/api/${newUserId()}/tasks/42`);
      assert.equal(res.status, 422);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual(
        problem.errors.map((e) => e.path),
        ['/params/task_id'],
      );
    });
  });

  describe('updateTask (partial)', () => {
    test('changes only the fields sent, refreshes updated_at and keeps created_at', async () => {
      const userId = newUserId();
      const task = await create(userId, { title: 'Buy milk', description: 'Two litres' });
      await passInstant(task.updated_at);
      const sentAt = Date.now();
      const { data, response } = await api.client.PUT('/api/{user_id}/tasks/{task_id}', {
        ...path(userId, task.id),
        body: { title: '  Buy oat milk ' },
      });
      assert.equal(response.status, 200);
      assert.ok(data);
      assert.deepEqual(data, { ...task, title: 'Buy oat milk', updated_at: data.updated_at, version: 2 });
      assertStampedSince(data.updated_at, sentAt, 'the update refreshes updated_at');
      assert.deepEqual((await get(userId, task.id)).data, data);
    });

    test('description null clears the description', async () => {
      const userId = newUserId();
      const task = await create(userId, { title: 't', description: 'd' });
      const { data } = await api.client.PUT('/api/{user_id}/tasks/{task_id}', {
        ...path(userId, task.id),
        body: { description: null },
      });
      assert.equal(data?.description, null);
      assert.equal(data?.title, 't');
    });

    test('completed can be set to a definite state, repeatedly', async () => {
      const userId = newUserId();
      const task = await create(userId);
      for (const completed of [true, true, false]) {
        const { data } = await api.client.PUT('/api/{user_id}/tasks/{task_id}', {
          ...path(userId, task.id),
          body: { completed },
        });
        assert.equal(data?.completed, completed);
      }
    });

    test('an empty object is accepted and only refreshes updated_at, as the seed did', async () => {
      const userId = newUserId();
      const task = await create(userId);
      await passInstant(task.updated_at);
      const sentAt = Date.now();
      const { data } = await api.client.PUT('/api/{user_id}/tasks/{task_id}', { ...path(userId, task.id), body: {} });
      assert.ok(data);
      assert.deepEqual(data, { ...task, updated_at: data.updated_at, version: 2 });
      assertStampedSince(data.updated_at, sentAt, '{} refreshes updated_at');
    });

    test('title null answers 422 and changes nothing (the seed answered 500)', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const res = await api.raw(`/api/${userId}/tasks/${task.id}`, json({ title: null }, 'PUT'));
      assert.equal(res.status, 422);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual(
        problem.errors.map((e) => e.path),
        ['/body/title'],
      );
      assert.deepEqual((await get(userId, task.id)).data, task);
    });

    test('a 201-character title answers 422 and the task keeps its title', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const res = await api.raw(
        `/api/${userId}/tasks/${task.id}`,
        json({ title: 'x'.repeat(201), completed: 'yes' }, 'PUT'),
      );
      assert.equal(res.status, 422);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual(problem.errors.map((e) => e.path).sort(), ['/body/completed', '/body/title']);
      assert.deepEqual((await get(userId, task.id)).data, task);
    });

    test('read-only fields such as id or created_at are rejected, not silently ignored', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const res = await api.raw(`/api/${userId}/tasks/${task.id}`, json({ ...task, title: 'new' }, 'PUT'));
      assert.equal(res.status, 422);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual(problem.errors.map((e) => e.path).sort(), [
        '/body/completed_at',
        '/body/created_at',
        '/body/id',
        '/body/updated_at',
        '/body/user_id',
        '/body/version',
      ]);
    });

    test("updating another user's task answers 404 and leaves it alone", async () => {
      const owner = newUserId('owner');
      const task = await create(owner);
      const res = await api.raw(`/api/${newUserId('stranger')}/tasks/${task.id}`, json({ title: 'mine now' }, 'PUT'));
      assert.equal(res.status, 404);
      assert.deepEqual((await get(owner, task.id)).data, task);
    });
  });

  describe('toggleTaskCompletion', () => {
    test('flips completed each time and refreshes updated_at', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const toggle = () => api.client.PATCH('/api/{user_id}/tasks/{task_id}/complete', path(userId, task.id));
      await passInstant(task.updated_at);
      const firstSentAt = Date.now();
      const once = await toggle();
      assert.equal(once.response.status, 200);
      assert.ok(once.data);
      assert.deepEqual(once.data, {
        ...task,
        completed: true,
        completed_at: once.data.updated_at,
        updated_at: once.data.updated_at,
        version: 2,
      });
      assertStampedSince(once.data.updated_at, firstSentAt, 'completing refreshes updated_at');
      await passInstant(once.data.updated_at);
      const secondSentAt = Date.now();
      const twice = await toggle();
      assert.ok(twice.data);
      assert.deepEqual(twice.data, { ...task, updated_at: twice.data.updated_at, version: 3 });
      assertStampedSince(twice.data.updated_at, secondSentAt, 'reopening refreshes updated_at');
    });

    test('ten simultaneous toggles leave it where it started: no toggle is lost', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          api.client.PATCH('/api/{user_id}/tasks/{task_id}/complete', path(userId, task.id)),
        ),
      );
      assert.ok(results.every((r) => r.response.status === 200));
      assert.equal(results.filter((r) => r.data?.completed).length, 5);
      assert.equal((await get(userId, task.id)).data?.completed, false);
    });

    test('{"completed": true} completes, and sending it again changes nothing, updated_at included', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const complete = () =>
        api.client.PATCH('/api/{user_id}/tasks/{task_id}/complete', {
          ...path(userId, task.id),
          body: { completed: true },
        });
      const first = await complete();
      assert.equal(first.response.status, 200);
      assert.ok(first.data);
      assert.deepEqual(first.data, {
        ...task,
        completed: true,
        completed_at: first.data.updated_at,
        updated_at: first.data.updated_at,
        version: 2,
      });
      await passInstant(first.data.updated_at); // a refresh would now show
      const again = await complete();
      assert.equal(again.response.status, 200);
      assert.deepEqual(again.data, first.data);
      assert.deepEqual((await get(userId, task.id)).data, first.data);
    });

    test('{"completed": false} reopens a completed task and leaves an open one as it is', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const reopen = () =>
        api.client.PATCH('/api/{user_id}/tasks/{task_id}/complete', {
          ...path(userId, task.id),
          body: { completed: false },
        });
      const untouched = await reopen();
      assert.deepEqual(untouched.data, task);
      const done = await api.client.PATCH('/api/{user_id}/tasks/{task_id}/complete', path(userId, task.id));
      assert.equal(done.data?.completed, true);
      await passInstant(done.data.updated_at);
      const sentAt = Date.now();
      const reopened = await reopen();
      assert.ok(reopened.data);
      assert.deepEqual(reopened.data, { ...task, updated_at: reopened.data.updated_at, version: 3 });
      assertStampedSince(reopened.data.updated_at, sentAt, 'reopening refreshes updated_at');
    });

    test('an empty object toggles, as no body does', async () => {
      const userId = newUserId();
      const task = await create(userId);
      const res = await api.raw(`/api/${userId}/tasks/${task.id}/complete`, json({}, 'PATCH'));
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { completed: boolean }).completed, true);
    });

    test('a body that is not {"completed": boolean} answers 422 naming the field, and changes nothing', async () => {
      const userId = newUserId();
      const task = await create(userId);
      for (const [body, paths] of [
        [{ completed: 'yes' }, ['/body/completed']],
        [{ completed: true, title: 'x' }, ['/body/title']],
        [null, ['/body']],
      ] as const) {
        const res = await api.raw(`/api/${userId}/tasks/${task.id}/complete`, json(JSON.stringify(body), 'PATCH'));
        assert.equal(res.status, 422, JSON.stringify(body));
        const problem = (await res.json()) as { errors: { path: string }[] };
        assert.deepEqual(
          problem.errors.map((e) => e.path),
          paths,
        );
      }
      assert.deepEqual((await get(userId, task.id)).data, task);
    });

    test("toggling an unknown or another user's task answers 404", async () => {
      const task = await create(newUserId('owner'));
      const res = await api.raw(`/api/${newUserId('stranger')}/tasks/${task.id}/complete`, { method: 'PATCH' });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { detail: string }).detail, 'Task not found');
    });
  });

  describe('deleteTask', () => {
    test("answers 200 with the seed's confirmation body, after which the task is gone", async () => {
      const userId = newUserId();
      const task = await create(userId);
      const { data, response } = await api.client.DELETE('/api/{user_id}/tasks/{task_id}', path(userId, task.id));
      assert.equal(response.status, 200);
      assert.deepEqual(data, { message: 'Task deleted successfully' });
      assert.equal((await get(userId, task.id)).response.status, 404);
      const again = await api.client.DELETE('/api/{user_id}/tasks/{task_id}', path(userId, task.id));
      assert.equal(again.response.status, 404);
    });

    test("deleting another user's task answers 404 and the task survives", async () => {
      const owner = newUserId('owner');
      const task = await create(owner);
      const res = await api.raw(`/api/${newUserId('stranger')}/tasks/${task.id}`, { method: 'DELETE' });
      assert.equal(res.status, 404);
      assert.deepEqual((await get(owner, task.id)).data, task);
    });
  });
});
