import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  MikroORM as PostgreSqlMikroORM,
  PostgreSqlConnection,
  type SqlMikroORM,
  type Options,
} from '@mikro-orm/postgresql';
import type { Pool } from 'pg';
import { MikroORM as PgliteMikroORM } from '@mikro-orm/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Migrator } from '@mikro-orm/migrations';
import type { DatabaseConfig } from '../config.ts';
import { TaskSchema } from '../tasks/task.entity.ts';
import { migrationsList } from './migrations/index.ts';
import {
  connectionFailure,
  DatabaseConnectionError,
  pgConnectionOptions,
  type PgConnectionOptions,
} from './connection.ts';

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
    // Requests share the global manager for its connection only; touching its identity map is a bug.
    allowGlobalContext: false,
    // Tables that are not entities, owned by hand-written migrations.
    schemaGenerator: { skipTables: ['rate_limit', 'idempotency_key', 'task_tombstone'] },
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

/**
 * Opens the configured database: a PostgreSQL server, or embedded PGlite kept on disk (or in memory).
 * A PostgreSQL server is connected to before this returns, waiting up to `connectTimeoutSeconds`
 * for one that is not there yet; past that, a DatabaseConnectionError says why in one line.
 */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.kind === 'postgresql') {
    const connection = pgConnectionOptions(config.url, config.libpq);
    const db = await PostgreSqlMikroORM.init({
      ...commonOptions(),
      // MikroORM reads only the database name from here (its clientUrl drops every parameter);
      // pg gets the whole connection string, parsed, as driverOptions (passed to pg's Pool as they
      // are; MikroORM maps only min, max and idleTimeoutMillis from `pool`).
      dbName: connection.database,
      driverOptions: { ...connection, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
      pool: { max: config.poolMax },
      // A database that does not exist is a configuration error to report, not one to create.
      ensureDatabase: false,
    });
    try {
      await waitForServer(db, connection, config.connectTimeoutSeconds ?? 0);
    } catch (err) {
      await db.close(true);
      throw err;
    }
    return db;
  }
  const inMemory = config.dataDir.startsWith('memory://');
  if (!inMemory) await mkdir(dirname(resolve(config.dataDir)), { recursive: true });
  // For PGlite, dbName is where the cluster lives ("memory://" keeps it in memory).
  const db = (await PgliteMikroORM.init({
    ...commonOptions(),
    dbName: inMemory ? 'memory://' : resolve(config.dataDir),
    // The trigram extension the search index needs, as PostgreSQL's contrib ships it.
    driverOptions: { extensions: { pg_trgm } },
  })) as Database;
  // PGlite boots on its first statement (seconds of WebAssembly start-up, far more on a busy machine):
  // booted here, the database is open when start-up says so, and the first probe or request is not
  // the one that pays for it.
  await db.em.getConnection().execute('select 1');
  return db;
}

/**
 * Connects once, retrying failures that waiting can cure (refused, a server starting or waking up,
 * as Neon's does after auto-suspend) until `timeoutSeconds` have passed; others fail at once.
 */
async function waitForServer(db: Database, connection: PgConnectionOptions, timeoutSeconds: number): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const pool = await (db.em.getConnection() as PostgreSqlConnection).getNativeClient();
      await pool.query('select 1');
      return;
    } catch (err) {
      const failure = connectionFailure(err);
      const waited = Date.now() - started;
      if (!failure.transient || waited >= timeoutSeconds * 1000) {
        throw new DatabaseConnectionError(connection, failure, err, Math.round(waited / 1000));
      }
      await sleep(Math.min(250 * 2 ** attempt, 2_000, timeoutSeconds * 1000 - waited));
    }
  }
}

/**
 * The `pg` pool behind MikroORM's PostgreSQL driver (its connection's getNativeClient()), for the
 * pool gauges. Embedded PGlite has none: one in-process connection, nothing to fill up.
 */
export async function connectionPool(db: Database): Promise<Pool | undefined> {
  const connection = db.em.getConnection();
  return connection instanceof PostgreSqlConnection ? connection.getNativeClient() : undefined;
}
