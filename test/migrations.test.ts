import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { DatabaseConfig } from '../src/config.ts';
import { isSchemaCurrent, migrate } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/orm.ts';
import { migrationsList } from '../src/db/migrations/index.ts';
import { PROJECT_ROOT } from '../scripts/bundle-spec.ts';
import { newUserId, startTestServer } from './support/server.ts';

const allMigrations = migrationsList.map((m) => m.name);

/** The newest migration of the release before tasks had priorities, tags and due dates. */
const BEFORE_RICHER_TASKS = 'Migration20261125140000_rate_limit';

/**
 * A database of its own that survives being closed and reopened: a throw-away database on the
 * PostgreSQL server when DATABASE_URL is set, else a PGlite folder in a temporary directory.
 */
async function freshDatabase(): Promise<{ database: DatabaseConfig; drop(): Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'tasks-migrate-'));
    return {
      database: { kind: 'pglite', dataDir: join(dir, 'pglite') },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const name = `tasks_migrate_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = await openDatabase({ kind: 'postgresql', url: serverUrl, poolMax: 2 });
  await admin.em.getConnection().execute(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    database: { kind: 'postgresql', url: url.toString(), poolMax: 2 },
    drop: async () => {
      await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
      await admin.close();
    },
  };
}

describe('migrations', () => {
  test('the committed migrations build exactly the schema the entities describe', async () => {
    const db = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
    try {
      assert.deepEqual(await migrate(db), allMigrations);
      assert.equal(
        (await db.schema.getUpdateSchemaSQL({ wrap: false })).trim(),
        '',
        'an entity change needs `npm run migration:create`',
      );
      assert.deepEqual(await migrate(db), [], 'a second run finds nothing to do');
    } finally {
      await db.close();
    }
  });

  const serverUrl = process.env.DATABASE_URL;
  test(
    'three instances starting at once on a fresh PostgreSQL database apply each migration exactly once',
    { skip: serverUrl ? false : 'needs DATABASE_URL (a PostgreSQL server)' },
    async () => {
      const url = new URL(serverUrl!);
      const name = `tasks_migrate_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const admin = await openDatabase({ kind: 'postgresql', url: serverUrl!, poolMax: 2 });
      await admin.em.getConnection().execute(`create database "${name}"`);
      try {
        url.pathname = `/${name}`;
        const instances = await Promise.all(
          [1, 2, 3].map(() => openDatabase({ kind: 'postgresql', url: url.toString(), poolMax: 2 })),
        );
        try {
          const applied = await Promise.all(instances.map((db) => migrate(db)));
          assert.deepEqual(applied.flat().sort(), [...allMigrations].sort());
        } finally {
          await Promise.all(instances.map((db) => db.close()));
        }
      } finally {
        await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
        await admin.close();
      }
    },
  );

  test('tasks written by the release before richer tasks migrate with every row intact, and read back whole', async () => {
    const fresh = await freshDatabase();
    const { database } = fresh;
    const userId = newUserId('legacy');
    try {
      // The previous release's schema, filled as that release wrote it.
      const old = await openDatabase(database);
      try {
        await old.migrator.up({ to: BEFORE_RICHER_TASKS });
        await old.em.getConnection().execute(
          `insert into task (id, user_id, title, description, completed, created_at, updated_at) values
            ('0193a5c4-7d2e-7b11-9f3c-2a4b6c8d0e1f', ?, 'Buy milk', null, false, '2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z'),
            ('0193a5c5-1a2b-7c3d-8e4f-5a6b7c8d9e0f', ?, 'Write the report', 'Q3 numbers', true, '2026-11-21T09:30:00.000Z', '2026-11-22T17:45:12.345Z')`,
          [userId, userId],
        );
      } finally {
        await old.close();
      }

      // This release starts on it: the remaining migrations run, and the API reads the old rows.
      const api = await startTestServer({ database });
      try {
        const { data } = await api.client.GET('/api/{user_id}/tasks', { params: { path: { user_id: userId } } });
        assert.deepEqual(data, [
          {
            id: '0193a5c5-1a2b-7c3d-8e4f-5a6b7c8d9e0f',
            user_id: userId,
            title: 'Write the report',
            description: 'Q3 numbers',
            completed: true,
            priority: 'none',
            tags: [],
            due_at: null,
            // Completed before completion times were kept: its last change is the best the data knows.
            completed_at: '2026-11-22T17:45:12.345Z',
            created_at: '2026-11-21T09:30:00.000Z',
            updated_at: '2026-11-22T17:45:12.345Z',
            // Rows from before versions start at 1, as a new task does.
            version: 1,
          },
          {
            id: '0193a5c4-7d2e-7b11-9f3c-2a4b6c8d0e1f',
            user_id: userId,
            title: 'Buy milk',
            description: null,
            completed: false,
            priority: 'none',
            tags: [],
            due_at: null,
            completed_at: null,
            created_at: '2026-11-20T10:00:00.000Z',
            updated_at: '2026-11-20T10:00:00.000Z',
            version: 1,
          },
        ]);
      } finally {
        await api.close();
      }
    } finally {
      await fresh.drop();
    }
  });

  test(
    'npm run migrate applies every migration to a fresh database, then has nothing to apply',
    { timeout: 120_000 },
    async () => {
      const fresh = await freshDatabase();
      const { database } = fresh;
      // Every database setting given (empty = unset), so a developer's .env, which npm run migrate
      // reads and the environment overrides, cannot point it anywhere else.
      const env = {
        PATH: process.env.PATH,
        DATABASE_URL: database.kind === 'postgresql' ? database.url : '',
        DATABASE_URL_UNPOOLED: '',
        PGLITE_DATA_DIR: database.kind === 'pglite' ? database.dataDir : '',
        // The CA of a TLS-only test server (CI's TLS pass), as an operator would export it.
        ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
      };
      const npmRunMigrate = () =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(
            'npm',
            ['run', '-s', 'migrate'],
            { cwd: PROJECT_ROOT, env, timeout: 60_000 },
            (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
          );
        });
      try {
        assert.deepEqual(await npmRunMigrate(), {
          code: 0,
          stdout: `Applied: ${allMigrations.join(', ')}\n`,
          stderr: '',
        });
        const db = await openDatabase(database);
        try {
          assert.equal(await isSchemaCurrent(db), true, 'the schema is the one this version needs');
        } finally {
          await db.close();
        }
        assert.deepEqual(await npmRunMigrate(), {
          code: 0,
          stdout: 'Nothing to apply: the database is up to date.\n',
          stderr: '',
        });
      } finally {
        await fresh.drop();
      }
    },
  );
});
