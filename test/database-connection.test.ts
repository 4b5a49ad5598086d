// Reaching PostgreSQL where users run it: the connection string used whole (TLS settings included),
// the libpq variables, a TLS-only server with password authentication (as Neon is), migrations over
// a direct URL beside a pooled one, and start-up failures said in one line.
//
// Tests that need the TLS-only database run when TLS_DATABASE_URL and TLS_DATABASE_CA are set
// (.ci/tls-postgres.sh makes that database and prints both; .ci/run sets them).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { PROJECT_ROOT } from '../scripts/bundle-spec.ts';
import { loadDatabaseConfig } from '../src/config.ts';
import { ConnectionStringError, pgConnectionOptions } from '../src/db/connection.ts';
import { MIGRATIONS_TABLE, openDatabase } from '../src/db/orm.ts';
import { newUserId, startTestServer } from './support/server.ts';

const NEON_POOLED =
  'postgresql://neon_user:p%40ss%2Fw0rd@ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const serverUrl = process.env.DATABASE_URL;
const tlsUrl = process.env.TLS_DATABASE_URL;
const tlsCa = process.env.TLS_DATABASE_CA;
const needsServer = serverUrl ? false : 'needs DATABASE_URL (a PostgreSQL server)';
const needsTls = tlsUrl && tlsCa ? false : 'needs TLS_DATABASE_URL and TLS_DATABASE_CA (made by .ci/tls-postgres.sh)';

/** The TLS database's URL with other parameters (and credentials) in place of its own. */
function tlsVariant(params: Record<string, string>, password?: string): string {
  const url = new URL(tlsUrl!);
  url.search = new URLSearchParams(params).toString();
  if (password !== undefined) url.password = password;
  return url.toString();
}

/** Runs a script as `npm start` / `npm run migrate` would, with only the environment given (and PATH). */
function run(script: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--experimental-strip-types', script],
      { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
    );
  });
}

/** Starts the server, expecting it to give up: its exit code and the messages of its log lines. */
async function failedStart(env: Record<string, string>) {
  const { code, stdout, stderr } = await run('src/server.ts', { BETTER_AUTH_SECRET: SECRET, PORT: '0', ...env });
  const lines = stdout.split('\n').filter(Boolean);
  return { code, stderr, lines, messages: lines.map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

/** A TCP port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('connection strings', () => {
  test("a Neon URL as its console prints it: every part reaches pg, TLS verified as pg's 'require' means", () => {
    assert.deepEqual(pgConnectionOptions(NEON_POOLED), {
      host: 'ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech',
      port: 5432,
      user: 'neon_user',
      password: 'p@ss/w0rd',
      database: 'neondb',
      ssl: {},
      sslmode: 'verify-full',
      channel_binding: 'require',
      enableChannelBinding: true,
    });
  });

  test('each sslmode as pg gives it meaning', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'tasks-ca-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ca = join(dir, 'ca.crt');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
    const ssl = (query: string) => pgConnectionOptions(`postgresql://app@db/tasks?${query}`).ssl;
    assert.equal(ssl(''), false);
    assert.equal(ssl('sslmode=disable'), false);
    // pg 8 verifies the certificate and the host name for all of these (libpq's verify-full).
    for (const mode of ['prefer', 'require', 'verify-ca', 'verify-full']) assert.deepEqual(ssl(`sslmode=${mode}`), {});
    assert.deepEqual(ssl('sslmode=no-verify'), { rejectUnauthorized: false });
    assert.deepEqual(ssl('sslmode=require&uselibpqcompat=true'), { rejectUnauthorized: false });
    assert.deepEqual(ssl(`sslmode=verify-full&sslrootcert=${ca}`), {
      ca: '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n',
    });
    // libpq's "the system's CAs": Node's trust store, which verification uses anyway.
    assert.deepEqual(ssl('sslrootcert=system'), {});
  });

  test('application_name and options reach pg; channel_binding=disable turns channel binding off', () => {
    const options = pgConnectionOptions(
      'postgresql://app@db:6543/tasks?application_name=tasks-api&options=-c%20statement_timeout%3D5s&channel_binding=disable',
    );
    assert.equal(options.application_name, 'tasks-api');
    assert.equal(options.options, '-c statement_timeout=5s');
    assert.equal(options.port, 6543);
    assert.equal(options.enableChannelBinding, false);
  });

  test('the libpq variables fill what the URL leaves unsaid, and never override what it says', () => {
    const env = {
      PGHOST: 'env-host',
      PGPORT: '6432',
      PGUSER: 'env_user',
      PGPASSWORD: 'env-password',
      PGDATABASE: 'env_db',
      PGSSLMODE: 'no-verify',
      PGAPPNAME: 'env-app',
    };
    const silent = pgConnectionOptions('postgresql://', env);
    assert.deepEqual(
      [silent.host, silent.port, silent.user, silent.password, silent.database, silent.ssl, silent.application_name],
      ['env-host', 6432, 'env_user', 'env-password', 'env_db', { rejectUnauthorized: false }, 'env-app'],
    );
    const spoken = pgConnectionOptions(
      'postgresql://app:pw@db:5433/tasks?sslmode=disable&application_name=url-app',
      env,
    );
    assert.deepEqual(
      [spoken.host, spoken.port, spoken.user, spoken.password, spoken.database, spoken.ssl, spoken.application_name],
      ['db', 5433, 'app', 'pw', 'tasks', false, 'url-app'],
    );
  });

  test('a connection string pg cannot use is a configuration error naming what is wrong, not the password', () => {
    assert.throws(() => pgConnectionOptions('postgresql://app@db/tasks?sslmode=required'), ConnectionStringError);
    assert.throws(
      () =>
        loadDatabaseConfig({
          DATABASE_URL: 'postgresql://app:hunter2@db/tasks?sslmode=required&sslrootcert=/nonexistent/ca.crt',
          DATABASE_URL_UNPOOLED: 'postgresql://app:hunter2@db/tasks?channel_binding=always',
        }),
      {
        message:
          'DATABASE_URL: expected a connection string pg can use: sslmode must be one of disable, prefer, require, verify-ca, verify-full, no-verify (got "required"); ' +
          'got "postgresql://app:****@db/tasks?sslmode=required&sslrootcert=/nonexistent/ca.crt"\n' +
          'DATABASE_URL_UNPOOLED: expected a connection string pg can use: channel_binding must be one of disable, prefer, require (got "always"); ' +
          'got "postgresql://app:****@db/tasks?channel_binding=always"',
      },
    );
    assert.throws(
      () => loadDatabaseConfig({ DATABASE_URL: 'postgresql://app@db/tasks?sslrootcert=/nonexistent/ca.crt' }),
      {
        message:
          "DATABASE_URL: expected a connection string pg can use: ENOENT: no such file or directory, open '/nonexistent/ca.crt'; " +
          'got "postgresql://app@db/tasks?sslrootcert=/nonexistent/ca.crt"',
      },
    );
  });

  test('DATABASE_URL_UNPOOLED, DB_CONNECT_TIMEOUT_SECONDS and the libpq variables are part of the database settings', () => {
    assert.deepEqual(
      loadDatabaseConfig({
        DATABASE_URL: NEON_POOLED,
        DATABASE_URL_UNPOOLED: NEON_POOLED.replace('-pooler', ''),
        DB_CONNECT_TIMEOUT_SECONDS: '60',
        PGAPPNAME: 'tasks-api',
      }),
      {
        kind: 'postgresql',
        url: NEON_POOLED,
        unpooledUrl: NEON_POOLED.replace('-pooler', ''),
        poolMax: 10,
        connectTimeoutSeconds: 60,
        libpq: { PGAPPNAME: 'tasks-api' },
      },
    );
    assert.throws(() => loadDatabaseConfig({ DATABASE_URL_UNPOOLED: NEON_POOLED.replace('-pooler', '') }), {
      message:
        'DATABASE_URL: expected a PostgreSQL URL too when DATABASE_URL_UNPOOLED is set (the service uses DATABASE_URL); got nothing (unset)',
    });
  });
});

describe('migrations with DATABASE_URL_UNPOOLED', () => {
  test('run over the direct URL; the service serves over the pooled one', { skip: needsServer }, async () => {
    const admin = await openDatabase({ kind: 'postgresql', url: serverUrl!, poolMax: 2 });
    const names = [1, 2].map(() => `tasks_unpooled_${randomUUID().replaceAll('-', '').slice(0, 12)}`);
    const urls = names.map((name) => Object.assign(new URL(serverUrl!), { pathname: `/${name}` }).toString());
    try {
      for (const name of names) await admin.em.getConnection().execute(`create database "${name}"`);
      // Two databases stand in for the two routes to one, so the test can see which one migrated.
      const [pooled, direct] = urls;
      const api = await startTestServer({
        database: { kind: 'postgresql', url: pooled!, unpooledUrl: direct!, poolMax: 2 },
      });
      await api.close();
      const migrated = async (url: string) => {
        const db = await openDatabase({ kind: 'postgresql', url, poolMax: 2 });
        try {
          const [row] = await db.em
            .getConnection()
            .execute<{ exists: boolean }[]>(`select to_regclass('${MIGRATIONS_TABLE}') is not null as exists`);
          return row!.exists;
        } finally {
          await db.close();
        }
      };
      assert.deepEqual([await migrated(pooled!), await migrated(direct!)], [false, true]);
    } finally {
      for (const name of names)
        await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
      await admin.close();
    }
  });
});

describe('start-up when the database cannot be reached: one line naming where and why, exit 1', () => {
  test('refused: retried for DB_CONNECT_TIMEOUT_SECONDS, then given up', async () => {
    const port = await closedPort();
    const started = Date.now();
    const { code, stderr, messages } = await failedStart({
      DATABASE_URL: `postgresql://app:secret-pw@127.0.0.1:${port}/tasks`,
      DB_CONNECT_TIMEOUT_SECONDS: '2',
    });
    assert.ok(Date.now() - started >= 2_000, 'it waited for the server to come');
    assert.deepEqual(
      { code, stderr, messages },
      {
        code: 1,
        stderr: '',
        messages: [
          `Cannot connect to PostgreSQL at 127.0.0.1:${port}, database "tasks", user "app": connection refused (is the server running, and on this port?) (still failing after 2 s)`,
        ],
      },
    );
  });

  test('LOG_LEVEL=debug adds the stack of the underlying error to that line', async () => {
    const port = await closedPort();
    const { code, lines } = await failedStart({
      DATABASE_URL: `postgresql://app@127.0.0.1:${port}/tasks`,
      DB_CONNECT_TIMEOUT_SECONDS: '0',
      LOG_LEVEL: 'debug',
    });
    assert.equal(code, 1);
    const last = JSON.parse(lines.at(-1)!) as { err: { code: string; stack: string } };
    assert.equal(last.err.code, 'ECONNREFUSED');
    assert.match(last.err.stack, /ECONNREFUSED/);
  });

  test('an unknown database is reported at once, not created', { skip: needsServer }, async () => {
    const url = new URL(serverUrl!);
    url.pathname = '/tasks_no_such_database';
    const ca = process.env.NODE_EXTRA_CA_CERTS; // for a run over TLS
    const { code, stderr, messages } = await failedStart({
      DATABASE_URL: url.toString(),
      ...(ca ? { NODE_EXTRA_CA_CERTS: ca } : {}),
    });
    assert.deepEqual(
      { code, stderr, messages },
      {
        code: 1,
        stderr: '',
        messages: [
          `Cannot connect to PostgreSQL at ${url.hostname}:${url.port || 5432}, database "tasks_no_such_database", user "${decodeURIComponent(url.username) || 'postgres'}": the database does not exist`,
        ],
      },
    );
  });

  const target = () => {
    const url = new URL(tlsUrl!);
    return `${url.hostname}:${url.port}, database "${url.pathname.slice(1)}", user "${url.username}"`;
  };

  test('plaintext against a TLS-only server: TLS required', { skip: needsTls }, async () => {
    const { code, stderr, messages } = await failedStart({ DATABASE_URL: tlsVariant({ sslmode: 'disable' }) });
    assert.deepEqual(
      { code, stderr, messages },
      {
        code: 1,
        stderr: '',
        messages: [
          `Cannot connect to PostgreSQL at ${target()}: the server requires TLS (pg_hba.conf rejects connections without encryption): add sslmode=verify-full (or require)`,
        ],
      },
    );
  });

  test('a wrong password: authentication failed', { skip: needsTls }, async () => {
    const { code, stderr, messages } = await failedStart({
      DATABASE_URL: tlsVariant({ sslmode: 'verify-full' }, 'not-the-password'),
      NODE_EXTRA_CA_CERTS: tlsCa!,
    });
    assert.deepEqual(
      { code, stderr, messages },
      {
        code: 1,
        stderr: '',
        messages: [`Cannot connect to PostgreSQL at ${target()}: authentication failed (wrong user or password)`],
      },
    );
  });

  test('verify-full without the CA that signed the server certificate: not trusted', { skip: needsTls }, async () => {
    const { code, stderr, messages } = await failedStart({ DATABASE_URL: tlsVariant({ sslmode: 'verify-full' }) });
    assert.deepEqual(
      { code, stderr, messages },
      {
        code: 1,
        stderr: '',
        messages: [
          `Cannot connect to PostgreSQL at ${target()}: the server's TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): give its CA with sslrootcert=<file> or NODE_EXTRA_CA_CERTS`,
        ],
      },
    );
  });

  test('npm run migrate says the same line on stderr', { skip: needsTls }, async () => {
    const { code, stdout, stderr } = await run('scripts/migrate.ts', {
      DATABASE_URL: tlsVariant({ sslmode: 'disable' }),
    });
    assert.deepEqual(
      { code, stdout, stderr },
      {
        code: 1,
        stdout: '',
        stderr: `Cannot connect to PostgreSQL at ${target()}: the server requires TLS (pg_hba.conf rejects connections without encryption): add sslmode=verify-full (or require)\n`,
      },
    );
  });
});

describe('a TLS-only server with password authentication', () => {
  test(
    'the service works over verify-full with the CA in sslrootcert, and its connections are encrypted',
    { skip: needsTls },
    async () => {
      const url = tlsVariant({ sslmode: 'verify-full', sslrootcert: tlsCa! });
      const api = await startTestServer({ database: { kind: 'postgresql', url, poolMax: 2 } });
      try {
        const userId = newUserId();
        const created = await api.client.POST('/api/{user_id}/tasks', {
          params: { path: { user_id: userId } },
          body: { title: 'Over TLS' },
        });
        assert.equal(created.response.status, 201);
        const read = await api.client.GET('/api/{user_id}/tasks/{task_id}', {
          params: { path: { user_id: userId, task_id: created.data!.id } },
        });
        assert.deepEqual(read.data, created.data);
        const [row] = await api.db.em
          .getConnection()
          .execute<{ ssl: boolean }[]>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
        assert.deepEqual(row, { ssl: true });
      } finally {
        await api.close();
      }
    },
  );

  test(
    'a Neon-shaped URL (sslmode=require&channel_binding=require) migrates with the CA from NODE_EXTRA_CA_CERTS',
    { skip: needsTls },
    async () => {
      const { code, stdout, stderr } = await run('scripts/migrate.ts', {
        DATABASE_URL: tlsVariant({ sslmode: 'require', channel_binding: 'require' }),
        NODE_EXTRA_CA_CERTS: tlsCa!,
      });
      assert.equal(stderr, '');
      assert.equal(code, 0);
      assert.match(stdout, /^(Applied: .+|Nothing to apply: the database is up to date\.)\n$/);
    },
  );

  test(
    'channel_binding=require: pg authenticates with SCRAM-SHA-256-PLUS, bound to the TLS channel',
    { skip: needsTls },
    async () => {
      const client = new pg.Client(
        pgConnectionOptions(tlsVariant({ sslmode: 'require', channel_binding: 'require', sslrootcert: tlsCa! })),
      );
      const chosen: string[] = [];
      const connection = (
        client as unknown as { connection: { sendSASLInitialResponseMessage(m: string, r: string): void } }
      ).connection;
      const send = connection.sendSASLInitialResponseMessage.bind(connection);
      connection.sendSASLInitialResponseMessage = (mechanism, response) => {
        chosen.push(mechanism);
        send(mechanism, response);
      };
      await client.connect();
      await client.end();
      assert.deepEqual(chosen, ['SCRAM-SHA-256-PLUS']);
    },
  );
});
