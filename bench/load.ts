// What the bench sends: users with their tokens, tasks seeded straight into PostgreSQL (generate_series,
// deterministic ids so no round trip is needed to learn them), and one request per scenario.
import { createHash } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { signToken } from '../src/auth/sign-token.ts';
import { encodeCursor } from '../src/tasks/task.cursor.ts';
import { queryFingerprint } from '../src/tasks/task.query.ts';

export const OPERATIONS = [
  'getTask',
  'listTasks20',
  'listTasks100',
  'createTask',
  'updateTask',
  'toggle',
  'deleteTask',
  'mix',
] as const;
type Operation = (typeof OPERATIONS)[number] | 'listDeep';

/** `getTask` spreads requests over every user; `getTask-hot` sends them all for one user; `listDeep` pages deep into the big user's list. */
export interface Scenario {
  name: string;
  operation: Operation;
  hot: boolean;
}

export const ALL_SCENARIOS: Scenario[] = [
  ...OPERATIONS.flatMap((operation) => [
    { name: operation, operation, hot: false },
    { name: `${operation}-hot`, operation, hot: true },
  ]),
  { name: 'listDeep', operation: 'listDeep', hot: true },
];

export function chooseScenarios(list: string | undefined): Scenario[] {
  if (!list) return ALL_SCENARIOS.filter((s) => s.operation !== 'listDeep');
  return list.split(',').map((name) => {
    const found = ALL_SCENARIOS.find((s) => s.name === name.trim());
    if (!found)
      throw new Error(`BENCH_SCENARIOS: unknown "${name}"; known: ${ALL_SCENARIOS.map((s) => s.name).join(', ')}`);
    return found;
  });
}

/** How many tasks: every user has `tasksPerUser`, user 0 (the hot one) has `hotUserTasks`. */
export interface DataSet {
  users: number;
  tasksPerUser: number;
  hotUserTasks: number;
}

const uuidFrom = (text: string) =>
  createHash('md5')
    .update(text)
    .digest('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
/** Written the same way in SQL: md5(u || ':' || t)::uuid, created t seconds (+ u ms) after the epoch below. */
export const userId = (u: number) => `bench_${u}`;
export const taskId = (u: number, t: number) => uuidFrom(`${u}:${t}`);
const EPOCH = Date.parse('2026-01-01T00:00:00Z');
const createdAt = (u: number, t: number) => new Date(EPOCH + t * 1000 + u);
/** Deep pages are of the default list: every task, newest first. */
const newestFirst = queryFingerprint({}, { field: 'created_at', descending: true });

const SEED_SQL = `insert into task (id, user_id, title, description, completed, completed_at, priority, tags, created_at, updated_at)
  select md5(u || ':' || t)::uuid, 'bench_' || u, 'Task ' || t || ' of bench_' || u,
    case when t % 2 = 1 then 'Details of task ' || t end, t % 3 = 0, case when t % 3 = 0 then at end, t % 4,
    case when t % 5 = 0 then array['work', 'home'] else '{}' end::varchar(32)[], at, at
  from generate_series($1::int, $2::int) u, generate_series($3::int, $4::int) t,
    lateral (select timestamptz '2026-01-01T00:00:00Z' + t * interval '1 second' + u * interval '1 millisecond') c(at)`;

export async function seed(url: string, data: DataSet): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(SEED_SQL, [0, data.users - 1, 0, data.tasksPerUser - 1]);
    if (data.hotUserTasks > data.tasksPerUser)
      await client.query(SEED_SQL, [0, 0, data.tasksPerUser, data.hotUserTasks - 1]);
    await client.query('vacuum analyze task');
  } finally {
    await client.end();
  }
}

/** `count` tasks for deleteTask to delete, spread over the users (or all of the hot user's); returns their paths. */
export async function seedDoomed(
  url: string,
  data: DataSet,
  hot: boolean,
  count: number,
  tag: string,
): Promise<string[]> {
  const owner = (i: number) => (hot ? 0 : i % data.users);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `insert into task (id, user_id, title)
       select md5($1 || ':' || i)::uuid, 'bench_' || case when $2 then 0 else i % $3 end, 'Doomed ' || i
       from generate_series(0, $4 - 1) i`,
      [`doomed-${tag}`, hot, data.users, count],
    );
  } finally {
    await client.end();
  }
  return Array.from({ length: count }, (_, i) => `/api/${userId(owner(i))}/tasks/${uuidFrom(`doomed-${tag}:${i}`)}`);
}

export async function tokens(secret: string, data: DataSet): Promise<string[]> {
  return Promise.all(
    Array.from({ length: data.users }, (_, u) => signToken({ secret, userId: userId(u), expiresInSeconds: 6 * 3600 })),
  );
}

const random = (n: number) => Math.floor(Math.random() * n);
let counter = 0;

/** A request generator for one scenario; `doomed` are the paths deleteTask may use, each once. */
export function requests(scenario: Scenario, data: DataSet, auth: string[], doomed: string[] = []) {
  const json = { 'content-type': 'application/json' };
  return (): autocannon.RequestParams => {
    const u = scenario.hot ? 0 : random(data.users);
    const tasks = u === 0 ? data.hotUserTasks : data.tasksPerUser;
    const base = `/api/${userId(u)}/tasks`;
    const one = `${base}/${taskId(u, random(tasks))}`;
    let operation = scenario.operation;
    if (operation === 'mix') {
      const roll = random(100); // 80 % reads, 20 % writes
      operation =
        roll < 50
          ? 'getTask'
          : roll < 80
            ? 'listTasks20'
            : roll < 90
              ? 'createTask'
              : roll < 95
                ? 'updateTask'
                : 'toggle';
    }
    const request = ((): autocannon.RequestParams => {
      switch (operation) {
        case 'getTask':
          return { method: 'GET', path: one };
        case 'listTasks20':
          return { method: 'GET', path: `${base}?limit=20` };
        case 'listTasks100':
          return { method: 'GET', path: `${base}?limit=100` };
        case 'listDeep': {
          const t = Math.floor(tasks / 2);
          return {
            method: 'GET',
            path: `${base}?limit=20&cursor=${encodeCursor({ value: createdAt(u, t), id: taskId(u, t) }, newestFirst)}`,
          };
        }
        case 'createTask':
          return {
            method: 'POST',
            path: base,
            headers: json,
            body: JSON.stringify({
              title: `Bench task ${++counter}`,
              description: 'From bench/',
              priority: 'medium',
              tags: ['bench'],
            }),
          };
        case 'updateTask':
          return {
            method: 'PUT',
            path: one,
            headers: json,
            body: JSON.stringify({ title: `Renamed ${++counter}`, priority: 'high' }),
          };
        case 'toggle':
          return { method: 'PATCH', path: `${one}/complete` };
        case 'deleteTask': {
          const path = doomed.pop() ?? `${base}/00000000-0000-0000-0000-000000000000`; // none left: a 404 fails the run
          return { method: 'DELETE', path };
        }
      }
    })();
    const owner = Number(/^\/api\/bench_(\d+)/.exec(request.path!)![1]);
    return { ...request, headers: { ...request.headers, authorization: `Bearer ${auth[owner]}` } };
  };
}

export class BenchFailure extends Error {
  override name = 'BenchFailure';
}

/** autocannon against `url` for `seconds`; any non-2xx answer, error or timeout fails the bench. */
export async function fire(url: string, next: () => autocannon.RequestParams, seconds: number, connections: number) {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [{ setupRequest: (request) => ({ ...request, ...next() }) }],
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new BenchFailure(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCodeStats)})`,
    );
  }
  return result;
}
