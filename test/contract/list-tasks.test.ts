import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newUserId, startTestServer, type TestServer } from '../support/server.ts';

describe('listTasks', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  async function create(userId: string, title: string, completed = false) {
    const { data } = await api.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: userId } },
      body: { title, completed },
    });
    assert.ok(data);
    return data;
  }

  /** Follows rel="next" links from the first page to the last, returning every page's titles. */
  async function allPages(firstPath: string) {
    const pages: string[][] = [];
    let path: string | undefined = firstPath;
    while (path) {
      const res = await api.raw(path);
      assert.equal(res.status, 200);
      pages.push(((await res.json()) as { title: string }[]).map((t) => t.title));
      path = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
      assert.ok(pages.length < 50, 'pagination does not end');
    }
    return pages;
  }

  test('a user with no tasks gets an empty array and no Link header', async () => {
    const { data, response } = await api.client.GET('/api/{user_id}/tasks', {
      params: { path: { user_id: newUserId() } },
    });
    assert.deepEqual(data, []);
    assert.equal(response.headers.get('link'), null);
  });

  test('tasks come newest first, whole and exactly as created', async () => {
    const userId = newUserId();
    const first = await create(userId, 'first');
    const second = await create(userId, 'second');
    const third = await create(userId, 'third');
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
    assert.deepEqual(data, [third, second, first]);
  });

  test("a user sees only their own tasks, never another user's", async () => {
    const alice = newUserId('alice');
    const bob = newUserId('bob');
    await create(alice, 'alice task');
    const bobs = await create(bob, 'bob task');
    const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: bob } } });
    assert.deepEqual(data, [bobs]);
  });

  test('pages of 2 over 5 tasks: three pages by rel="next", no task missed or repeated, no Link on the last', async () => {
    const userId = newUserId();
    for (const title of ['t1', 't2', 't3', 't4', 't5']) await create(userId, title);
    const pages = await allPages(`/api/${userId}/tasks?limit=2`);
    assert.deepEqual(pages, [['t5', 't4'], ['t3', 't2'], ['t1']]);
  });

  test('a page exactly as long as the remaining tasks has no rel="next"', async () => {
    const userId = newUserId();
    for (const title of ['a', 'b']) await create(userId, title);
    assert.deepEqual(await allPages(`/api/${userId}/tasks?limit=2`), [['b', 'a']]);
  });

  test('completed=true and completed=false filter the list, and the filter carries across pages', async () => {
    const userId = newUserId();
    await create(userId, 'open 1');
    await create(userId, 'done 1', true);
    await create(userId, 'open 2');
    await create(userId, 'done 2', true);
    await create(userId, 'done 3', true);
    assert.deepEqual(await allPages(`/api/${userId}/tasks?completed=true&limit=2`), [['done 3', 'done 2'], ['done 1']]);
    assert.deepEqual(await allPages(`/api/${userId}/tasks?completed=false`), [['open 2', 'open 1']]);
  });

  test('without a limit a page holds at most 100 tasks (the seed returned every task, unbounded)', async () => {
    const userId = newUserId();
    await Promise.all(Array.from({ length: 101 }, (_, i) => create(userId, `task ${i}`)));
    const pages = await allPages(`/api/${userId}/tasks`);
    assert.deepEqual(
      pages.map((p) => p.length),
      [100, 1],
    );
    assert.equal(new Set(pages.flat()).size, 101);
  });

  test('a task created while paging does not shift the pages already being read', async () => {
    const userId = newUserId();
    for (const title of ['t1', 't2', 't3']) await create(userId, title);
    const firstPage = await api.raw(`/api/${userId}/tasks?limit=2`);
    const next = /<([^>]+)>;\s*rel="next"/.exec(firstPage.headers.get('link') ?? '')?.[1];
    assert.ok(next);
    await create(userId, 't4');
    const rest = await api.raw(next);
    assert.deepEqual(
      ((await rest.json()) as { title: string }[]).map((t) => t.title),
      ['t1'],
    );
  });

  test('limit outside 1..500 or not a number answers 422 naming /query/limit', async () => {
    const userId = newUserId();
    for (const limit of ['0', '501', '-1', 'ten', '1.5']) {
      const res = await api.raw(`/api/${userId}/tasks?limit=${limit}`);
      assert.equal(res.status, 422, `limit=${limit}`);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual([...new Set(problem.errors.map((e) => e.path))], ['/query/limit'], `limit=${limit}`);
    }
  });

  test('a cursor this service never issued answers 422 naming /query/cursor', async () => {
    const userId = newUserId();
    const forged = Buffer.from('not a date|nor an id').toString('base64url');
    for (const cursor of [forged, 'AAAA', 'has spaces', 'x'.repeat(201)]) {
      const res = await api.raw(`/api/${userId}/tasks?cursor=${encodeURIComponent(cursor)}`);
      assert.equal(res.status, 422, `cursor=${cursor}`);
      const problem = (await res.json()) as { errors: { path: string }[] };
      assert.deepEqual([...new Set(problem.errors.map((e) => e.path))], ['/query/cursor']);
    }
  });

  test('completed must be true or false', async () => {
    const res = await api.raw(`/api/${newUserId()}/tasks?completed=maybe`);
    assert.equal(res.status, 422);
  });
});
