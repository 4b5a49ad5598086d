// The query plans behind the size comparison (BENCH_PRELOAD=1): EXPLAIN ANALYZE of the service's own
// statements (src/tasks/task.sql.ts, formatted as MikroORM sends them) for the hot user, whose list is
// the longest. The insert runs in a transaction that is rolled back.
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';
import pg from 'pg';
import { toTaskListQuery } from '../src/tasks/task.mapper.ts';
import * as sql from '../src/tasks/task.sql.ts';
import { taskId, userId, type DataSet } from './load.ts';

export async function plans(url: string, data: DataSet): Promise<string> {
  const platform = new PostgreSqlPlatform();
  const user = userId(0);
  const middle = Math.floor(data.hotUserTasks / 2);
  const newestFirst = toTaskListQuery({}); // the default filter and sort
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ created_at: Date }>('select created_at from task where id = $1', [
      taskId(0, middle),
    ]);
    const statements: [string, sql.Statement][] = [
      ['getTask', sql.selectTask(user, taskId(0, 17))],
      ['listTasks, first page of 20', sql.listTasks(user, { ...newestFirst, limit: 20 })],
      [
        'listTasks, 20 after a cursor in the middle',
        sql.listTasks(user, {
          ...newestFirst,
          limit: 20,
          after: { value: rows[0]!.created_at, id: taskId(0, middle) },
        }),
      ],
      [
        'createTask',
        sql.insertTask(
          '018f0000-0000-7000-8000-000000000000',
          user,
          {
            title: 'Plan',
            description: null,
            completed: false,
            priority: 0,
            tags: [],
            dueAt: null,
          },
          '018f0000-0000-4000-8000-000000000000',
        ),
      ],
    ];
    const out: string[] = [];
    for (const [name, statement] of statements) {
      await client.query('begin');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers, costs off) ${platform.formatQuery(statement.sql, statement.params)}`,
      );
      await client.query('rollback');
      out.push(`${name}:`, '```', ...plan.rows.map((r) => r['QUERY PLAN']), '```', '');
    }
    const size = await client.query<{ rows: string; bytes: string }>(
      `select count(*) as rows, pg_total_relation_size('task') as bytes from task`,
    );
    out.push(
      `Table task: ${size.rows[0]!.rows} rows, ${(Number(size.rows[0]!.bytes) / 2 ** 20).toFixed(0)} MB with its indexes (${(Number(size.rows[0]!.bytes) / Number(size.rows[0]!.rows)).toFixed(0)} B per row).`,
    );
    return out.join('\n');
  } finally {
    await client.end();
  }
}
