import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('configuration', () => {
  test('with nothing set, the service runs on the embedded database in .data/pglite on port 3000', () => {
    assert.deepEqual(loadConfig({}), {
      port: 3000,
      host: undefined,
      database: { kind: 'pglite', dataDir: '.data/pglite' },
      migrateOnStart: true,
      logLevel: 'info',
      validateResponses: true,
    });
  });

  test('DATABASE_URL selects a PostgreSQL server; production turns response validation off by default', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://app@db:5432/tasks', DB_POOL_MAX: '20', NODE_ENV: 'production', PORT: '8080' });
    assert.deepEqual(config.database, { kind: 'postgresql', url: 'postgresql://app@db:5432/tasks', poolMax: 20 });
    assert.equal(config.validateResponses, false);
    assert.equal(config.port, 8080);
  });

  test('a bad value stops start-up with a message naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /^PORT must be an integer/],
      [{ PORT: '70000' }, /^PORT must be an integer from 0 to 65535/],
      [{ DATABASE_URL: 'mysql://x/y' }, /^DATABASE_URL must use postgresql:\/\//],
      [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL is not a valid URL/],
      [{ DATABASE_URL: 'postgresql://localhost' }, /^DATABASE_URL must name a database/],
      [{ DATABASE_URL: 'postgresql://h/db', DB_POOL_MAX: '1' }, /^DB_POOL_MAX must be an integer from 2/],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
      [{ MIGRATE_ON_START: 'maybe' }, /^MIGRATE_ON_START must be true or false/],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
    }
  });
});
