// listTasks' sorts, and pages that stay exact under each: a walk of small pages, with tasks created
// and deleted between pages, must give at every step exactly the next tasks of the list as it is
// at that moment (keyset pagination), never one twice and never one that is gone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

type Task = components['schemas']['Task'];
type TaskCreate = components['schemas']['TaskCreate'];

const RANK = { none: 0, low: 1, medium: 2, high: 3 } as const;

/** Code point order (UTF-8 byte order is the same), as the databases compare titles. */
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The order each sort promises, written out independently of the service. */
function comparator(sort: string): (a: Task, b: Task) => number {
  const descending = sort.startsWith('-');
  const field = sort.replace(/^-/, '');
  const sign = descending ? -1 : 1;
  const key = (a: Task, b: Task): number => {
    switch (field) {
      case 'created_at':
      case 'updated_at':
        return sign * byCodePoint(a[field], b[field]);
      case 'priority':
        return sign * (RANK[a.priority] - RANK[b.priority]);
      case 'title':
        return sign * byCodePoint(a.title, b.title);
      case 'due_at':
        // Without a due date: last, whichever the direction.
        if (a.due_at === null || b.due_at === null) return (a.due_at === null ? 1 : 0) - (b.due_at === null ? 1 : 0);
        return sign * (Date.parse(a.due_at) - Date.parse(b.due_at));
      default:
        throw new Error(`no comparator for ${sort}`);
    }
  };
  return (a, b) => key(a, b) || sign * byCodePoint(a.id, b.id);
}

const SORTS = [
  'created_at',
  '-created_at',
  'updated_at',
  '-updated_at',
  'due_at',
  '-due_at',
  'priority',
  '-priority',
  'title',
  '-title',
];

/** Ties on every key (same title, priority or due date) and missing due dates. */
const FIXTURE: TaskCreate[] = [
  { title: 'banana', priority: 'high', due_at: '2030-01-01T00:00:00Z' },
  { title: 'Apple', priority: 'none' },
  { title: 'apple', priority: 'high', due_at: '2030-01-01T00:00:00Z' },
  { title: 'cherry', priority: 'low', due_at: '2029-06-01T00:00:00Z' },
  { title: 'apple', priority: 'medium' },
  { title: 'Date', priority: 'low', due_at: '2031-01-01T00:00:00Z' },
  { title: 'émile', priority: 'medium', due_at: '2029-06-01T00:00:00Z' },
];

/** Created between pages: some sort before the walk's position, some after. */
const NEWCOMERS: TaskCreate[] = [
  { title: 'fig', priority: 'medium', due_at: '2029-12-31T00:00:00Z' },
  { title: 'Apricot', priority: 'high' },
  { title: 'zucchini', priority: 'none', due_at: '2035-01-01T00:00:00Z' },
  { title: 'apple', priority: 'low', due_at: '2030-01-01T00:00:00Z' },
];

describe('listTasks sorts and their keyset pages', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  async function page(path: string): Promise<{ tasks: Task[]; next: string | undefined }> {
    const response = await api.raw(path);
    assert.equal(response.status, 200, `${path} → ${await response.clone().text()}`);
    return {
      tasks: (await response.json()) as Task[],
      next: /<([^>]+)>; rel="next"/.exec(response.headers.get('link') ?? '')?.[1],
    };
  }

  for (const sort of SORTS) {
    test(`sort=${sort}: pages of 2 stay exact while tasks are created and deleted between them`, async () => {
      const userId = newUserId();
      const live: Task[] = [];
      for (const body of FIXTURE) live.push(await api.createTask(userId, body));
      // updated_at differs from created_at for one task, so the two sorts differ.
      const touched = await api.raw(`/api/${userId}/tasks/${live[1]!.id}`, json({}, 'PUT'));
      live[1] = (await touched.json()) as Task;
      const order = comparator(sort);

      const seen: Task[] = [];
      let path: string | undefined = `/api/${userId}/tasks?sort=${sort}&limit=2`;
      for (let step = 0; path; step++) {
        const { tasks, next } = await page(path);
        // Exactly the next tasks after the last one seen, in the list as it is now.
        const last = seen.at(-1);
        const expected = [...live].sort(order).filter((t) => !last || order(t, last) > 0);
        assert.deepEqual(tasks, expected.slice(0, 2), `sort=${sort}, page ${step}`);
        assert.equal(
          next === undefined,
          expected.length <= 2,
          `sort=${sort}, page ${step}: a next link iff more follow`,
        );
        seen.push(...tasks);
        // Between pages: one task that has not been seen yet goes, one new task comes.
        const unseen = expected.slice(2);
        const victim = unseen[step % Math.max(1, unseen.length)];
        if (victim) {
          assert.equal((await api.raw(`/api/${userId}/tasks/${victim.id}`, { method: 'DELETE' })).status, 200);
          live.splice(live.indexOf(victim), 1);
        }
        const newcomer = NEWCOMERS[step];
        if (newcomer) live.push(await api.createTask(userId, newcomer));
        path = next;
        assert.ok(step < 20, 'paging does not end');
      }
      assert.equal(new Set(seen.map((t) => t.id)).size, seen.length, 'no task is seen twice');
    });
  }

  test('the sorts order as documented: due dates missing last both ways, priority by importance, title by code point', async () => {
    const userId = newUserId();
    const tasks: Task[] = [];
    for (const body of FIXTURE) tasks.push(await api.createTask(userId, body));
    const titles = async (sort: string) =>
      (await page(`/api/${userId}/tasks?sort=${sort}`)).tasks.map((t) => `${t.title}/${t.priority}`);
    // Ties within a key are broken by id (creation order here), in the sort's direction.
    assert.deepEqual(await titles('due_at'), [
      'cherry/low',
      'émile/medium',
      'banana/high',
      'apple/high',
      'Date/low',
      'Apple/none',
      'apple/medium',
    ]);
    assert.deepEqual(await titles('-due_at'), [
      'Date/low',
      'apple/high',
      'banana/high',
      'émile/medium',
      'cherry/low',
      'apple/medium',
      'Apple/none',
    ]);
    assert.deepEqual(await titles('-priority'), [
      'apple/high',
      'banana/high',
      'émile/medium',
      'apple/medium',
      'Date/low',
      'cherry/low',
      'Apple/none',
    ]);
    assert.deepEqual(await titles('title'), [
      'Apple/none',
      'Date/low',
      'apple/high',
      'apple/medium',
      'banana/high',
      'cherry/low',
      'émile/medium',
    ]);
    assert.deepEqual((await page(`/api/${userId}/tasks`)).tasks, [...tasks].reverse(), 'the default: newest first');
  });
});
