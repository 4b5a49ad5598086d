// A write whose connection breaks before its answer arrives: the service cannot tell from the error
// whether the statement committed (a crash, a reset, a pooler's broken server connection; a backend
// terminated while idle can close without a word too). Before running the write again it looks for
// the stamp the write leaves (src/db/availability.ts): a committed write is answered as it
// committed, never applied twice and never answered 503; a lost one runs again, once.
//
// A proxy between the service and its database breaks the connection at that moment
// (test/support/connection-cutter.ts). Directly, over TLS or through PgBouncer, as DATABASE_URL says.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { components } from '../../generated/schema.d.ts';
import { startConnectionCutter, type ConnectionCutter } from '../support/connection-cutter.ts';
import {
  createPostgresDatabase,
  json,
  newUserId,
  startTestServer,
  usingPostgresServer,
  type TestServer,
} from '../support/server.ts';

type Task = components['schemas']['Task'];

describe(
  'a write whose connection breaks before its answer arrives',
  { skip: usingPostgresServer ? false : 'needs a PostgreSQL server (DATABASE_URL) to put a proxy in front of' },
  () => {
    let own: Awaited<ReturnType<typeof createPostgresDatabase>>;
    let cutter: ConnectionCutter;
    let api: TestServer;

    before(async () => {
      own = await createPostgresDatabase(process.env.DATABASE_URL!);
      cutter = await startConnectionCutter(own.database.url);
      // No rate limits: the task's own statement is the one the proxy breaks, not a batch of counts.
      api = await startTestServer(
        { database: { ...own.database, url: cutter.url } },
        { env: { RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' } },
      );
    });

    after(async () => {
      await api.close();
      await cutter.close();
      await own.dispose();
    });

    async function task(userId: string, taskId: string): Promise<Task> {
      const res = await api.raw(`/api/${userId}/tasks/${taskId}`);
      assert.equal(res.status, 200);
      return (await res.json()) as Task;
    }

    async function tasksOf(userId: string): Promise<Task[]> {
      return (await (await api.raw(`/api/${userId}/tasks`)).json()) as Task[];
    }

    /** Sends the request with the connection that carries its write broken as asked. */
    async function withCut(
      when: 'after-commit' | 'before',
      how: 'end' | 'reset',
      path: string,
      init: RequestInit,
    ): Promise<{ status: number; body: unknown }> {
      const cuts = cutter.cuts;
      cutter.cutNext(when, how);
      const res = await api.raw(path, init);
      assert.equal(cutter.cuts, cuts + 1, 'the proxy broke the connection');
      return { status: res.status, body: await res.json() };
    }

    test('a create that committed is answered 201 with its task, and the user has that one task', async () => {
      const userId = newUserId();
      const { status, body } = await withCut(
        'after-commit',
        'end',
        `/api/${userId}/tasks`,
        json({ title: 'Buy milk' }),
      );
      const created = body as Task;
      assert.deepEqual(
        { status, body },
        {
          status: 201,
          body: {
            id: created.id,
            user_id: userId,
            title: 'Buy milk',
            description: null,
            completed: false,
            completed_at: null,
            priority: 'none',
            tags: [],
            due_at: null,
            created_at: created.created_at,
            updated_at: created.updated_at,
            version: 1,
          },
        },
      );
      assert.deepEqual(await tasksOf(userId), [created]);
    });

    test('a toggle that committed is answered 200 and applied once; one lost before it arrived is applied once too', async () => {
      const userId = newUserId();
      const created = await api.createTask(userId, { title: 'Buy milk' });
      const path = `/api/${userId}/tasks/${created.id}/complete`;

      const done = await withCut('after-commit', 'reset', path, { method: 'PATCH' });
      const completed = await task(userId, created.id);
      assert.deepEqual(done, { status: 200, body: completed });
      assert.deepEqual(completed, {
        ...created,
        completed: true,
        completed_at: completed.completed_at,
        updated_at: completed.updated_at,
        version: 2,
      });
      assert.notEqual(completed.completed_at, null);

      const reopened = await withCut('before', 'end', path, { method: 'PATCH' });
      const open = await task(userId, created.id);
      assert.deepEqual(reopened, { status: 200, body: open });
      assert.deepEqual(open, {
        ...completed,
        completed: false,
        completed_at: null,
        updated_at: open.updated_at,
        version: 3,
      });
    });

    test('an update that committed is answered 200 with the task as it left it', async () => {
      const userId = newUserId();
      const created = await api.createTask(userId, { title: 'Buy milk' });
      const renamed = await withCut(
        'after-commit',
        'end',
        `/api/${userId}/tasks/${created.id}`,
        json({ title: 'Buy oat milk' }, 'PUT'),
      );
      const current = await task(userId, created.id);
      assert.deepEqual(renamed, { status: 200, body: current });
      assert.deepEqual(current, { ...created, title: 'Buy oat milk', updated_at: current.updated_at, version: 2 });
    });

    test('a delete that committed is answered 200, not 404 from running it again', async () => {
      const userId = newUserId();
      const created = await api.createTask(userId, { title: 'Buy milk' });
      const deleted = await withCut('after-commit', 'end', `/api/${userId}/tasks/${created.id}`, {
        method: 'DELETE',
      });
      assert.deepEqual(deleted, { status: 200, body: { message: 'Task deleted successfully' } });
      assert.deepEqual(await tasksOf(userId), []);
    });

    test('a create with an Idempotency-Key that committed is answered 201, and the key then replays it', async () => {
      const userId = newUserId();
      const init = (): RequestInit => {
        const request = json({ title: 'Buy milk' });
        return { ...request, headers: { ...(request.headers as Record<string, string>), 'idempotency-key': 'k-1' } };
      };
      const first = await withCut('after-commit', 'end', `/api/${userId}/tasks`, init());
      const [created] = await tasksOf(userId);
      assert.deepEqual(first, { status: 201, body: created });
      const replay = await api.raw(`/api/${userId}/tasks`, init());
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(await replay.json(), created);
      assert.deepEqual(await tasksOf(userId), [created]);
    });
  },
);
