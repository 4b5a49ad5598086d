import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { MikroORM } from '@mikro-orm/postgresql';
import { migrate } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/orm.ts';
import { migrationsList } from '../src/db/migrations/index.ts';

const allMigrations = migrationsList.map((m) => m.name);

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
      const admin = await MikroORM.init({
        clientUrl: serverUrl!,
        entities: [],
        discovery: { warnWhenNoEntities: false },
      });
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
});
