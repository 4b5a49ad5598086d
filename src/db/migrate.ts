import { PgliteConnection } from '@mikro-orm/pglite';
import type { Database } from './orm.ts';

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
