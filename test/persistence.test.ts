import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newUserId, startTestServer } from './support/server.ts';

test('the embedded database keeps its tasks on disk across a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tasks-api-pglite-'));
  const database = { kind: 'pglite' as const, dataDir: join(dir, 'data') };
  try {
    const userId = newUserId();
    const first = await startTestServer({ database });
    const { data: task } = await first.client.POST('/api/{user_id}/tasks', {
      params: { path: { user_id: userId } },
      body: { title: 'survive' },
    });
    await first.close();

    const second = await startTestServer({ database });
    try {
      const { data } = await second.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
      assert.deepEqual(data, [task]);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
