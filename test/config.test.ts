import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('configuration', () => {
  test('with nothing set, the service runs on the embedded database in .data/pglite on port 3000, with a development secret', () => {
    assert.deepEqual(loadConfig({}), {
      port: 3000,
      host: undefined,
      database: { kind: 'pglite', dataDir: '.data/pglite' },
      auth: {
        secret: undefined,
        jwksUrl: undefined,
        issuer: undefined,
        audience: undefined,
        clockSkewSeconds: 10,
        jwksCooldownSeconds: 30,
        developmentSecret: true,
      },
      rateLimit: { windowSeconds: 60, perUser: 300, perIp: 60 },
      corsOrigins: [],
      trustProxy: false,
      migrateOnStart: true,
      logLevel: 'info',
      validateResponses: true,
    });
  });

  const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

  test('DATABASE_URL selects a PostgreSQL server; production turns response validation off by default', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://app@db:5432/tasks',
      BETTER_AUTH_SECRET: SECRET,
      DB_POOL_MAX: '20',
      NODE_ENV: 'production',
      PORT: '8080',
    });
    assert.deepEqual(config.database, { kind: 'postgresql', url: 'postgresql://app@db:5432/tasks', poolMax: 20 });
    assert.equal(config.validateResponses, false);
    assert.equal(config.port, 8080);
  });

  test('auth, rate limits, CORS and proxy settings are read as documented', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://app@db:5432/tasks',
      JWKS_URL: 'https://auth.example.com/api/auth/jwks',
      JWT_ISSUER: 'https://auth.example.com',
      JWT_AUDIENCE: 'tasks-api',
      JWT_CLOCK_SKEW_SECONDS: '5',
      RATE_LIMIT_PER_USER: '100',
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_WINDOW_SECONDS: '10',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      TRUST_PROXY: '1',
    });
    assert.equal(config.auth.jwksUrl?.href, 'https://auth.example.com/api/auth/jwks');
    assert.deepEqual(
      { ...config.auth, jwksUrl: undefined },
      {
        secret: undefined,
        jwksUrl: undefined,
        issuer: 'https://auth.example.com',
        audience: 'tasks-api',
        clockSkewSeconds: 5,
        jwksCooldownSeconds: 30,
        developmentSecret: false,
      },
    );
    assert.deepEqual(config.rateLimit, { windowSeconds: 10, perUser: 100, perIp: 0 });
    assert.deepEqual(config.corsOrigins, ['https://app.example.com', 'http://localhost:5173']);
    assert.equal(config.trustProxy, 1);
  });

  test('a bad value stops start-up with a message naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /^PORT must be an integer/],
      [{ PORT: '70000' }, /^PORT must be an integer from 0 to 65535/],
      [{ DATABASE_URL: 'mysql://x/y' }, /^DATABASE_URL must use postgresql:\/\//],
      [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL is not a valid URL/],
      [{ DATABASE_URL: 'postgresql://localhost' }, /^DATABASE_URL must name a database/],
      [{ DATABASE_URL: 'postgresql://h/db', DB_POOL_MAX: '1' }, /^DB_POOL_MAX must be an integer from 2/],
      [{ DATABASE_URL: 'postgresql://h/db' }, /^Set BETTER_AUTH_SECRET \(HS256 shared secret\) or JWKS_URL/],
      [{ BETTER_AUTH_SECRET: 'short' }, /^BETTER_AUTH_SECRET must be at least 32 bytes/],
      [{ JWKS_URL: 'ftp://keys' }, /^JWKS_URL must be an http\(s\) URL/],
      [{ CORS_ORIGINS: 'example.com' }, /^CORS_ORIGINS must list origins/],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
      [{ MIGRATE_ON_START: 'maybe' }, /^MIGRATE_ON_START must be true or false/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        JSON.stringify(env),
      );
    }
  });
});
