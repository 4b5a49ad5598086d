import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PROJECT_ROOT } from '../scripts/bundle-spec.ts';
import { ConfigError, loadConfig, loadDatabaseConfig, type ConfigProblem } from '../src/config.ts';

describe('configuration', () => {
  test('with nothing set, the service runs on the embedded database in .data/pglite on port 8000, with a development secret, for the front end at http://localhost:3000', () => {
    assert.deepEqual(loadConfig({}), {
      port: 8000,
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
      corsOrigins: ['http://localhost:3000'],
      trustProxy: false,
      migrateOnStart: true,
      workers: 1,
      logLevel: 'info',
      validateResponses: true,
      metricsPort: undefined,
      shutdown: { delaySeconds: 5, timeoutSeconds: 15 },
      tombstoneRetentionDays: 30,
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
    assert.deepEqual(config.database, {
      kind: 'postgresql',
      url: 'postgresql://app@db:5432/tasks',
      poolMax: 20,
      connectTimeoutSeconds: 30,
    });
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

  test('browsers may call from http://localhost:3000 by default only in development on the embedded database; CORS_ORIGINS replaces it', () => {
    const origins = (env: Record<string, string>) => loadConfig(env).corsOrigins;
    assert.deepEqual(origins({}), ['http://localhost:3000']);
    assert.deepEqual(origins({ CORS_ORIGINS: 'https://app.example.com' }), ['https://app.example.com']);
    assert.deepEqual(origins({ DATABASE_URL: 'postgresql://app@db:5432/tasks', BETTER_AUTH_SECRET: SECRET }), []);
    assert.deepEqual(
      origins({
        DATABASE_URL: 'postgresql://app@db:5432/tasks',
        BETTER_AUTH_SECRET: SECRET,
        CORS_ORIGINS: 'http://localhost:3000',
      }),
      ['http://localhost:3000'],
    );
    assert.deepEqual(
      origins({ NODE_ENV: 'production', ALLOW_EMBEDDED_DATABASE: 'true', BETTER_AUTH_SECRET: SECRET }),
      [],
    );
  });

  test('metrics get a port of their own; shutdown waits and gives up as configured', () => {
    const config = loadConfig({ METRICS_PORT: '9091', SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_TIMEOUT_SECONDS: '30' });
    assert.deepEqual(
      { metricsPort: config.metricsPort, shutdown: config.shutdown },
      { metricsPort: 9091, shutdown: { delaySeconds: 0, timeoutSeconds: 30 } },
    );
    assert.equal(loadConfig({ METRICS_PORT: '0', PORT: '0' }).metricsPort, 0, 'both may pick a free port');
  });

  /** The problems loadConfig reports for an environment (none: it loads). */
  function problems(env: Record<string, string>, load: (env: Record<string, string>) => unknown = loadConfig) {
    try {
      load(env);
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems;
    }
  }

  test('a bad value is reported with its name, the form expected and the value received', () => {
    const cases: [Record<string, string>, ConfigProblem][] = [
      [{ PORT: 'eighty' }, { variable: 'PORT', expected: 'an integer from 0 to 65535', received: '"eighty"' }],
      [{ PORT: '70000' }, { variable: 'PORT', expected: 'an integer from 0 to 65535', received: '"70000"' }],
      [
        { DATABASE_URL: 'mysql://x/y', BETTER_AUTH_SECRET: SECRET },
        {
          variable: 'DATABASE_URL',
          expected: 'a postgresql:// or postgres:// URL (postgresql://user:password@host:5432/database)',
          received: '"mysql://x/y"',
        },
      ],
      [
        { DATABASE_URL: 'not a url', BETTER_AUTH_SECRET: SECRET },
        {
          variable: 'DATABASE_URL',
          expected: 'a URL (postgresql://user:password@host:5432/database)',
          received: '"not a url"',
        },
      ],
      [
        { DATABASE_URL: 'postgresql://localhost', BETTER_AUTH_SECRET: SECRET },
        {
          variable: 'DATABASE_URL',
          expected: 'a URL that names a database (postgresql://user:password@host:5432/database)',
          received: '"postgresql://localhost"',
        },
      ],
      [
        { DATABASE_URL: 'postgresql://h/db', DB_POOL_MAX: '1', BETTER_AUTH_SECRET: SECRET },
        { variable: 'DB_POOL_MAX', expected: 'an integer from 2 to 1000', received: '"1"' },
      ],
      [
        { DATABASE_URL: 'postgresql://h/db' },
        {
          variable: 'BETTER_AUTH_SECRET or JWKS_URL',
          expected:
            'a way to verify tokens (an HS256 shared secret, or a public key set URL) when DATABASE_URL is set; ' +
            'the development secret is only for the embedded database in development',
          received: undefined,
        },
      ],
      [
        { JWKS_URL: 'ftp://keys' },
        {
          variable: 'JWKS_URL',
          expected: 'a https:// or http:// URL (e.g. https://auth.example.com/api/auth/jwks)',
          received: '"ftp://keys"',
        },
      ],
      [
        { CORS_ORIGINS: 'https://ok.example.com, example.com' },
        {
          variable: 'CORS_ORIGINS',
          expected: 'comma-separated origins like https://app.example.com, or * (not origins: example.com)',
          received: '"https://ok.example.com, example.com"',
        },
      ],
      [
        { LOG_LEVEL: 'loud' },
        {
          variable: 'LOG_LEVEL',
          expected: 'one of fatal, error, warn, info, debug, trace, silent',
          received: '"loud"',
        },
      ],
      [{ MIGRATE_ON_START: 'maybe' }, { variable: 'MIGRATE_ON_START', expected: 'true or false', received: '"maybe"' }],
      [
        { WEB_CONCURRENCY: '2' },
        {
          variable: 'WEB_CONCURRENCY',
          expected: '1 with the embedded database (set DATABASE_URL for more)',
          received: '"2"',
        },
      ],
      [
        { METRICS_PORT: '9091x' },
        { variable: 'METRICS_PORT', expected: 'an integer from 0 to 65535', received: '"9091x"' },
      ],
      [
        { PORT: '8080', METRICS_PORT: '8080' },
        { variable: 'METRICS_PORT', expected: 'a port other than PORT', received: '"8080"' },
      ],
      [
        { SHUTDOWN_DELAY_SECONDS: '10', SHUTDOWN_TIMEOUT_SECONDS: '10' },
        {
          variable: 'SHUTDOWN_TIMEOUT_SECONDS',
          expected: 'more seconds than SHUTDOWN_DELAY_SECONDS (10), or in-flight requests get no time to finish',
          received: '"10"',
        },
      ],
    ];
    for (const [env, problem] of cases) assert.deepEqual(problems(env), [problem], JSON.stringify(env));
  });

  test('every bad variable is reported at once, one line each, secrets and passwords masked', () => {
    const env = {
      PORT: 'eighty',
      DATABASE_URL: 'mysql://app:hunter2-s3cret@db:3306/tasks',
      BETTER_AUTH_SECRET: 'too-short-secret',
      LOG_LEVEL: 'loud',
      TRUST_PROXY: 'yes',
      RATE_LIMIT_PER_USER: '-1',
    };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((p) => p.variable).sort(), Object.keys(env).sort());
    const lines = error.message.split('\n');
    assert.equal(lines.length, 6);
    for (const name of Object.keys(env)) {
      assert.equal(lines.filter((line) => line.startsWith(`${name}: expected `)).length, 1, name);
    }
    assert.ok(lines.includes('PORT: expected an integer from 0 to 65535; got "eighty"'), error.message);
    assert.ok(
      lines.includes(
        'DATABASE_URL: expected a postgresql:// or postgres:// URL (postgresql://user:password@host:5432/database); ' +
          'got "mysql://app:****@db:3306/tasks"',
      ),
      error.message,
    );
    assert.ok(
      lines.includes(
        'BETTER_AUTH_SECRET: expected at least 32 bytes (generate one with: openssl rand -base64 32); ' +
          'got a hidden value of 16 bytes',
      ),
      error.message,
    );
    assert.doesNotMatch(error.message, /hunter2|s3cret|too-short/);
  });

  test('TRUST_PROXY is checked the way Express compiles it', () => {
    const trustProxy = (value: string) => loadConfig({ TRUST_PROXY: value }).trustProxy;
    assert.equal(trustProxy('true'), true);
    assert.equal(trustProxy('FALSE'), false);
    assert.equal(trustProxy('2'), 2);
    assert.equal(trustProxy('loopback, 10.0.0.0/8, fd00::/8'), 'loopback, 10.0.0.0/8, fd00::/8');
    assert.deepEqual(problems({ TRUST_PROXY: 'yes' }), [
      {
        variable: 'TRUST_PROXY',
        expected:
          'true, false, a hop count, or comma-separated addresses, subnets (10.0.0.0/8) and loopback, linklocal, ' +
          'uniquelocal (invalid IP address: yes)',
        received: '"yes"',
      },
    ]);
    assert.match(
      problems({ TRUST_PROXY: '10.0.0.0/33' })[0]?.expected ?? '',
      /invalid range on address: 10\.0\.0\.0\/33/,
    );
  });

  test('under NODE_ENV=production the embedded database is refused unless explicitly allowed', () => {
    assert.deepEqual(problems({ NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET }), [
      {
        variable: 'DATABASE_URL',
        expected:
          'a PostgreSQL URL when NODE_ENV=production (set ALLOW_EMBEDDED_DATABASE=true to run on the embedded database)',
        received: undefined,
      },
    ]);
    const allowed = loadConfig({ NODE_ENV: 'production', BETTER_AUTH_SECRET: SECRET, ALLOW_EMBEDDED_DATABASE: 'true' });
    assert.deepEqual(allowed.database, { kind: 'pglite', dataDir: '.data/pglite' });
    // Allowed or not, production never signs with the development secret.
    assert.deepEqual(
      problems({ NODE_ENV: 'production', ALLOW_EMBEDDED_DATABASE: 'true' }).map((p) => p.variable),
      ['BETTER_AUTH_SECRET or JWKS_URL'],
    );
  });

  test('the database settings load alone, without the auth settings (npm run migrate)', () => {
    assert.deepEqual(loadDatabaseConfig({ DATABASE_URL: 'postgresql://app@db/tasks', BETTER_AUTH_SECRET: 'short' }), {
      kind: 'postgresql',
      url: 'postgresql://app@db/tasks',
      poolMax: 10,
      connectTimeoutSeconds: 30,
    });
    assert.deepEqual(
      problems({ DATABASE_URL: 'postgresql://app:pw@db', DB_POOL_MAX: 'x', PORT: 'x' }, loadDatabaseConfig),
      [
        { variable: 'DB_POOL_MAX', expected: 'an integer from 2 to 1000', received: '"x"' },
        {
          variable: 'DATABASE_URL',
          expected: 'a URL that names a database (postgresql://user:password@host:5432/database)',
          received: '"postgresql://app:****@db"',
        },
      ],
    );
  });

  test('.env.example lists every variable the service reads, each with its default', async () => {
    const example = await readFile(join(PROJECT_ROOT, '.env.example'), 'utf8');
    const listed = new Map([...example.matchAll(/^# ([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const read = new Set<string>();
    const watching = (env: Record<string, string>) =>
      new Proxy(env, {
        get: (target, name) => {
          if (typeof name === 'string') read.add(name);
          return target[name as string];
        },
      });
    loadConfig(watching({}));
    loadConfig(watching({ DATABASE_URL: 'postgresql://app@db/tasks', BETTER_AUTH_SECRET: SECRET }));
    assert.deepEqual(
      [...read].filter((name) => !listed.has(name)),
      [],
      'variables missing from .env.example',
    );
    assert.deepEqual(
      [...listed.keys()].filter((name) => !read.has(name)),
      [],
      'variables nobody reads',
    );
    // Set to the values shown, the configuration is the one with nothing set.
    const shownValues = Object.fromEntries([...listed].filter(([, value]) => value !== ''));
    assert.deepEqual(loadConfig(shownValues), loadConfig({}));
  });

  describe('the commands', () => {
    const run = (script: string, env: Record<string, string | undefined>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--experimental-strip-types', script],
          // A regression that starts the server instead of refusing must fail the test, not hang CI.
          { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
          (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
        );
      });

    test('npm start on the embedded database lets the front end at http://localhost:3000 call it: a preflight for every method passes', async (t) => {
      // As `npm start` runs it, with nothing configured; on a free port and in memory, so it touches nothing here.
      const server = spawn(process.execPath, ['--experimental-strip-types', 'src/server.ts'], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH, PORT: '0', PGLITE_DATA_DIR: 'memory://' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      t.after(() => server.kill('SIGKILL'));
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout.on('data', (chunk: Buffer) => {
          output += String(chunk);
          const listening = /"url":"(http:\/\/[^"]+)".*"msg":"Tasks API listening/.exec(output);
          if (listening) resolve(listening[1]!);
        });
        server.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening:\n${output}`)));
      });
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await fetch(`${url}/api/alice/tasks`, {
          method: 'OPTIONS',
          headers: {
            origin: 'http://localhost:3000',
            'access-control-request-method': method,
            'access-control-request-headers': 'authorization,content-type',
          },
        });
        assert.equal(res.status, 204, method);
        assert.deepEqual(Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-'))), {
          'access-control-allow-origin': 'http://localhost:3000',
          'access-control-allow-methods': 'GET,HEAD,PUT,PATCH,POST,DELETE',
          'access-control-allow-headers':
            'Authorization,Content-Type,Idempotency-Key,If-Match,If-None-Match,X-Request-Id',
          'access-control-expose-headers':
            'ETag,Idempotent-Replayed,Location,Link,RateLimit,RateLimit-Policy,Retry-After,WWW-Authenticate,X-Request-Id',
          'access-control-max-age': '600',
        });
      }
      server.kill('SIGTERM');
      const [code] = (await once(server, 'exit')) as [number | null];
      assert.equal(code, 0, 'SIGTERM stops it cleanly');
    });

    test('the server prints every problem, one per line, and exits 1 without a stack trace', async () => {
      const { code, stdout, stderr } = await run('src/server.ts', {
        PORT: 'eighty',
        TRUST_PROXY: 'yes',
        BETTER_AUTH_SECRET: 'hunter2',
      });
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.equal(
        stderr,
        [
          'Configuration error (3 problems):',
          '  PORT: expected an integer from 0 to 65535; got "eighty"',
          '  BETTER_AUTH_SECRET: expected at least 32 bytes (generate one with: openssl rand -base64 32); got a hidden value of 7 bytes',
          '  TRUST_PROXY: expected true, false, a hop count, or comma-separated addresses, subnets (10.0.0.0/8) and loopback, linklocal, uniquelocal (invalid IP address: yes); got "yes"',
          '',
        ].join('\n'),
      );
    });

    test('npm run migrate needs only the database settings: broken auth settings do not stop it', async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'tasks-migrate-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const database = process.env.DATABASE_URL
        ? { DATABASE_URL: process.env.DATABASE_URL }
        : { PGLITE_DATA_DIR: join(dir, 'pglite') };
      const { code, stdout, stderr } = await run('scripts/migrate.ts', {
        ...database,
        BETTER_AUTH_SECRET: 'short',
        JWKS_URL: 'ftp://not-used-by-migrate',
      });
      assert.equal(stderr, '');
      assert.equal(code, 0);
      assert.match(stdout, /^(Applied: .+|Nothing to apply: the database is up to date\.)\n$/);
    });
  });
});
