// Load benchmark: Tasks API against a bare node:http + pg baseline that issues the same SQL.
//
//   npm run bench                      # BENCH_RUNS=2 runs, results into docs/benchmarks.md
//   BENCH_SECONDS=5 BENCH_RUNS=1 npm run bench
//
// Each run: a fresh PostgreSQL database (tasks_bench_<random>, dropped at the end, also on failure),
// the three servers under test each in its own child process (so RSS/heap are that server's alone
// and no server shares an event loop with the load generator), 20 users × 200 tasks seeded, then for
// each scenario × server: 2 s warm-up, BENCH_SECONDS of autocannon (32 connections), memory sampled
// before and after. Any non-2xx response, socket error or timeout fails the bench. A short run of
// Tasks API on embedded PGlite follows. BENCH_PROFILE=1 adds a --cpu-prof pass of Tasks API.
//
// Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (32), BENCH_RUNS (2),
// BENCH_PGLITE_SECONDS (5), BENCH_PROFILE (0), BENCH_PROFILE_DIR (keep the .cpuprofile files there), BENCH_ADMIN_URL (postgresql://postgres@127.0.0.1:5432/postgres),
// BENCH_OUTPUT (docs/benchmarks.md; "-" prints only).
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { signToken } from '../src/auth/sign-token.ts';
import { GET_TASK_SQL, RATE_LIMIT_SQL } from './bench/baseline-server.ts';
import type { ChildMessage, ParentMessage, ProcessSample } from './bench/child.ts';
import { SOCKET, summarizeProfile, type ProfileSummary } from './bench/profile.ts';

// ── Settings ────────────────────────────────────────────────────────────────────────────────────

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min} (got "${raw}")`);
  return value;
}

const SECONDS = intEnv('BENCH_SECONDS', 10, 1);
const WARMUP_SECONDS = intEnv('BENCH_WARMUP_SECONDS', 2, 0);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 32, 1);
const RUNS = intEnv('BENCH_RUNS', 2, 1);
const PGLITE_SECONDS = intEnv('BENCH_PGLITE_SECONDS', Math.min(5, SECONDS), 0);
const PROFILE = ['1', 'true', 'yes'].includes((process.env.BENCH_PROFILE ?? '').toLowerCase());
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const OUTPUT = process.env.BENCH_OUTPUT ?? fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const USERS = 20;
const TASKS_PER_USER = 200;
const LIST_LIMIT = 20;
const POOL_MAX = 10;
const SECRET = randomBytes(32).toString('base64url');

const TASKS_API_SCRIPT = fileURLToPath(new URL('./bench/tasks-api-server.ts', import.meta.url));
const BASELINE_SCRIPT = fileURLToPath(new URL('./bench/baseline-server.ts', import.meta.url));

// ── Servers under test, each in a child process ─────────────────────────────────────────────────

type TargetKey = 'api' | 'baseline' | 'floor' | 'api-pglite';

const TARGET_LABELS: Record<TargetKey, string> = {
  api: 'Tasks API',
  baseline: 'baseline (JWT + rate limit)',
  floor: 'baseline floor (no auth)',
  'api-pglite': 'Tasks API on PGlite',
};

class Target {
  readonly key: TargetKey;
  readonly child: ChildProcess;
  url = '';
  #nextId = 0;
  readonly #pending = new Map<number, (m: ChildMessage) => void>();
  readonly exited: Promise<number | null>;

  constructor(key: TargetKey, script: string, env: Record<string, string | undefined>) {
    this.key = key;
    this.child = fork(script, [], {
      env: { ...process.env, ...env },
      execArgv: ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    // A send to a child that died emits 'error' on it; the failing call rejects instead (see #ask).
    this.child.on('error', () => {});
    this.child.on('message', (message: ChildMessage) => {
      if ('id' in message) {
        this.#pending.get(message.id)?.(message);
        this.#pending.delete(message.id);
      }
    });
  }

  static async start(key: TargetKey, script: string, env: Record<string, string | undefined>): Promise<Target> {
    const target = new Target(key, script, env);
    let timer: NodeJS.Timeout | undefined;
    try {
      target.url = await new Promise<string>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${TARGET_LABELS[key]} did not start within 60 s`)), 60_000);
        target.child.on('message', (message: ChildMessage) => {
          if (message.type === 'ready') resolve(message.url);
          if (message.type === 'failed')
            reject(new Error(`${TARGET_LABELS[key]} failed to start:\n${message.message}`));
        });
        void target.exited.then((code) =>
          reject(new Error(`${TARGET_LABELS[key]} exited with ${code} before it was ready`)),
        );
      });
    } catch (err) {
      target.child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return target;
  }

  #ask(message: ParentMessage & { id: number }): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${TARGET_LABELS[this.key]} did not answer ${message.type}`)),
        30_000,
      );
      this.#pending.set(message.id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      if (!this.child.connected) {
        clearTimeout(timer);
        reject(
          new BenchFailure(
            `${TARGET_LABELS[this.key]} is gone (exit code ${this.child.exitCode}, signal ${this.child.signalCode})`,
          ),
        );
        return;
      }
      this.child.send(message, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#pending.delete(message.id);
        reject(new BenchFailure(`${TARGET_LABELS[this.key]} is gone: ${err.message}`));
      });
    });
  }

  async sample(gc = false): Promise<ProcessSample> {
    const answer = await this.#ask({ type: 'sample', id: ++this.#nextId, gc });
    if (answer.type !== 'sample') throw new Error(`unexpected answer ${answer.type}`);
    return answer.sample;
  }

  async profile(action: 'start' | 'stop', path = ''): Promise<void> {
    const id = ++this.#nextId;
    const answer = await this.#ask(
      action === 'start' ? { type: 'profile-start', id } : { type: 'profile-stop', id, path },
    );
    if (answer.type === 'profile' && answer.error) throw new Error(`profiler: ${answer.error}`);
  }

  /** Graceful stop (the child closes its server and pool, then exits); killed if it hangs. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ParentMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ── Data and request shapes ─────────────────────────────────────────────────────────────────────

interface BenchUser {
  id: string;
  token: string;
  taskIds: string[];
}

type ScenarioName = 'getTask' | 'listTasks' | 'createTask';
const SCENARIOS: ScenarioName[] = ['getTask', 'listTasks', 'createTask'];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

let createCounter = 0;

/** One request of the scenario, for a random user (and one of their tasks): spreads load over every user's rows. */
function scenarioRequest(scenario: ScenarioName, users: readonly BenchUser[]): autocannon.RequestParams {
  const user = pick(users);
  const headers = { authorization: `Bearer ${user.token}` };
  switch (scenario) {
    case 'getTask':
      return { method: 'GET', path: `/api/${user.id}/tasks/${pick(user.taskIds)}`, headers };
    case 'listTasks':
      return { method: 'GET', path: `/api/${user.id}/tasks?limit=${LIST_LIMIT}`, headers };
    case 'createTask':
      return {
        method: 'POST',
        path: `/api/${user.id}/tasks`,
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `Bench task ${++createCounter}`, description: 'Created by scripts/bench.ts' }),
      };
  }
}

interface Measurement {
  scenario: ScenarioName;
  target: TargetKey;
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  /** Before the warm-up. */
  before: ProcessSample;
  /** After the measured window. */
  after: ProcessSample;
  /** Server CPU time (user + system) per request in the measured window, µs. */
  cpuPerRequestUs: number;
  /** Of which user time (JS and native code in the process), µs. */
  cpuUserPerRequestUs: number;
  /** Server CPU time over the measured window's wall time (1 = one core busy). */
  cpuCores: number;
  /** PostgreSQL's CPU time per request (all its processes), µs. */
  postgresPerRequestUs: number;
  /** autocannon's (this process's) CPU time per request, µs. */
  loadGenPerRequestUs: number;
  /** Cores busy with anything else on the machine during the window: the noise. */
  otherCores: number;
}

class BenchFailure extends Error {
  override name = 'BenchFailure';
}

async function fire(
  url: string,
  scenario: ScenarioName,
  users: readonly BenchUser[],
  seconds: number,
): Promise<autocannon.Result> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
    requests: [{ setupRequest: (request) => ({ ...request, ...scenarioRequest(scenario, users) }) }],
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new BenchFailure(
      `${scenario} against ${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts ` +
        `(status codes: ${JSON.stringify(result.statusCodeStats)})`,
    );
  }
  return result;
}

/** CPU time of the whole machine, of PostgreSQL's processes, and of this process (autocannon), in µs. */
interface MachineSample {
  busyMicros: number;
  /** pid → CPU µs, for every process named postgres. */
  postgres: Map<string, number>;
  benchMicros: number;
}

/** PostgreSQL's CPU between two samples: processes present at the end, less what they had at the start (one that exited meanwhile is lost). */
function postgresDelta(start: MachineSample, end: MachineSample): number {
  let total = 0;
  for (const [pid, micros] of end.postgres) total += micros - (start.postgres.get(pid) ?? 0);
  return total;
}

const TICK_MICROS = 1e6 / (Number(sh('getconf', ['CLK_TCK'])) || 100);

async function machineSample(): Promise<MachineSample> {
  // /proc/stat "cpu": user nice system idle iowait irq softirq steal …; busy = all but idle and iowait.
  const stat = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busyTicks = stat.reduce((t, v, i) => (i === 3 || i === 4 || i > 7 ? t : t + v), 0);
  const postgres = new Map<string, number>();
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const close = text.lastIndexOf(')');
    if (close < 0 || text.slice(text.indexOf('(') + 1, close) !== 'postgres') continue;
    const fields = text.slice(close + 2).split(' '); // from field 3 (state) on: utime is field 14, stime 15
    postgres.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_MICROS);
  }
  const { user, system } = process.cpuUsage();
  return { busyMicros: busyTicks * TICK_MICROS, postgres, benchMicros: user + system };
}

function cpuTotal(sample: ProcessSample): number {
  return sample.cpuUserMicros + sample.cpuSystemMicros;
}

async function measure(
  target: Target,
  scenario: ScenarioName,
  users: readonly BenchUser[],
  seconds: number,
  profilePath?: string,
): Promise<Measurement> {
  const before = await target.sample(true);
  if (WARMUP_SECONDS > 0) await fire(target.url, scenario, users, WARMUP_SECONDS);
  if (profilePath) await target.profile('start');
  const [start, machineStart] = [await target.sample(), await machineSample()];
  const result = await fire(target.url, scenario, users, seconds);
  const [after, machineEnd] = [await target.sample(true), await machineSample()];
  const serverMicros = cpuTotal(after) - cpuTotal(start);
  const postgresMicros = postgresDelta(machineStart, machineEnd);
  const benchMicros = machineEnd.benchMicros - machineStart.benchMicros;
  const otherMicros = machineEnd.busyMicros - machineStart.busyMicros - serverMicros - postgresMicros - benchMicros;
  if (profilePath) await target.profile('stop', profilePath);
  const m: Measurement = {
    scenario,
    target: target.key,
    rps: result.requests.total / result.duration,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.mean,
    non2xx: result.non2xx,
    before,
    after,
    cpuPerRequestUs: (cpuTotal(after) - cpuTotal(start)) / result.requests.total,
    cpuUserPerRequestUs: (after.cpuUserMicros - start.cpuUserMicros) / result.requests.total,
    cpuCores: serverMicros / 1e6 / result.duration,
    postgresPerRequestUs: postgresMicros / result.requests.total,
    loadGenPerRequestUs: benchMicros / result.requests.total,
    otherCores: Math.max(0, otherMicros) / 1e6 / result.duration,
  };
  console.log(
    `  ${scenario.padEnd(10)} ${TARGET_LABELS[target.key].padEnd(28)} ${m.rps.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${m.p50} ms  p99 ${m.p99} ms  cpu µs/req: server ${m.cpuPerRequestUs.toFixed(0)} (${m.cpuCores.toFixed(2)} cores) ` +
      `pg ${m.postgresPerRequestUs.toFixed(0)} autocannon ${m.loadGenPerRequestUs.toFixed(0)}; other load ${m.otherCores.toFixed(2)} cores  ` +
      `rss ${mb(before.rss)}→${mb(after.rss)} MB${profilePath ? '  [profiled]' : ''}`,
  );
  return m;
}

// ── Database ────────────────────────────────────────────────────────────────────────────────────

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function makeUsers(): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let u = 0; u < USERS; u++) {
    const id = `bench_user_${String(u).padStart(2, '0')}`;
    users.push({ id, token: await signToken({ secret: SECRET, userId: id, expiresInSeconds: 6 * 3600 }), taskIds: [] });
  }
  return users;
}

/** 20 × 200 tasks straight into the table (the schema is the service's: it migrated the database). */
async function seedPostgres(url: string, users: BenchUser[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const start = Date.now() - USERS * TASKS_PER_USER * 1000;
    let n = 0;
    for (const user of users) {
      const values: unknown[] = [];
      const rows: string[] = [];
      for (let t = 0; t < TASKS_PER_USER; t++, n++) {
        const id = uuidv7();
        user.taskIds.push(id);
        const at = new Date(start + n * 1000);
        const p = values.length;
        rows.push(`($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 6})`);
        values.push(id, user.id, `Task ${t} of ${user.id}`, t % 2 ? `Details of task ${t}` : null, t % 3 === 0, at);
      }
      await client.query(
        `insert into task (id, user_id, title, description, completed, created_at, updated_at) values ${rows.join(', ')}`,
        values,
      );
    }
    await client.query('analyze task');
  } finally {
    await client.end();
  }
}

/** PGlite lives inside the service's process: seed it through the API, 8 requests at a time. */
async function seedThroughApi(baseUrl: string, users: BenchUser[]): Promise<void> {
  const jobs = users.flatMap((user) => Array.from({ length: TASKS_PER_USER }, (_, t) => ({ user, t })));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { user, t } = jobs[next++]!;
      const res = await fetch(`${baseUrl}/api/${user.id}/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          title: `Task ${t} of ${user.id}`,
          description: t % 2 ? `Details of task ${t}` : null,
          completed: t % 3 === 0,
        }),
      });
      if (res.status !== 201)
        throw new BenchFailure(`seeding PGlite: POST answered ${res.status}: ${await res.text()}`);
      user.taskIds.push(((await res.json()) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

// ── Like for like: every server must answer the same bodies before any of them is measured ──────

async function get(url: string, token: string): Promise<{ status: number; body: unknown; link: string | null }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json(), link: res.headers.get('link') };
}

async function checkSameAnswers(targets: Target[], users: BenchUser[]): Promise<void> {
  const user = users[3]!;
  const taskId = user.taskIds[17]!;
  const answers = await Promise.all(
    targets.map(async (t) => ({
      key: t.key,
      task: await get(`${t.url}/api/${user.id}/tasks/${taskId}`, user.token),
      upper: await get(`${t.url}/api/${user.id}/tasks/${taskId.toUpperCase()}`, user.token),
      list: await get(`${t.url}/api/${user.id}/tasks?limit=${LIST_LIMIT}`, user.token),
    })),
  );
  const reference = answers[0]!;
  if (
    reference.task.status !== 200 ||
    reference.list.status !== 200 ||
    (reference.list.body as unknown[]).length !== LIST_LIMIT
  ) {
    throw new BenchFailure(
      `${TARGET_LABELS[reference.key]} did not answer the sample requests: ${JSON.stringify(reference)}`,
    );
  }
  for (const answer of answers.slice(1)) {
    for (const part of ['task', 'upper', 'list'] as const) {
      if (!isDeepStrictEqual(answer[part], reference[part])) {
        throw new BenchFailure(
          `${TARGET_LABELS[answer.key]} and ${TARGET_LABELS[reference.key]} answer ${part} differently:\n` +
            `${JSON.stringify(answer[part])}\n${JSON.stringify(reference[part])}`,
        );
      }
    }
  }
  // The second page, through the Link header each server sent (its cursor is opaque, but the page must match).
  const secondPages = await Promise.all(
    answers.map((answer, i) => {
      const next = /^<([^>]+)>; rel="next"$/.exec(answer.list.link ?? '')?.[1];
      if (!next) throw new BenchFailure(`${TARGET_LABELS[answer.key]} sent no next-page Link`);
      return get(`${targets[i]!.url}${next}`, user.token);
    }),
  );
  for (const [i, page] of secondPages.entries()) {
    if (page.status !== 200 || !isDeepStrictEqual(page.body, secondPages[0]!.body)) {
      throw new BenchFailure(`${TARGET_LABELS[answers[i]!.key]} answers the second page differently`);
    }
  }
  // A create from each: same status, same fields, same shape.
  const created = await Promise.all(
    targets.map(async (t) => {
      const res = await fetch(`${t.url}/api/${user.id}/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: '  Check  ', description: null }),
      });
      const body = (await res.json()) as Record<string, unknown>;
      return {
        key: t.key,
        status: res.status,
        location: res.headers.get('location') === `/api/${user.id}/tasks/${String(body.id)}`,
        body,
      };
    }),
  );
  const shape = (c: (typeof created)[number]) => ({
    status: c.status,
    location: c.location,
    keys: Object.keys(c.body),
    fields: {
      ...c.body,
      id: typeof c.body.id,
      created_at: typeof c.body.created_at,
      updated_at: typeof c.body.updated_at,
    },
  });
  for (const c of created) {
    if (!isDeepStrictEqual(shape(c), shape(created[0]!)) || c.status !== 201) {
      throw new BenchFailure(
        `${TARGET_LABELS[c.key]} creates differently: ${JSON.stringify(c)} vs ${JSON.stringify(created[0])}`,
      );
    }
  }
}

// ── Component costs, measured alone (servers idle) ──────────────────────────────────────────────

interface ComponentCosts {
  /** One HS256 verification as the service does it (jose, raw secret bytes), one at a time: CPU µs. */
  jwtVerifyCpuUs: number;
  /** The same with the key imported once as a CryptoKey: what importing it per call costs. */
  jwtVerifyImportedKeyCpuUs: number;
  /** One connection, one statement at a time: round trip (wall) and PostgreSQL CPU per statement. */
  upsert: { roundTripUs: number; postgresCpuUs: number };
  select: { roundTripUs: number; postgresCpuUs: number };
}

async function componentCosts(url: string, users: BenchUser[]): Promise<ComponentCosts> {
  const token = users[0]!.token;
  const options = { algorithms: ['HS256'], clockTolerance: 10, requiredClaims: ['sub', 'exp'] };
  const cpuPerCall = async (fn: () => Promise<unknown>, n: number) => {
    for (let i = 0; i < n / 10; i++) await fn();
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn();
    const { user, system } = process.cpuUsage(before);
    return (user + system) / n;
  };
  const rawSecret = new TextEncoder().encode(SECRET);
  const jwtVerifyCpuUs = await cpuPerCall(async () => {
    decodeProtectedHeader(token);
    await jwtVerify(token, rawSecret, options);
  }, 20_000);
  const key = await crypto.subtle.importKey('raw', rawSecret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const jwtVerifyImportedKeyCpuUs = await cpuPerCall(async () => {
    decodeProtectedHeader(token);
    await jwtVerify(token, key, options);
  }, 20_000);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const window = Math.floor(Date.now() / 1000 / 60);
    const timeIt = async (sql: string, params: () => unknown[], n: number) => {
      for (let i = 0; i < 200; i++) await client.query(sql, params());
      const m0 = await machineSample();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await client.query(sql, params());
      const roundTripUs = Number(process.hrtime.bigint() - t0) / 1000 / n;
      return { roundTripUs, postgresCpuUs: postgresDelta(m0, await machineSample()) / n };
    };
    const upsert = await timeIt(
      RATE_LIMIT_SQL,
      () => [`per-user:costs_${Math.floor(Math.random() * USERS)}`, window],
      5000,
    );
    const select = await timeIt(
      GET_TASK_SQL,
      () => {
        const user = pick(users);
        return [pick(user.taskIds), user.id];
      },
      5000,
    );
    await client.query(`delete from rate_limit where key like 'per-user:costs_%'`);
    return { jwtVerifyCpuUs, jwtVerifyImportedKeyCpuUs, upsert, select };
  } finally {
    await client.end();
  }
}

// ── A run ───────────────────────────────────────────────────────────────────────────────────────

interface RunResult {
  index: number;
  database: string;
  startedAt: string;
  loadBefore: number[];
  loadAfter: number[];
  seconds: number;
  measurements: Measurement[];
  pglite: Measurement[];
  costs: ComponentCosts;
  profile?: Partial<
    Record<
      TargetKey,
      Partial<
        Record<
          ScenarioName,
          { summary: ProfileSummary; requests: number; cpuPerRequestUs: number; cpuUserPerRequestUs: number }
        >
      >
    >
  >;
}

function commonEnv(): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    VALIDATE_RESPONSES: 'false',
    BETTER_AUTH_SECRET: SECRET,
    RATE_LIMIT_PER_USER: '1000000000',
    RATE_LIMIT_PER_IP: '1000000000',
    DB_POOL_MAX: String(POOL_MAX),
    PORT: '0',
    HOST: '127.0.0.1',
    JWKS_URL: undefined,
    JWT_ISSUER: undefined,
    JWT_AUDIENCE: undefined,
    CORS_ORIGINS: undefined,
  };
}

async function stopAll(targets: Target[]): Promise<void> {
  await Promise.all(targets.map((t) => t.stop().catch(() => t.child.kill('SIGKILL'))));
}

/** A separate pass, so the profiler's overhead never touches the numbers above: Tasks API and the baseline. */
async function profilePass(url: string, users: BenchUser[]): Promise<RunResult['profile']> {
  const keep = process.env.BENCH_PROFILE_DIR;
  const dir = keep ? resolve(keep) : await mkdtemp(join(tmpdir(), 'tasks-bench-prof-'));
  if (keep) await mkdir(dir, { recursive: true });
  const out: NonNullable<RunResult['profile']> = {};
  const targets: Target[] = [];
  try {
    targets.push(
      await Target.start('api', TASKS_API_SCRIPT, { ...commonEnv(), DATABASE_URL: url, PGLITE_DATA_DIR: undefined }),
    );
    targets.push(
      await Target.start('baseline', BASELINE_SCRIPT, { ...commonEnv(), DATABASE_URL: url, BASELINE_AUTH: 'true' }),
    );
    for (const target of targets) {
      for (const scenario of SCENARIOS) {
        const path = join(dir, `${target.key}-${scenario}.cpuprofile`);
        const m = await measure(target, scenario, users, SECONDS, path);
        (out[target.key] ??= {})[scenario] = {
          summary: await summarizeProfile(path),
          requests: m.requests,
          cpuPerRequestUs: m.cpuPerRequestUs,
          cpuUserPerRequestUs: m.cpuUserPerRequestUs,
        };
      }
    }
  } finally {
    await stopAll(targets);
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
  return out;
}

/** What an interrupted bench (Ctrl-C, SIGTERM) still has to undo: the children and the database of the current run. */
let interruptCleanup: (() => Promise<void>) | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers and dropping the bench database`);
    const cleanup = interruptCleanup ?? (() => Promise.resolve());
    void cleanup().finally(() => process.exit(130));
  });
}

async function dropDatabase(database: string): Promise<void> {
  await adminQuery(`drop database if exists "${database}" with (force)`).catch((err: unknown) =>
    console.error(`Could not drop ${database}: ${(err as Error).message}`),
  );
}

async function run(index: number): Promise<RunResult> {
  const database = `tasks_bench_${randomBytes(6).toString('hex')}`;
  const url = databaseUrl(database);
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  console.log(`\nRun ${index} — database ${database}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  await adminQuery(`create database "${database}"`);
  const targets: Target[] = [];
  interruptCleanup = async () => {
    await stopAll(targets);
    await dropDatabase(database);
  };
  try {
    // Tasks API first: it applies the migrations, so the others find the schema.
    targets.push(
      await Target.start('api', TASKS_API_SCRIPT, { ...commonEnv(), DATABASE_URL: url, PGLITE_DATA_DIR: undefined }),
    );
    const users = await makeUsers();
    await seedPostgres(url, users);
    targets.push(
      await Target.start('baseline', BASELINE_SCRIPT, { ...commonEnv(), DATABASE_URL: url, BASELINE_AUTH: 'true' }),
    );
    targets.push(
      await Target.start('floor', BASELINE_SCRIPT, { ...commonEnv(), DATABASE_URL: url, BASELINE_AUTH: 'false' }),
    );
    await checkSameAnswers(targets, users);
    console.log('  all three servers answer getTask, listTasks (and its next page) and createTask alike');

    const measurements: Measurement[] = [];
    for (const [i, scenario] of SCENARIOS.entries()) {
      // Rotate who goes first, so no server always gets the coldest (or warmest) slot.
      const order = targets.map((_, j) => targets[(i + j + index - 1) % targets.length]!);
      for (const target of order) measurements.push(await measure(target, scenario, users, SECONDS));
    }
    const costs = await componentCosts(url, users);
    await stopAll(targets.splice(0));

    let profile: RunResult['profile'];
    if (PROFILE && index === RUNS) profile = await profilePass(url, users);

    const pglite: Measurement[] = [];
    if (PGLITE_SECONDS > 0) {
      const target = await Target.start('api-pglite', TASKS_API_SCRIPT, {
        ...commonEnv(),
        DATABASE_URL: undefined,
        PGLITE_DATA_DIR: 'memory://',
        ALLOW_EMBEDDED_DATABASE: 'true',
      });
      targets.push(target);
      const pgliteUsers = await makeUsers();
      await seedThroughApi(target.url, pgliteUsers);
      for (const scenario of ['getTask', 'listTasks'] as const)
        pglite.push(await measure(target, scenario, pgliteUsers, PGLITE_SECONDS));
      await stopAll(targets.splice(0));
    }
    return {
      index,
      database,
      startedAt,
      loadBefore,
      loadAfter: loadavg(),
      seconds: SECONDS,
      measurements,
      pglite,
      costs,
      ...(profile ? { profile } : {}),
    };
  } finally {
    await stopAll(targets);
    await dropDatabase(database);
    interruptCleanup = undefined;
  }
}

// ── Report ──────────────────────────────────────────────────────────────────────────────────────

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

function sh(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim();
  } catch {
    return '(unavailable)';
  }
}

async function machine(): Promise<string> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? '(unknown)';
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  const { rows } = await client.query<{ version: string }>('select version()');
  const settings = await client.query<{ name: string; setting: string }>(
    `select name, setting from pg_settings where name in ('max_connections', 'shared_buffers', 'synchronous_commit', 'fsync') order by name`,
  );
  await client.end();
  return [
    `- Date: ${sh('date', ['-u'])}`,
    `- CPU: ${sh('nproc', [])} × ${model}`,
    `- Node.js: ${process.version}`,
    `- PostgreSQL: ${rows[0]?.version ?? '(unknown)'} (${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')})`,
    '- Memory (`free -h`):',
    '',
    '```',
    sh('free', ['-h']),
    '```',
  ].join('\n');
}

function measurementTable(measurements: Measurement[]): string {
  const lines = [
    '| scenario | server | req/s | p50 ms | p99 ms | mean ms | non-2xx | server CPU µs/req (user + sys) | server cores | PostgreSQL CPU µs/req | autocannon CPU µs/req | other load (cores) | RSS before → after (MB) | live heap before → after (MB) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  const order: TargetKey[] = ['api', 'baseline', 'floor', 'api-pglite'];
  const sorted = [...measurements].sort(
    (a, b) =>
      SCENARIOS.indexOf(a.scenario) - SCENARIOS.indexOf(b.scenario) ||
      order.indexOf(a.target) - order.indexOf(b.target),
  );
  for (const m of sorted) {
    lines.push(
      `| ${m.scenario} | ${TARGET_LABELS[m.target]} | ${m.rps.toFixed(0)} | ${m.p50} | ${m.p99} | ${m.mean.toFixed(2)} | ${m.non2xx} | ` +
        `${m.cpuPerRequestUs.toFixed(0)} (${m.cpuUserPerRequestUs.toFixed(0)} + ${(m.cpuPerRequestUs - m.cpuUserPerRequestUs).toFixed(0)}) | ${m.cpuCores.toFixed(2)} | ` +
        `${m.postgresPerRequestUs.toFixed(0)} | ${m.loadGenPerRequestUs.toFixed(0)} | ${m.otherCores.toFixed(2)} | ` +
        `${mb(m.before.rss)} → ${mb(m.after.rss)} | ${mb(m.before.heapUsed)} → ${mb(m.after.heapUsed)} |`,
    );
  }
  return lines.join('\n');
}

function overheadTable(runs: RunResult[]): string {
  const lines = [
    '| scenario | run | Tasks API req/s | ÷ baseline (JWT + rate limit) | ÷ floor | extra mean latency vs baseline | vs floor | server CPU µs/req: Tasks API / baseline / floor |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const scenario of SCENARIOS) {
    for (const r of runs) {
      const find = (t: TargetKey) => r.measurements.find((m) => m.scenario === scenario && m.target === t)!;
      const [api, base, floor] = [find('api'), find('baseline'), find('floor')];
      lines.push(
        `| ${scenario} | ${r.index} | ${api.rps.toFixed(0)} | ${((100 * api.rps) / base.rps).toFixed(0)} % | ${((100 * api.rps) / floor.rps).toFixed(0)} % | ` +
          `+${(api.mean - base.mean).toFixed(2)} ms | +${(api.mean - floor.mean).toFixed(2)} ms | ` +
          `${[api, base, floor].map((m) => m.cpuPerRequestUs.toFixed(0)).join(' / ')} |`,
      );
    }
  }
  return lines.join('\n');
}

function profileSection(profile: NonNullable<RunResult['profile']>): string {
  type Column = { label: string; summary: ProfileSummary; cpuPerRequestUs: number; cpuUserPerRequestUs: number };
  const columns: Column[] = [];
  for (const scenario of SCENARIOS) {
    for (const key of ['api', 'baseline'] as const) {
      const entry = profile[key]?.[scenario];
      if (entry) columns.push({ label: `${scenario}: ${key === 'api' ? 'Tasks API' : 'baseline'}`, ...entry });
    }
  }
  // Shares of the samples other than socket writes, spread over the user CPU time per request.
  const jsMs = (c: Column) => c.summary.busyMs - (c.summary.byBucket.find((b) => b.name === SOCKET)?.ms ?? 0);
  const share = (c: Column, bucket: string) => (c.summary.byBucket.find((b) => b.name === bucket)?.ms ?? 0) / jsMs(c);
  const micros = (c: Column, bucket: string) => share(c, bucket) * c.cpuUserPerRequestUs;
  const buckets = new Set<string>();
  for (const c of columns)
    for (const b of c.summary.byBucket) if (b.name !== SOCKET && share(c, b.name) >= 0.01) buckets.add(b.name);
  const rows = [...buckets].sort(
    (a, b) => columns.reduce((t, c) => t + micros(c, b), 0) - columns.reduce((t, c) => t + micros(c, a), 0),
  );
  const cell = (c: Column, bucket: string) =>
    share(c, bucket) === 0 ? '—' : `${micros(c, bucket).toFixed(0)} (${(100 * share(c, bucket)).toFixed(0)} %)`;
  const api = profile.api?.getTask;
  return [
    `### Where the server's CPU time goes (V8 CPU profile of the measured window, last run, ${SECONDS} s per scenario)`,
    '',
    'A separate pass after the measured ones (the profiler costs some speed; its own numbers are in the last rows).',
    'Each sample goes to the package of the function on top of the stack; a V8 builtin (JSON, RegExp, Array methods)',
    "goes to its caller's package. Native socket writes are left out: they are kernel time (the *sys* row) plus, on",
    'a busy machine, time spent preempted. Cells: µs of user CPU per request (the share of the remaining samples).',
    '',
    `| µs CPU / request | ${columns.map((c) => c.label).join(' | ')} |`,
    `| --- | ${columns.map(() => '---:').join(' | ')} |`,
    ...rows.map((bucket) => `| ${bucket} | ${columns.map((c) => cell(c, bucket)).join(' | ')} |`),
    `| **user CPU (measured)** | ${columns.map((c) => `**${c.cpuUserPerRequestUs.toFixed(0)}**`).join(' | ')} |`,
    `| **sys CPU (measured; kernel, mostly socket I/O)** | ${columns.map((c) => `**${(c.cpuPerRequestUs - c.cpuUserPerRequestUs).toFixed(0)}**`).join(' | ')} |`,
    '',
    `Top packages for Tasks API getTask (share of non-socket samples): ${
      api
        ? api.summary.byPackage
            .filter((p) => p.name !== SOCKET)
            .slice(0, 14)
            .map((p) => `${p.name} ${((100 * p.ms) / jsMs({ label: '', ...api })).toFixed(1)} %`)
            .join(', ')
        : '—'
    }.`,
  ].join('\n');
}

async function report(runs: RunResult[]): Promise<string> {
  const parts = [
    `_Generated by \`npm run bench\` (scripts/bench.ts) on ${new Date().toISOString()}; everything between the markers is rewritten on each run._`,
    '',
    '### Machine',
    '',
    await machine(),
    '',
    '### Settings',
    '',
    `- ${CONNECTIONS} connections (autocannon 8, in the bench process), ${WARMUP_SECONDS} s warm-up then ${SECONDS} s per scenario × server, ${RUNS} run(s), each on a fresh database`,
    `- ${USERS} users × ${TASKS_PER_USER} tasks seeded; every request picks a random user (and one of their tasks), with that user's HS256 token`,
    `- getTask: \`GET /api/{user}/tasks/{id}\`; listTasks: \`GET /api/{user}/tasks?limit=${LIST_LIMIT}\` (21 rows fetched, 20 sent, \`Link\` header); createTask: \`POST /api/{user}/tasks\` (title + description)`,
    `- every server in its own child process, pool of ${POOL_MAX} PostgreSQL connections; Tasks API with NODE_ENV=production, LOG_LEVEL=silent, VALIDATE_RESPONSES=false, rate limit 10⁹/min (counted, never hit)`,
    '- before the first measurement the bench checks that all three servers answer the same bodies (getTask, upper-case id, listTasks, its next page via `Link`) and create alike',
    '- columns: req/s = responses ÷ duration; latencies from autocannon; *server CPU* = `process.cpuUsage()` of the server process (all its threads) over the measured window ÷ responses, user + system; ' +
      '*server cores* = that CPU ÷ wall time; *PostgreSQL CPU* = utime + stime of all `postgres` processes (`/proc`) ÷ responses; *autocannon CPU* = the bench process; ' +
      '*other load* = busy CPU of the whole machine (`/proc/stat`) minus those three: other work on the machine, i.e. noise; ' +
      '*RSS* before the warm-up and after the window; *live heap* = heap used right after a forced full GC',
    '',
  ];
  for (const r of runs) {
    parts.push(
      `### Run ${r.index} (started ${r.startedAt}; 1/5/15-min load average before ${r.loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${r.loadAfter.map((l) => l.toFixed(2)).join(' ')})`,
      '',
      measurementTable([...r.measurements, ...r.pglite]),
      '',
      `Component costs, measured alone in the bench process with the servers idle: one HS256 verification as the service does it ` +
        `(jose, secret as bytes) ${r.costs.jwtVerifyCpuUs.toFixed(1)} µs of CPU, ${r.costs.jwtVerifyImportedKeyCpuUs.toFixed(1)} µs with the key imported once; ` +
        `one connection, one statement at a time: rate-limit UPSERT ${r.costs.upsert.roundTripUs.toFixed(0)} µs round trip and ` +
        `${r.costs.upsert.postgresCpuUs.toFixed(0)} µs of PostgreSQL CPU, getTask SELECT ${r.costs.select.roundTripUs.toFixed(0)} µs and ` +
        `${r.costs.select.postgresCpuUs.toFixed(0)} µs.`,
      '',
    );
  }
  parts.push('### Tasks API against the baselines', '', overheadTable(runs), '');
  const profiled = runs.find((r) => r.profile)?.profile;
  if (profiled) parts.push(profileSection(profiled), '');
  return parts.join('\n');
}

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

const TEMPLATE = `# Benchmarks

How fast Tasks API serves its hot operations, against a bare \`node:http\` + \`pg\` server issuing the same SQL
(\`scripts/bench/baseline-server.ts\`). Run with \`npm run bench\` (see \`scripts/bench.ts\` for the knobs).

${BEGIN}
${END}

## Interpretation

(To be written from the numbers above.)
`;

async function writeReport(body: string): Promise<void> {
  if (OUTPUT === '-') return;
  const current = existsSync(OUTPUT) ? await readFile(OUTPUT, 'utf8') : TEMPLATE;
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const base = start >= 0 && end > start ? current : TEMPLATE;
  const s = base.indexOf(BEGIN);
  const e = base.indexOf(END);
  await writeFile(OUTPUT, `${base.slice(0, s + BEGIN.length)}\n${body}\n${base.slice(e)}`);
  console.log(`\nWrote ${OUTPUT}`);
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  console.log(
    `Tasks API bench: ${RUNS} run(s), ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per scenario` +
      (PROFILE ? ', with a --cpu-prof pass' : ''),
  );
  const runs: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) runs.push(await run(i));
  const body = await report(runs);
  console.log(`\n${body}`);
  await writeReport(body);
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchFailure ? `\nBENCH FAILED: ${err.message}` : err);
  process.exitCode = 1;
});
