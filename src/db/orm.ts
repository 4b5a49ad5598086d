import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MikroORM as PostgreSqlMikroORM, type SqlMikroORM, type Options } from '@mikro-orm/postgresql';
import { MikroORM as PgliteMikroORM } from '@mikro-orm/pglite';
import { Migrator } from '@mikro-orm/migrations';
import type { DatabaseConfig } from '../config.ts';
import { TaskSchema } from '../tasks/task.entity.ts';
import { migrationsList } from './migrations/index.ts';

export type Database = SqlMikroORM;

/** Where MikroORM records the applied migrations (its default name, pinned: readiness reads it). */
export const MIGRATIONS_TABLE = 'mikro_orm_migrations';

const migrationsPath = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * How long a request waits for a connection (a new one, or a free one from a full pool) before it
 * is answered 503: an unreachable database must not hang requests until the client gives up.
 */
const CONNECT_TIMEOUT_MS = 5_000;

// Shared by both drivers: entities and migrations are listed explicitly (no glob discovery), so the
// same code runs from source, from a bundle, or from a read-only container image.
function commonOptions(): Partial<Options> {
  return {
    entities: [TaskSchema],
    extensions: [Migrator],
    // Handlers run inside RequestContext; touching the global identity map is a bug.
    allowGlobalContext: false,
    // Tables that are not entities, owned by hand-written migrations.
    schemaGenerator: { skipTables: ['rate_limit'] },
    migrations: {
      path: migrationsPath,
      pathTs: migrationsPath,
      migrationsList,
      // The snapshot is written by `npm run migration:create` only; applying migrations never writes files.
      snapshotOnMigrate: false,
      snapshotName: '.snapshot',
      tableName: MIGRATIONS_TABLE,
      silent: true,
    },
  };
}

/** Opens the configured database: a PostgreSQL server, or embedded PGlite kept on disk (or in memory). */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.kind === 'postgresql') {
    return PostgreSqlMikroORM.init({
      ...commonOptions(),
      clientUrl: config.url,
      pool: { max: config.poolMax },
      // Passed to pg's Pool as they are (MikroORM maps only min, max and idleTimeoutMillis from `pool`).
      driverOptions: { connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    });
  }
  const inMemory = config.dataDir.startsWith('memory://');
  if (!inMemory) await mkdir(dirname(resolve(config.dataDir)), { recursive: true });
  // For PGlite, dbName is where the cluster lives ("memory://" keeps it in memory).
  return PgliteMikroORM.init({
    ...commonOptions(),
    dbName: inMemory ? 'memory://' : resolve(config.dataDir),
  }) as Promise<Database>;
}
