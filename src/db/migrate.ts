import { PgliteConnection } from '@mikro-orm/pglite';
import type { DatabaseConfig } from '../config.ts';
import { MIGRATIONS_TABLE, openDatabase, type Database } from './orm.ts';
import { migrationsList } from './migrations/index.ts';

// Any fixed number shared by every instance of this service; it names the lock, nothing more.
const MIGRATION_LOCK_KEY = 7_345_901_224;

/**
 * Applies pending migrations, all or nothing, and returns the names of those applied.
 *
 * On a PostgreSQL server several instances may start at once, so the run happens while one
 * pooled connection holds a transaction-scoped advisory lock; whoever waits finds nothing left to
 * do. (The migrator works on its own connections, hence DB_POOL_MAX >= 2.) Embedded PGlite
 * belongs to a single process and has a single connection, so there is nobody to wait for.
 */
export async function migrate(db: Database): Promise<string[]> {
  const up = async () => (await db.migrator.up()).map((m) => m.name);
  if (db.em.getConnection() instanceof PgliteConnection) return up();
  return db.em.fork().transactional(async (em) => {
    await em.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    return up();
  });
}

/**
 * Where migrations run: over the direct connection when there is one (DATABASE_URL_UNPOOLED). A
 * pooler in transaction mode (Neon's pooled endpoint) runs our transaction-scoped lock fine, but
 * DDL and long migrations belong on a connection of their own, as Neon advises.
 */
export function migrationDatabase(config: DatabaseConfig): DatabaseConfig {
  if (config.kind !== 'postgresql' || config.unpooledUrl === undefined) return config;
  return { ...config, url: config.unpooledUrl, poolMax: 2 };
}

/** Migrates the service's database `db`, opened from `config`, over migrationDatabase(config). */
export async function migrateConfigured(db: Database, config: DatabaseConfig): Promise<string[]> {
  const target = migrationDatabase(config);
  if (target === config) return migrate(db);
  const direct = await openDatabase(target);
  try {
    return await migrate(direct);
  } finally {
    await direct.close();
  }
}

const LATEST_MIGRATION = migrationsList.at(-1)!.name;

/**
 * Whether the newest migration this code ships is applied: one indexed lookup. An instance whose
 * schema is behind (MIGRATE_ON_START=false before the release step ran) must not get traffic.
 */
export async function isSchemaCurrent(db: Database): Promise<boolean> {
  try {
    const rows = await db.em
      .getConnection()
      .execute<{ applied: boolean }[]>(
        `select exists (select 1 from "${MIGRATIONS_TABLE}" where name = ?) as applied`,
        [LATEST_MIGRATION],
      );
    return rows[0]?.applied === true;
  } catch (err) {
    // A database never migrated has no such table yet (SQLSTATE 42P01, undefined_table): behind, not broken.
    if ((err as { code?: unknown }).code === '42P01') return false;
    throw err;
  }
}
