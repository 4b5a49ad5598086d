// Applies pending migrations to the configured database (DATABASE_URL, or the embedded one) and exits.
// Reads only the database settings: a release step need not know the auth secrets.
import { loadDatabaseConfig, loadOrExit } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/orm.ts';

const db = await openDatabase(loadOrExit(() => loadDatabaseConfig()));
try {
  const applied = await migrate(db);
  console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'Nothing to apply: the database is up to date.');
} finally {
  await db.close();
}
