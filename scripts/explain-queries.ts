// Writes docs/queries.md: the PostgreSQL plans of every list query and of the summary, as the
// service builds them (src/tasks/task.sql.ts, formatted as MikroORM sends them), on a throw-away
// database filled with enough tasks that the planner's choices are the ones production would see.
// Usage: npm run explain   (EXPLAIN_ADMIN_URL, default postgresql://postgres@127.0.0.1:5432/postgres;
// EXPLAIN_USERS, default 2000 users of 100 tasks, plus one user with 20 000)
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { MikroORM } from '@mikro-orm/postgresql';
import { migrate } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/orm.ts';
import type { SortValue, TaskFilter, TaskSort } from '../src/tasks/task.query.ts';
import * as sql from '../src/tasks/task.sql.ts';

const adminUrl = process.env.EXPLAIN_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const users = Number(process.env.EXPLAIN_USERS ?? 2000);
const OUTPUT = new URL('../docs/queries.md', import.meta.url);
const BEGIN = '<!-- explain:begin -->';
const END = '<!-- explain:end -->';

const SEED = `insert into task (id, user_id, title, description, completed, completed_at, priority, tags, due_at, created_at, updated_at)
  select gen_random_uuid(), u.name,
    (array['Buy milk', 'Write report', 'Call mom', 'Plan trip', 'Fix the bike', 'Read a book'])[1 + t % 6] || ' ' || t,
    case when t % 3 = 0 then 'Notes ' || md5(u.name || t) end,
    t % 4 = 0, case when t % 4 = 0 then now() end,
    t % 4,
    (case t % 5 when 0 then '{work}' when 1 then '{home,errands}' when 2 then '{Q3,work}' else '{}' end)::varchar(32)[],
    case when t % 3 <> 0 then now() + ((t % 200) - 100) * interval '1 day' end,
    now() - t * interval '1 minute', now() - t * interval '30 seconds'
  from (select 'user_' || n as name, 100 as tasks from generate_series(1, ?) n
        union all select 'user_big', 20000) u,
    lateral generate_series(1, u.tasks) t`;

interface Case {
  title: string;
  why: string;
  filter?: TaskFilter;
  sort?: TaskSort;
  /** Continue after the user's 10 000th task in this order (a deep page). */
  deep?: boolean;
}

const NEWEST: TaskSort = { field: 'created_at', descending: true };

const CASES: Case[] = [
  { title: 'The default list, first page', why: '`GET /tasks?limit=100`' },
  { title: 'The default list, a deep page', why: '`GET /tasks?limit=100&cursor=…` 10 000 tasks in', deep: true },
  ...(['updated_at', 'due_at', 'priority', 'title'] as const).flatMap((field) =>
    [false, true].map((descending): Case => ({
      title: `sort=${descending ? '-' : ''}${field}, a deep page`,
      why: `\`GET /tasks?sort=${descending ? '-' : ''}${field}&cursor=…\``,
      sort: { field, descending },
      deep: true,
    })),
  ),
  { title: 'status=pending', why: '`GET /tasks?status=pending`', filter: { completed: false } },
  { title: 'priority=high&priority=medium', why: 'any of several priorities', filter: { priorities: [3, 2] } },
  { title: 'tag=work&tag=q3', why: 'every tag, without regard to case', filter: { tags: ['work', 'q3'] } },
  {
    title: 'due window, sorted by due date',
    why: '`GET /tasks?due_after=…&due_before=…&sort=due_at`',
    filter: { dueAfter: new Date(Date.now() - 7 * 86_400_000), dueBefore: new Date(Date.now() + 7 * 86_400_000) },
    sort: { field: 'due_at', descending: false },
  },
  { title: 'overdue=true', why: 'due before now, not completed', filter: { overdue: true } },
  {
    title: 'updated_since, a week ago',
    why: '`GET /tasks?updated_since=…`: changes oldest first',
    filter: { updatedSince: new Date(Date.now() - 7 * 86_400_000) },
    sort: { field: 'updated_at', descending: false },
  },
  {
    title: 'updated_since with include_deleted=true, a week ago',
    why: '`GET /tasks?updated_since=…&include_deleted=true`: changes and tombstones, merged oldest first',
    filter: { updatedSince: new Date(Date.now() - 7 * 86_400_000), includeDeleted: true },
    sort: { field: 'updated_at', descending: false },
  },
  { title: 'q=milk', why: "a common word: the user's own index, rows checked in order", filter: { search: 'milk' } },
  {
    title: 'q=read a book 1999',
    why: 'a rare text: the trigram indexes find the few rows across the table',
    filter: { search: 'read a book 1999' },
  },
];

const name = `tasks_explain_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const admin = await MikroORM.init({ clientUrl: adminUrl, entities: [], discovery: { warnWhenNoEntities: false } });
await admin.em.getConnection().execute(`create database "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const db = await openDatabase({ kind: 'postgresql', url: url.toString(), poolMax: 2 });
try {
  await migrate(db);
  const connection = db.em.getConnection();
  const platform = db.em.getPlatform();
  await connection.execute(SEED, [users]);
  // Tombstones of tasks the big user deleted over the last weeks, one every ten minutes.
  await connection.execute(
    `insert into task_tombstone (id, user_id, deleted_at)
     select gen_random_uuid(), 'user_big', now() - t * interval '10 minutes' from generate_series(1, 5000) t`,
  );
  await connection.execute('analyze task');
  await connection.execute('analyze task_tombstone');
  const [{ count, version }] = await connection.execute<[{ count: string; version: string }]>(
    'select count(*) as count, version() as version from task',
  );

  const explain = async (statement: sql.Statement) => {
    const text = platform.formatQuery(statement.sql, statement.params);
    const rows = await connection.execute<{ 'QUERY PLAN': string }[]>(
      `explain (analyze, buffers, timing off, summary on) ${text}`,
    );
    return { text, plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
  };

  const sections: string[] = [];
  for (const c of CASES) {
    const sort = c.sort ?? NEWEST;
    const filter = c.filter ?? {};
    let after;
    if (c.deep) {
      // The 10 000th task in this order: where a cursor that far in continues (sort fields are column names).
      const all = sql.listTasks('user_big', { limit: 10_000, filter, sort });
      const rows = await connection.execute<Record<string, unknown>[]>(platform.formatQuery(all.sql, all.params));
      const row = rows[9_999]!;
      after = { value: row[sort.field] as SortValue, id: row.id as string };
    }
    const { text, plan } = await explain(sql.listTasks('user_big', { limit: 100, filter, sort, after }));
    sections.push(`### ${c.title}\n\n${c.why}\n\n\`\`\`sql\n${text}\n\`\`\`\n\n\`\`\`\n${plan}\n\`\`\``);
  }
  const summary = await explain(sql.taskSummary('user_big', 'Europe/Paris'));
  sections.push(
    `### getTaskSummary\n\n\`GET /tasks/summary?tz=Europe/Paris\`: one pass over the user's rows\n\n\`\`\`sql\n${summary.text}\n\`\`\`\n\n\`\`\`\n${summary.plan}\n\`\`\``,
  );

  const sizes = await connection.execute<{ name: string; bytes: string }[]>(
    `select 'task (table)' as name, pg_relation_size('task') as bytes
     union all select indexrelname, pg_relation_size(indexrelid) from pg_stat_user_indexes where relname = 'task'
     order by bytes desc`,
  );
  sections.unshift(
    [
      '### What the indexes cost',
      '',
      'Sizes on this data (every index is written on every insert, and on every update of a column it holds):',
      '',
      '| relation | size |',
      '| --- | --- |',
      ...sizes.map((r) => `| \`${r.name}\` | ${(Number(r.bytes) / 2 ** 20).toFixed(1)} MB |`),
    ].join('\n'),
  );
  const generated = [
    BEGIN,
    `_Generated by \`npm run explain\` (scripts/explain-queries.ts) on ${new Date().toISOString()}: ${count} tasks (${users} users of 100, one of 20 000), after \`ANALYZE\`; ${version}._`,
    '',
    ...sections.flatMap((s) => [s, '']),
    END,
  ].join('\n');
  const current = readFileSync(OUTPUT, 'utf8');
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start < 0 || end < 0) throw new Error(`docs/queries.md has no ${BEGIN} … ${END} section`);
  writeFileSync(OUTPUT, current.slice(0, start) + generated + current.slice(end + END.length));
  console.log(`docs/queries.md: ${sections.length} plans over ${count} tasks`);
} finally {
  await db.close();
  await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
  await admin.close();
}
