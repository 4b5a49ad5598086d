// getTaskSummary: the counters a todo screen shows, "today" taken in the client's time zone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { toTimeZone } from '../../src/tasks/task.mapper.ts';
import { json, newUserId, startTestServer, type TestServer } from '../support/server.ts';

type TaskSummary = components['schemas']['TaskSummary'];

const HOUR = 3_600_000;

/** The calendar day of an instant in a zone, by Intl: an account of "today" independent of the database's. */
const dayIn = (instant: Date, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);

describe('getTaskSummary', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  async function summary(userId: string, query = ''): Promise<TaskSummary> {
    const { data, response } = await api.client.GET('/api/{user_id}/tasks/summary', {
      params: { path: { user_id: userId }, query: query ? { tz: query } : {} },
    });
    assert.equal(response.status, 200);
    return data!;
  }

  test('a user without tasks has every counter at zero', async () => {
    assert.deepEqual(await summary(newUserId()), { total: 0, pending: 0, completed: 0, overdue: 0, due_today: 0 });
  });

  test('counts total, pending, completed and overdue; only the user’s own tasks', async () => {
    const userId = newUserId();
    await api.createTask(userId, { title: 'open, no due date' });
    await api.createTask(userId, { title: 'overdue', due_at: '2020-01-01T00:00:00Z' });
    await api.createTask(userId, { title: 'done late', due_at: '2020-01-01T00:00:00Z', completed: true });
    await api.createTask(userId, { title: 'far future', due_at: '2999-01-01T00:00:00Z' });
    await api.createTask(newUserId(), { title: 'someone else’s overdue task', due_at: '2020-01-01T00:00:00Z' });
    assert.deepEqual(await summary(userId), { total: 4, pending: 3, completed: 1, overdue: 1, due_today: 0 });
  });

  test('due_today: the pending tasks due on today’s date in the zone asked for (UTC by default)', async () => {
    const userId = newUserId();
    const now = Date.now();
    // Due times from 13 hours ago to 13 hours ahead: which of them fall "today" depends on the zone.
    const offsets = [-13, -11, -5, -1, 1, 5, 11, 13];
    const due = offsets.map((h) => new Date(now + h * HOUR));
    for (const [i, at] of due.entries())
      await api.createTask(userId, { title: `due ${offsets[i]}h`, due_at: at.toISOString() });
    await api.createTask(userId, { title: 'done today', due_at: new Date(now + HOUR).toISOString(), completed: true });
    for (const zone of [undefined, 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kolkata', 'America/New_York']) {
      const timeZone = zone ?? 'UTC';
      const today = dayIn(new Date(), timeZone);
      assert.deepEqual(
        await summary(userId, zone),
        {
          total: 9,
          pending: 8,
          completed: 1,
          overdue: 4,
          due_today: due.filter((at) => dayIn(at, timeZone) === today).length,
        },
        `tz=${timeZone}`,
      );
    }
  });

  test('a zone is an IANA name in any case; an unknown zone or a numeric offset is a 422 naming tz', async () => {
    const userId = newUserId();
    assert.deepEqual(await summary(userId, 'europe/paris'), await summary(userId, 'Europe/Paris'));
    const raw = await api.raw(`/api/${userId}/tasks/summary?tz=Europe/Paris`);
    assert.equal(raw.status, 200, 'the / of a zone may be sent unencoded');
    for (const tz of ['Mars/Olympus_Mons', 'Nowhere', '%2B01:00', 'UTC%2B1', '']) {
      const response = await api.raw(`/api/${userId}/tasks/summary?tz=${tz}`);
      assert.equal(response.status, 422, `tz=${tz}`);
      const problem = (await response.json()) as { errors: { path: string }[] };
      assert.deepEqual([...new Set(problem.errors.map((e) => e.path))], ['/query/tz'], `tz=${tz}`);
    }
  });

  test('every zone Intl knows, the database knows too (the zone is checked by Intl, applied by the database)', async () => {
    const rows = await api.db.em.getConnection().execute<{ name: string }[]>('select name from pg_timezone_names');
    const known = new Set(rows.map((r) => r.name));
    const missing = Intl.supportedValuesOf('timeZone').filter((zone) => !known.has(toTimeZone(zone)));
    assert.deepEqual(missing, []);
  });

  test('/tasks/summary is not taken for a task id, and task ids still reach getTask', async () => {
    const userId = newUserId();
    const task = await api.createTask(userId, { title: 'a task' });
    assert.equal((await api.raw(`/api/${userId}/tasks/summary`)).status, 200);
    assert.deepEqual(await (await api.raw(`/api/${userId}/tasks/${task.id}`)).json(), task);
    const put = await api.raw(`/api/${userId}/tasks/summary`, json({ title: 'x' }, 'PUT'));
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET');
  });
});
