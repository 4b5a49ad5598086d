// A client written for the replaced FastAPI service, replayed against this one: the same calls, the
// same fields, reading `detail` on errors. Where the seed was wrong, the assertion says what we do.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

interface SeedTask {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
}

describe("a seed client's whole session still works", () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  test('create → list → get → update → toggle → delete, with snake_case fields and detail on errors', async () => {
    const user = newUserId('seed');
    const base = `/api/${user}/tasks`;

    const created = await api.raw(base, json({ title: '  Buy milk  ', description: 'Two litres' }));
    assert.equal(created.status, 201);
    const task = (await created.json()) as SeedTask;
    // Every field the seed sent, and the fields added since (a seed client ignores those).
    assert.deepEqual(Object.keys(task).sort(), [
      'completed',
      'completed_at',
      'created_at',
      'description',
      'due_at',
      'id',
      'priority',
      'tags',
      'title',
      'updated_at',
      'user_id',
      'version',
    ]);
    assert.equal(task.title, 'Buy milk');
    assert.equal(task.user_id, user);
    assert.equal(task.completed, false);
    assert.match(task.created_at, /Z$/, 'timestamps carry their zone (the seed sent none)');

    const other = (await (await api.raw(base, json({ title: 'Walk the dog' }))).json()) as SeedTask;
    const list = (await (await api.raw(base)).json()) as SeedTask[];
    assert.deepEqual(
      list.map((t) => t.id),
      [other.id, task.id],
      'newest first',
    );

    const got = (await (await api.raw(`${base}/${task.id.toUpperCase()}`)).json()) as SeedTask;
    assert.deepEqual(got, task);

    const updated = await api.raw(`${base}/${task.id}`, json({ description: null, completed: true }, 'PUT'));
    assert.equal(updated.status, 200);
    const completed = (await updated.json()) as SeedTask & { completed_at: string };
    assert.deepEqual(completed, {
      ...task,
      description: null,
      completed: true,
      completed_at: completed.updated_at,
      updated_at: completed.updated_at,
      version: 2,
    });

    const toggled = await api.raw(`${base}/${task.id}/complete`, { method: 'PATCH' });
    assert.equal(toggled.status, 200);
    assert.equal(((await toggled.json()) as SeedTask).completed, false);

    const deleted = await api.raw(`${base}/${task.id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    assert.deepEqual(await deleted.json(), { message: 'Task deleted successfully' });

    const gone = await api.raw(`${base}/${task.id}`);
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { detail: string }).detail, 'Task not found');

    const invalid = await api.raw(base, json({ title: '' }));
    assert.equal(invalid.status, 422);
    const problem = (await invalid.json()) as { detail: unknown; errors: { path: string }[] };
    assert.equal(typeof problem.detail, 'string', 'detail is a sentence now; the field list moved to errors');
    assert.deepEqual([...new Set(problem.errors.map((e) => e.path))], ['/body/title']);
  });
});
