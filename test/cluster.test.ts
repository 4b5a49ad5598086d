// WEB_CONCURRENCY=2: two worker processes serve one port, count against one rate-limit quota, and
// stop gracefully on SIGTERM. Needs a PostgreSQL server (the embedded database is one process's).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { test } from 'node:test';
import { newUserId, TEST_SECRET, tokenFor, usingPostgresServer } from './support/server.ts';

/** One request on a connection of its own, so the primary hands each to the next worker. */
function status(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

const childrenOf = (pid: number) =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      const stat = existsSync(`/proc/${entry}/stat`) ? readFileSync(`/proc/${entry}/stat`, 'utf8') : '';
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    })
    .map(Number);

test(
  'with WEB_CONCURRENCY=2, two workers share the port and one quota, and SIGTERM stops them all',
  { skip: !usingPostgresServer && 'needs DATABASE_URL' },
  async () => {
    const primary = spawn(
      process.execPath,
      ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', 'src/server.ts'],
      {
        env: {
          ...process.env,
          WEB_CONCURRENCY: '2',
          PORT: '0',
          HOST: '127.0.0.1',
          BETTER_AUTH_SECRET: TEST_SECRET,
          RATE_LIMIT_PER_USER: '6',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<number | null>((resolve) => primary.once('exit', resolve));
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      primary.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /"url":"([^"]+)","workers":2/.exec(output)?.[1];
        if (found) resolve(found);
      });
      void exited.then((code) => reject(new Error(`exited ${code} before listening:\n${output}`)));
    });
    const workers = childrenOf(primary.pid!);
    assert.equal(workers.length, 2, 'two worker processes');

    const userId = newUserId();
    const token = await tokenFor(userId);
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push(await status(`${url}/api/${userId}/tasks`, token));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429], 'one quota of 6 across both workers');

    primary.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(
      workers.filter((pid) => existsSync(`/proc/${pid}`)),
      [],
      'no worker outlives the primary',
    );
  },
);
