// Writes a migration for the difference between the entities and the last snapshot, into
// src/db/migrations. Runs against a throw-away in-memory database, so it needs no server.
// Usage: npm run migration:create -- <name>
import { openDatabase } from '../src/db/orm.ts';
import { migrate } from '../src/db/migrate.ts';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run migration:create -- <snake_case_name>');
  process.exit(2);
}

const db = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
try {
  await migrate(db);
  const result = await db.migrator.create(undefined, false, false, name);
  if (!result.fileName) {
    console.log('The entities match the migrations; nothing to create.');
  } else {
    const className = result.fileName.replace(/\.ts$/, '');
    console.log(`Created src/db/migrations/${result.fileName}.`);
    console.log(`Add it to src/db/migrations/index.ts:  { name: '${className}', class: ${className} }`);
  }
} finally {
  await db.close();
}
