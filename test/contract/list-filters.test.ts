// listTasks' filters and search: each one alone, combined, across pages, and every way to ask
// for something the contract does not offer (a 422 that names the parameter).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { passInstant } from '../support/clock.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

type Task = components['schemas']['Task'];

describe('listTasks filters and search', () => {
  let api: TestServer;
  let userId: string;
  /** The fixture, in creation order: the default sort lists them newest first. */
  let milk: Task, report: Task, callMom: Task, trip: Task, bugs: Task;

  async function list(query: string): Promise<Task[]> {
    const response = await api.raw(`/api/${userId}/tasks?${query}`);
    assert.equal(response.status, 200, `${query} → ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as Task[];
  }

  /** The parameters a 422 names. */
  async function refused(query: string): Promise<string[]> {
    const response = await api.raw(`/api/${userId}/tasks?${query}`);
    assert.equal(response.status, 422, query);
    const problem = (await response.json()) as { errors: { path: string }[] };
    return [...new Set(problem.errors.map((e) => e.path))];
  }

  before(async () => {
    api = await startTestServer();
    userId = newUserId();
    milk = await api.createTask(userId, {
      title: 'Buy milk',
      priority: 'low',
      tags: ['Home', 'errands'],
      due_at: '2020-01-01T09:00:00Z',
    });
    report = await api.createTask(userId, {
      title: 'Write report',
      description: 'Q3 numbers, 100% done_ish',
      priority: 'high',
      tags: ['work', 'Q3'],
      due_at: '2999-01-01T09:00:00Z',
    });
    callMom = await api.createTask(userId, {
      title: 'Call mom',
      description: 'about the MILK',
      priority: 'medium',
      tags: ['home'],
      due_at: '2020-06-01T09:00:00Z',
      completed: true,
    });
    trip = await api.createTask(userId, { title: 'Plan trip', description: 'C:\\trips\\2027' });
    bugs = await api.createTask(userId, {
      title: 'report bugs',
      priority: 'high',
      tags: ['WORK'],
      due_at: '2998-01-01T09:00:00Z',
      completed: true,
    });
  });
  after(() => api.close());

  test('status: pending, completed or all, the values the original frontend sends', async () => {
    assert.deepEqual(await list('status=pending'), [trip, report, milk]);
    assert.deepEqual(await list('status=completed'), [bugs, callMom]);
    assert.deepEqual(await list('status=all'), [bugs, trip, callMom, report, milk]);
  });

  test('completed and status together must agree; when they do not, a 422 names status', async () => {
    assert.deepEqual(await list('completed=true&status=completed'), [bugs, callMom]);
    assert.deepEqual(await list('completed=false&status=pending'), [trip, report, milk]);
    assert.deepEqual(await refused('completed=true&status=pending'), ['/query/status']);
    assert.deepEqual(await refused('completed=false&status=all'), ['/query/status']);
  });

  test('priority: any of the priorities given, repeated in the explode form', async () => {
    assert.deepEqual(await list('priority=high'), [bugs, report]);
    assert.deepEqual(await list('priority=high&priority=low'), [bugs, report, milk]);
    assert.deepEqual(await list('priority=none'), [trip]);
  });

  test('tag: tasks carrying every tag given, without regard to case', async () => {
    assert.deepEqual(await list('tag=work'), [bugs, report]);
    assert.deepEqual(await list('tag=HOME'), [callMom, milk]);
    assert.deepEqual(await list('tag=home&tag=Errands'), [milk]);
    assert.deepEqual(await list('tag=home&tag=work'), []);
  });

  test('due_before and due_after: a half-open window on due_at that leaves out tasks without one', async () => {
    assert.deepEqual(await list('due_before=2021-01-01T00:00:00Z'), [callMom, milk]);
    assert.deepEqual(await list('due_after=2998-01-01T09:00:00Z'), [bugs, report]);
    assert.deepEqual(await list('due_after=2020-06-01T11:00:00%2B02:00&due_before=2999-01-01T09:00:00Z'), [
      bugs,
      callMom,
    ]);
    // Sorted by due date, the window also bounds the index scan: the same tasks, in due order.
    const window = 'due_after=2020-01-01T09:00:00Z&due_before=2998-01-01T09:00:01Z';
    assert.deepEqual(await list(`${window}&sort=due_at`), [milk, callMom, bugs]);
    assert.deepEqual(await list(`${window}&sort=-due_at`), [bugs, callMom, milk]);
  });

  test('overdue: due before now and not completed, or everything else', async () => {
    assert.deepEqual(await list('overdue=true'), [milk]);
    assert.deepEqual(await list('overdue=false'), [bugs, trip, callMom, report]);
  });

  test('q: a case-insensitive search in title and description, where % _ and \\ are plain characters', async () => {
    assert.deepEqual(await list('q=milk'), [callMom, milk]);
    assert.deepEqual(await list('q=REPORT'), [bugs, report]);
    assert.deepEqual(await list('q=100%25'), [report]);
    assert.deepEqual(await list('q=_'), [report]);
    assert.deepEqual(await list('q=%25%25'), []);
    assert.deepEqual(await list('q=c%3A%5Ctrips'), [trip]);
    assert.deepEqual(await list('q=nothing like this'), []);
  });

  test('a tag with reserved characters, sent as URLSearchParams writes it, filters, and so does its Link', async () => {
    const starred = await api.createTask(userId, { title: 'Starred', tags: ['*urgent*', 'a/b'] });
    const starredToo = await api.createTask(userId, { title: 'Starred too', tags: ['a/b', '*Urgent*'] });
    const sent = new URLSearchParams([
      ['tag', '*URGENT*'],
      ['tag', 'a/b'],
      ['sort', 'title'],
      ['limit', '1'],
    ]);
    const first = await api.raw(`/api/${userId}/tasks?${sent.toString()}`);
    assert.deepEqual(await first.json(), [starred]);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1] ?? '';
    assert.ok(next.includes('tag=*URGENT*'), next);
    assert.deepEqual(await (await api.raw(next)).json(), [starredToo]);
    assert.deepEqual(await list('tag=*urgent*&tag=A/B'), [starredToo, starred]);
    for (const task of [starred, starredToo])
      assert.equal((await api.raw(`/api/${userId}/tasks/${task.id}`, { method: 'DELETE' })).status, 200);
  });

  test('updated_since: what was created or changed after the instant, oldest change first, paged; another sort is a 422', async () => {
    const syncer = newUserId('sync');
    const make = async (title: string) => {
      const response = await api.raw(`/api/${syncer}/tasks`, json({ title }));
      const task = (await response.json()) as Task;
      await passInstant(task.updated_at); // each change at an instant of its own
      return task;
    };
    const a = await make('a');
    const b = await make('b');
    const c = await make('c');
    const renamed = (await (
      await api.raw(`/api/${syncer}/tasks/${a.id}`, json({ title: 'a2' }, 'PUT'))
    ).json()) as Task;
    const since = (iso: string, more = '') => api.raw(`/api/${syncer}/tasks?updated_since=${iso}${more}`);
    assert.deepEqual(await (await since(b.updated_at)).json(), [c, renamed]);
    assert.deepEqual(await (await since(a.updated_at)).json(), [b, c, renamed]);
    assert.deepEqual(await (await since(renamed.updated_at)).json(), []);
    const first = await since(a.updated_at, '&limit=2&sort=updated_at');
    assert.deepEqual(await first.json(), [b, c]);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1] ?? '';
    assert.deepEqual(await (await api.raw(next)).json(), [renamed]);
    const refused = await since(a.updated_at, '&sort=-updated_at');
    assert.equal(refused.status, 422);
    assert.deepEqual(
      ((await refused.json()) as { errors: { path: string }[] }).errors.map((e) => e.path),
      ['/query/updated_since'],
    );
  });

  test('filters combine (all must hold) and carry across pages through the Link header', async () => {
    assert.deepEqual(await list('status=pending&priority=high&priority=low&q=r'), [report]);
    const first = await api.raw(`/api/${userId}/tasks?status=all&tag=work&limit=1`);
    assert.deepEqual(await first.json(), [bugs]);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1] ?? '';
    assert.ok(next.includes('tag=work'), next);
    const second = await api.raw(next);
    assert.deepEqual(await second.json(), [report]);
    assert.equal(second.headers.get('link'), null);
  });

  test('a cursor sent with other filters or another sort is a 422 naming cursor; another page size is fine', async () => {
    const first = await api.raw(`/api/${userId}/tasks?tag=work&limit=1`);
    const cursor = new URL(/<([^>]+)>/.exec(first.headers.get('link') ?? '')![1]!, 'http://x').searchParams.get(
      'cursor',
    )!;
    for (const other of ['tag=home', 'tag=work&status=pending', 'tag=work&sort=title', '']) {
      assert.deepEqual(await refused(`${other}&limit=1&cursor=${cursor}`), ['/query/cursor'], other);
    }
    // The same query, spelled differently: another case, the default sort named, another page size.
    assert.deepEqual(await list(`tag=WORK&sort=-created_at&limit=5&cursor=${cursor}`), [report]);
  });

  test('an unknown parameter or value is a 422 naming it', async () => {
    assert.deepEqual(await refused('colour=red'), ['/query/colour']);
    assert.deepEqual(await refused('status=done'), ['/query/status']);
    assert.deepEqual(await refused('priority=urgent'), ['/query/priority/0']);
    assert.deepEqual(await refused('priority=low&priority=urgent'), ['/query/priority/1']);
    assert.deepEqual(await refused('priority=high,low'), ['/query/priority']);
    assert.deepEqual(await refused('tag=has%20space'), ['/query/tag/0']);
    assert.deepEqual(await refused('due_before=tomorrow'), ['/query/due_before']);
    assert.deepEqual(await refused('due_after=2026-02-30T00:00:00Z'), ['/query/due_after']);
    assert.deepEqual(await refused('overdue=yes'), ['/query/overdue']);
    assert.deepEqual(await refused('q='), ['/query/q']);
    assert.deepEqual(await refused(`q=${'x'.repeat(101)}`), ['/query/q']);
    assert.deepEqual(await refused('sort=due'), ['/query/sort']);
    assert.deepEqual(await refused(`${Array.from({ length: 21 }, (_, i) => `tag=t${i}`).join('&')}`), ['/query/tag']);
  });
});
