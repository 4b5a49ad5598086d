import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UTC_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('createTask', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  async function listOf(userId: string) {
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    return data;
  }

  async function rejects(userId: string, body: unknown, init?: RequestInit) {
    const res = await api.raw(`/api/${userId}/tasks`, init ?? json(body));
    return {
      status: res.status,
      problem: (await res.json()) as { detail: string; errors?: { path: string; message: string }[] },
    };
  }

  test('creating a task answers 201 with the whole task, a Location header and UTC timestamps', async () => {
    const userId = newUserId();
    const before = Date.now();
    const { data, response } = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: userId } },
      body: { title: 'Buy milk', description: 'Two litres' },
    });
    assert.equal(response.status, 201);
    assert.ok(data);
    assert.match(data.id, UUID_V7);
    assert.match(data.created_at, UTC_ISO);
    assert.deepEqual(data, {
      id: data.id,
      user_id: userId,
      title: 'Buy milk',
      description: 'Two litres',
      completed: false,
      priority: 'none',
      tags: [],
      due_at: null,
      completed_at: null,
      created_at: data.created_at,
      updated_at: data.created_at,
      version: 1,
    });
    assert.equal(response.headers.get('etag'), '"1"');
    // The database clock and this one agree to within a generous margin.
    assert.ok(Math.abs(Date.parse(data.created_at) - before) < 60_000);
    assert.equal(response.headers.get('location'), `/api/${userId}/tasks/${data.id}`);
    const fetched = await api.client.GET('/api/{user_id}/tasks/{task_id}', {
      params: { path: { user_id: userId, task_id: data.id } },
    });
    assert.deepEqual(fetched.data, data);
  });

  test('the title is stored without its surrounding white space, and description defaults to null', async () => {
    const userId = newUserId();
    const { data } = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: userId } },
      body: { title: '  \t Buy milk \n ' },
    });
    assert.equal(data?.title, 'Buy milk');
    assert.equal(data?.description, null);
  });

  test('completed is honoured on create, so a client can add a task that is already done', async () => {
    const { data } = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: newUserId() } },
      body: { title: 'Already done', completed: true },
    });
    assert.equal(data?.completed, true);
    assert.equal(data?.completed_at, data?.created_at, 'it was completed when it was created');
  });

  test('a 200-character title is accepted', async () => {
    const title = 'x'.repeat(200);
    const { data, response } = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: newUserId() } },
      body: { title },
    });
    assert.equal(response.status, 201);
    assert.equal(data?.title, title);
  });

  test('creating a task with a 201-char title answers 422 with the field named, and creates nothing', async () => {
    const userId = newUserId();
    const { status, problem } = await rejects(userId, { title: 'x'.repeat(201) });
    assert.equal(status, 422);
    assert.deepEqual(problem.errors, [{ path: '/body/title', message: 'must NOT have more than 200 characters' }]);
    assert.match(problem.detail, /\/body\/title/);
    assert.deepEqual(await listOf(userId), []);
  });

  test('a 1000-character description is accepted; 1001 answers 422 naming /body/description', async () => {
    const userId = newUserId();
    const ok = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: userId } },
      body: { title: 't', description: 'd'.repeat(1000) },
    });
    assert.equal(ok.response.status, 201);
    assert.equal(ok.data?.description?.length, 1000);
    const { status, problem } = await rejects(userId, { title: 't', description: 'd'.repeat(1001) });
    assert.equal(status, 422);
    assert.deepEqual(
      problem.errors?.map((e) => e.path),
      ['/body/description'],
    );
    assert.equal((await listOf(userId))?.length, 1);
  });

  test('a title of only white space answers 422', async () => {
    const { status, problem } = await rejects(newUserId(), { title: ' \t\n ' });
    assert.equal(status, 422);
    assert.deepEqual(
      problem.errors?.map((e) => e.path),
      ['/body/title'],
    );
  });

  test('a missing title answers 422 naming /body/title', async () => {
    const { status, problem } = await rejects(newUserId(), { description: 'no title' });
    assert.equal(status, 422);
    assert.deepEqual(problem.errors, [{ path: '/body/title', message: "must have required property 'title'" }]);
  });

  test('a null or a number where a string is required answers 422, never a 500 or a coercion', async () => {
    const userId = newUserId();
    for (const title of [null, 123, true, ['a'], { a: 1 }]) {
      const { status, problem } = await rejects(userId, { title });
      assert.equal(status, 422, `title ${JSON.stringify(title)}`);
      assert.deepEqual(
        problem.errors?.map((e) => e.path),
        ['/body/title'],
      );
    }
    const { status } = await rejects(userId, { title: 't', description: 5 });
    assert.equal(status, 422);
    assert.deepEqual(await listOf(userId), []);
  });

  test('every failure is listed at once', async () => {
    const { status, problem } = await rejects(newUserId(), { title: '', description: 'd'.repeat(1001), colour: 'red' });
    assert.equal(status, 422);
    const paths = problem.errors?.map((e) => e.path).sort();
    assert.deepEqual([...new Set(paths)], ['/body/colour', '/body/description', '/body/title']);
  });

  test('an unknown field is rejected with 422 naming it, so a typo never passes silently', async () => {
    const { status, problem } = await rejects(newUserId(), { title: 't', titel: 'typo' });
    assert.equal(status, 422);
    assert.deepEqual(problem.errors, [{ path: '/body/titel', message: 'must NOT have additional properties' }]);
  });

  test('a NUL character in the title answers 422 rather than failing in the database', async () => {
    const { status, problem } = await rejects(newUserId(), { title: 'a\u0000b' });
    assert.equal(status, 422);
    assert.deepEqual(
      problem.errors?.map((e) => e.path),
      ['/body/title'],
    );
  });

  test('a body that is not a JSON object answers 422', async () => {
    for (const body of ['[]', '"a title"', '42', 'null']) {
      const { status } = await rejects(newUserId(), body);
      assert.equal(status, 422, `body ${body}`);
    }
  });

  test('a 255-character user id is accepted; 256 answers 422 (the replaced service answered 500)', async () => {
    const ok = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: 'u'.repeat(255) } },
      body: { title: 't' },
    });
    assert.equal(ok.response.status, 201);
    const { status, problem } = await rejects('u'.repeat(256), { title: 't' });
    assert.equal(status, 422);
    assert.deepEqual(
      problem.errors?.map((e) => e.path),
      ['/params/user_id'],
    );
  });

  test('a user id with characters outside its pattern answers 422', async () => {
    const { status, problem } = await rejects(encodeURIComponent('bob@example.com'), { title: 't' });
    assert.equal(status, 422);
    assert.deepEqual(
      problem.errors?.map((e) => e.path),
      ['/params/user_id'],
    );
  });

  test('malformed JSON answers 400 with a problem', async () => {
    const { status, problem } = await rejects(newUserId(), '{"title": "unterminated');
    assert.equal(status, 400);
    assert.equal(problem.detail, 'The request body is not valid JSON.');
  });

  test('a body that is not application/json answers 415', async () => {
    const { status, problem } = await rejects(newUserId(), undefined, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'title=Buy milk',
    });
    assert.equal(status, 415);
    assert.equal(problem.detail, 'Send the body as application/json (got text/plain).');
  });

  test('a body over 16 kB answers 413 and creates nothing', async () => {
    const userId = newUserId();
    const { status, problem } = await rejects(userId, { title: 't', description: 'd'.repeat(17 * 1024) });
    assert.equal(status, 413);
    assert.equal(problem.detail, 'The request body is larger than 16384 bytes.');
    assert.deepEqual(await listOf(userId), []);
  });
});
