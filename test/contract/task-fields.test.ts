// Priority, tags, due date and completion time: what a client sends, what it gets back, and when
// the service stamps completed_at (on create, update and toggle alike).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

type Task = components['schemas']['Task'];
type TaskUpdate = components['schemas']['TaskUpdate'];

describe('priority, tags, due_at and completed_at', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  async function update(userId: string, taskId: string, body: TaskUpdate): Promise<Task> {
    const { data, response } = await api.client.PUT('/api/{user_id}/tasks/{task_id}', {
      params: { path: { user_id: userId, task_id: taskId } },
      body,
    });
    assert.equal(response.status, 200);
    assert.ok(data);
    return data;
  }

  async function toggle(userId: string, taskId: string): Promise<Task> {
    const { data } = await api.client.PATCH('/api/{user_id}/tasks/{task_id}/complete', {
      params: { path: { user_id: userId, task_id: taskId } },
    });
    assert.ok(data);
    return data;
  }

  async function listOf(userId: string) {
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    return data;
  }

  test('a task created with every field answers them back: tags without case duplicates, due_at in UTC', async () => {
    const userId = newUserId();
    const task = await api.createTask(userId, {
      title: 'Write the quarterly report',
      priority: 'high',
      tags: ['Work', 'Q3', 'work', 'finance', 'WORK', 'q3'],
      due_at: '2026-11-27T17:00:00.123456+01:00',
    });
    assert.deepEqual(task, {
      id: task.id,
      user_id: userId,
      title: 'Write the quarterly report',
      description: null,
      completed: false,
      priority: 'high',
      tags: ['Work', 'Q3', 'finance'],
      due_at: '2026-11-27T16:00:00.123Z',
      completed_at: null,
      created_at: task.created_at,
      updated_at: task.created_at,
      version: 1,
    });
    assert.deepEqual(await listOf(userId), [task]);
  });

  test('left out, a task has priority none, no tags, no due date and no completion time', async () => {
    const task = await api.createTask(newUserId(), { title: 'Buy milk' });
    assert.deepEqual(
      { priority: task.priority, tags: task.tags, due_at: task.due_at, completed_at: task.completed_at },
      { priority: 'none', tags: [], due_at: null, completed_at: null },
    );
  });

  test('tags may be any script, digits, punctuation or emoji, and a tag spelled "null" stays a tag', async () => {
    const tags = ['日本語', 'İstanbul', 'Ελληνικά', '2026', 'c++', 'a/b:c', '🔥', 'null', 'NULL!', 'x'.repeat(32)];
    const task = await api.createTask(newUserId(), { title: 'Tagged', tags });
    assert.deepEqual(task.tags, tags);
  });

  test('updateTask changes only what it is sent; tags [] and due_at null clear', async () => {
    const userId = newUserId();
    const task = await api.createTask(userId, {
      title: 'Plan the trip',
      priority: 'low',
      tags: ['travel'],
      due_at: '2026-12-01T09:00:00Z',
    });
    const replanned = await update(userId, task.id, { priority: 'medium', tags: ['travel', 'family', 'Travel'] });
    assert.deepEqual(replanned, {
      ...task,
      priority: 'medium',
      tags: ['travel', 'family'],
      updated_at: replanned.updated_at,
      version: 2,
    });
    const cleared = await update(userId, task.id, { tags: [], due_at: null });
    assert.deepEqual(cleared, { ...replanned, tags: [], due_at: null, updated_at: cleared.updated_at, version: 3 });
  });

  test('completed_at is stamped when a task becomes completed by any path, kept while it stays so, cleared on reopening', async () => {
    const userId = newUserId();
    const doneAtOnce = await api.createTask(userId, { title: 'Already done', completed: true });
    assert.equal(doneAtOnce.completed_at, doneAtOnce.created_at, 'create with completed: true');

    const task = await api.createTask(userId, { title: 'Buy milk' });
    const completed = await update(userId, task.id, { completed: true });
    assert.deepEqual(completed, {
      ...task,
      completed: true,
      completed_at: completed.updated_at,
      updated_at: completed.updated_at,
      version: 2,
    });
    const stillCompleted = await update(userId, task.id, { completed: true, title: 'Buy oat milk' });
    assert.equal(stillCompleted.completed_at, completed.completed_at, 'completing a completed task keeps its stamp');

    const reopened = await toggle(userId, task.id);
    assert.deepEqual(reopened, {
      ...stillCompleted,
      completed: false,
      completed_at: null,
      updated_at: reopened.updated_at,
      version: 4,
    });
    const completedByToggle = await toggle(userId, task.id);
    assert.equal(completedByToggle.completed_at, completedByToggle.updated_at, 'toggle to completed');
    const reopenedByUpdate = await update(userId, task.id, { completed: false });
    assert.equal(reopenedByUpdate.completed_at, null, 'update to not completed');
  });

  test('completed_at is the service’s to set: sending it is a 422 naming it, and nothing is created', async () => {
    const userId = newUserId();
    const response = await api.raw(
      `/api/${userId}/tasks`,
      json({ title: 'x', completed: true, completed_at: '2020-01-01T00:00:00Z' }),
    );
    assert.equal(response.status, 422);
    assert.deepEqual(((await response.json()) as { errors: unknown }).errors, [
      { path: '/body/completed_at', message: 'must NOT have additional properties' },
    ]);
    assert.deepEqual(await listOf(userId), []);
  });

  test('out-of-bounds values answer 422 naming the field, and nothing is created', async () => {
    const userId = newUserId();
    const cases: [unknown, string][] = [
      [{ priority: 'urgent' }, '/body/priority'],
      [{ priority: null }, '/body/priority'],
      [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, '/body/tags'],
      [{ tags: ['x'.repeat(33)] }, '/body/tags/0'],
      [{ tags: [''] }, '/body/tags/0'],
      [{ tags: ['two words'] }, '/body/tags/0'],
      [{ tags: ['a,b'] }, '/body/tags/0'],
      [{ tags: ['zero\u200bwidth'] }, '/body/tags/0'],
      [{ tags: 'work' }, '/body/tags'],
      [{ due_at: '2026-11-27' }, '/body/due_at'],
      [{ due_at: '2026-11-27T17:00:00' }, '/body/due_at'],
      [{ due_at: '2026-02-30T00:00:00Z' }, '/body/due_at'],
      [{ due_at: '2026-06-30T23:59:60Z' }, '/body/due_at'],
      [{ due_at: '0999-12-31T00:00:00Z' }, '/body/due_at'],
      [{ due_at: '9000-01-01T00:00:00Z' }, '/body/due_at'],
    ];
    for (const [fields, path] of cases) {
      const response = await api.raw(`/api/${userId}/tasks`, json({ title: 'x', ...(fields as object) }));
      assert.equal(response.status, 422, JSON.stringify(fields));
      const problem = (await response.json()) as { errors: { path: string }[] };
      assert.deepEqual([...new Set(problem.errors.map((e) => e.path))], [path], JSON.stringify(fields));
    }
    assert.deepEqual(await listOf(userId), []);
  });

  test('an update with an out-of-bounds value changes nothing', async () => {
    const userId = newUserId();
    const task = await api.createTask(userId, { title: 'Keep me', tags: ['home'] });
    const response = await api.raw(
      `/api/${userId}/tasks/${task.id}`,
      json({ title: 'Changed', tags: ['ok', 'not ok'] }, 'PUT'),
    );
    assert.equal(response.status, 422);
    assert.deepEqual(await listOf(userId), [task]);
  });
});
