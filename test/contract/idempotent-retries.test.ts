// Safe retries: an Idempotency-Key on createTask and the completion call. A retry of the same
// request within 24 hours answers the first response again (Idempotent-Replayed: true) and changes
// nothing; the same key with another request is a 422; concurrent requests with one key create one
// task. Keys live in the database, per user, and expire.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { pino } from 'pino';
import { DatabaseAvailability } from '../../src/db/availability.ts';
import { TaskRepository } from '../../src/tasks/task.repository.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

type Task = components['schemas']['Task'];

interface Answer {
  status: number;
  location: string | null;
  etag: string | null;
  replayed: string | null;
  body: unknown;
}

describe('Idempotency-Key on createTask and the completion call', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  const withKey = (init: RequestInit, key: string): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), 'idempotency-key': key },
  });

  async function answer(res: Response): Promise<Answer> {
    return {
      status: res.status,
      location: res.headers.get('location'),
      etag: res.headers.get('etag'),
      replayed: res.headers.get('idempotent-replayed'),
      body: await res.json(),
    };
  }

  const create = async (userId: string, body: unknown, key: string) =>
    answer(await api.raw(`/api/${userId}/tasks`, withKey(json(body), key)));

  async function listOf(userId: string): Promise<Task[]> {
    return (await (await api.raw(`/api/${userId}/tasks`)).json()) as Task[];
  }

  const sql = (text: string, params: unknown[] = []) => api.db.em.getConnection().execute(text, params);

  test('a retried create answers the first response again, marked replayed, and creates nothing', async () => {
    const userId = newUserId();
    const first = await create(userId, { title: 'Buy milk', tags: ['shop'] }, 'retry-1');
    const task = first.body as Task;
    assert.deepEqual(first, {
      status: 201,
      location: `/api/${userId}/tasks/${task.id}`,
      etag: '"1"',
      replayed: null,
      body: task,
    });
    // The same body with its members in another order is the same request.
    const retry = await create(userId, { tags: ['shop'], title: 'Buy milk' }, 'retry-1');
    assert.deepEqual(retry, { ...first, replayed: 'true' });
    assert.deepEqual(await listOf(userId), [task]);
  });

  test('the replay is the first response, even after the task changed since', async () => {
    const userId = newUserId();
    const first = await create(userId, { title: 'Buy milk' }, 'k');
    const task = first.body as Task;
    const renamed = await api.raw(`/api/${userId}/tasks/${task.id}`, json({ title: 'Buy oat milk' }, 'PUT'));
    assert.equal(renamed.status, 200);
    assert.deepEqual(await create(userId, { title: 'Buy milk' }, 'k'), { ...first, replayed: 'true' });
    assert.equal((await listOf(userId)).length, 1);
  });

  test('the same key with another request answers 422 naming the header, and creates nothing', async () => {
    const userId = newUserId();
    const first = await create(userId, { title: 'Buy milk' }, 'k');
    const res = await api.raw(`/api/${userId}/tasks`, withKey(json({ title: 'Buy bread' }), 'k'));
    assert.equal(res.status, 422);
    assert.deepEqual(await res.json(), {
      type: 'about:blank',
      title: 'Unprocessable Content',
      status: 422,
      detail:
        'The request is invalid: /headers/idempotency-key was sent with another request in the last 24 hours; use a new key for a new request',
      instance: `/api/${userId}/tasks`,
      errors: [
        {
          path: '/headers/idempotency-key',
          message: 'was sent with another request in the last 24 hours; use a new key for a new request',
        },
      ],
    });
    assert.deepEqual(await listOf(userId), [first.body]);
  });

  test('keys are per user: two users may use the same key for their own tasks', async () => {
    const [alice, bob] = [newUserId('alice'), newUserId('bob')];
    const a = await create(alice, { title: 'Buy milk' }, 'shared');
    const b = await create(bob, { title: 'Buy milk' }, 'shared');
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.replayed, null);
    assert.notEqual((a.body as Task).id, (b.body as Task).id);
  });

  test('50 concurrent creates with one key leave exactly one task; every one answers it', async () => {
    const userId = newUserId();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => create(userId, { title: 'Pay rent' }, 'double-click')),
    );
    const tasks = await listOf(userId);
    assert.equal(tasks.length, 1);
    const [task] = tasks;
    const expected = { status: 201, location: `/api/${userId}/tasks/${task!.id}`, etag: '"1"', body: task };
    assert.deepEqual(
      answers.map(({ replayed: _, ...rest }) => rest),
      Array<unknown>(50).fill(expected),
    );
    assert.deepEqual(
      answers.map((a) => a.replayed).sort(), // String order: null before true
      [null, ...Array<string>(49).fill('true')],
      'one first response, 49 replays',
    );
  });

  test('a retried toggle is not applied twice: it answers the first toggle again', async () => {
    const userId = newUserId();
    const task = (await create(userId, { title: 'Buy milk' }, 'create')).body as Task;
    const toggle = async () =>
      answer(await api.raw(`/api/${userId}/tasks/${task.id}/complete`, withKey({ method: 'PATCH' }, 'toggle')));
    const first = await toggle();
    assert.equal(first.status, 200);
    assert.equal((first.body as Task).completed, true);
    assert.equal(first.etag, '"2"');
    assert.deepEqual(await toggle(), { ...first, replayed: 'true' });
    assert.deepEqual(await listOf(userId), [first.body]);
    // The same key on another call (a different path) is another request.
    const other = await api.raw(`/api/${userId}/tasks`, withKey(json({ title: 'Buy milk' }), 'toggle'));
    assert.equal(other.status, 422);
  });

  test('a write refused for a stale If-Match remembers nothing: the key works once the client catches up', async () => {
    const userId = newUserId();
    const task = (await create(userId, { title: 'Buy milk' }, 'c')).body as Task;
    const complete = (ifMatch: string) =>
      api.raw(`/api/${userId}/tasks/${task.id}/complete`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'complete', 'if-match': ifMatch },
        body: JSON.stringify({ completed: true }),
      });
    assert.equal((await complete('"7"')).status, 412);
    const done = await answer(await complete('"1"'));
    assert.equal(done.status, 200);
    assert.equal(done.replayed, null);
    assert.equal((done.body as Task).completed, true);
  });

  test('an expired key is forgotten: the same request creates again, and the sweep removes expired keys', async () => {
    const userId = newUserId();
    const first = (await create(userId, { title: 'Water the plants' }, 'weekly')).body as Task;
    await sql(`update idempotency_key set expires_at = now() - interval '1 second' where user_id = ?`, [userId]);
    const again = await create(userId, { title: 'Water the plants' }, 'weekly');
    assert.equal(again.status, 201);
    assert.equal(again.replayed, null);
    assert.notEqual((again.body as Task).id, first.id);
    assert.equal((await listOf(userId)).length, 2);

    const other = newUserId();
    await create(other, { title: 'x' }, 'old');
    await sql(`update idempotency_key set expires_at = now() - interval '1 second' where user_id = ?`, [other]);
    const keysOf = async (user: string) =>
      (await sql('select key from idempotency_key where user_id = ? order by key', [user])) as { key: string }[];
    assert.deepEqual(await keysOf(other), [{ key: 'old' }]);
    await new TaskRepository(api.db.em, new DatabaseAvailability(pino({ level: 'silent' }))).sweepExpiredKeys();
    assert.deepEqual(await keysOf(other), []);
    assert.deepEqual(await keysOf(userId), [{ key: 'weekly' }], 'live keys stay');
  });

  test('a key longer than 255 characters or not printable ASCII answers 422', async () => {
    const userId = newUserId();
    for (const key of ['x'.repeat(256), 'caf\u00e9']) {
      const res = await api.raw(`/api/${userId}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ title: 'Buy milk' }),
      });
      assert.equal(res.status, 422, key);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual(
        problem.errors.map((e) => e.path),
        ['/headers/idempotency-key'],
      );
    }
    assert.deepEqual(await listOf(userId), []);
  });
});
