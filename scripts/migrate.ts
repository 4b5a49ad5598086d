// Applies pending migrations to the configured database (DATABASE_URL_UNPOOLED when set, else
// DATABASE_URL, else the embedded one) and exits. Reads only the database settings: a release step
// need not know the auth secrets. A database it cannot reach is said in one line, exit 1.
import { loadDatabaseConfig, loadOrExit } from '../src/config.ts';
import { DatabaseConnectionError } from '../src/db/connection.ts';
import { migrate, migrationDatabase } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/orm.ts';

const config = loadOrExit(() => loadDatabaseConfig());
let db;
try {
  db = await openDatabase(migrationDatabase(config));
} catch (err) {
  if (!(err instanceof DatabaseConnectionError)) throw err;
  console.error(err.message);
  process.exit(1);
}
try {
  const applied = await migrate(db);
  console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'Nothing to apply: the database is up to date.');
} finally {
  await db.close();
}
