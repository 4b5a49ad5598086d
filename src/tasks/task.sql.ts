// Every SQL statement the task operations run, built in one place: one statement per operation,
// always scoped to its user. `?` marks a parameter (MikroORM quotes and inlines them).
import type { NewTask, TaskChanges, TaskListQuery } from './task.repository.ts';
import type { SortField, TaskFilter } from './task.query.ts';

export interface Statement {
  sql: string;
  params: unknown[];
}

// Tags go in as an array constructor, whatever they contain (an empty list too), rather than as an
// array literal: MikroORM's literal writer leaves a tag spelled "null" unquoted, which PostgreSQL
// would read as NULL.
const tagArray = (tags: readonly string[]) => ({ sql: 'array[?]::varchar(32)[]', params: [tags] });

/**
 * Narrows a write to the versions the client named (If-Match), in the write's own WHERE clause: of
 * two concurrent writers naming the same version, the second finds the row moved on and matches
 * nothing. `undefined` is an unconditional write.
 */
function atVersion(expected: readonly number[] | undefined): Statement {
  if (expected === undefined) return { sql: '', params: [] };
  if (expected.length === 0) return { sql: ' and false', params: [] };
  return { sql: ' and version = any(array[?]::int[])', params: [expected] };
}

// Every write stamps `write_id` with an id of its own (a random UUID per call), which writtenBy and
// deletedBy below look for when the write's connection broke before its answer came.

export function insertTask(id: string, userId: string, task: NewTask, writeId: string): Statement {
  const tags = tagArray(task.tags);
  return {
    sql: `insert into task (id, user_id, title, description, completed, completed_at, priority, tags, due_at, write_id)
      values (?, ?, ?, ?, ?, case when ? then now() end, ?, ${tags.sql}, ?, ?)
      returning *`,
    params: [
      id,
      userId,
      task.title,
      task.description,
      task.completed,
      task.completed,
      task.priority,
      ...tags.params,
      task.dueAt,
      writeId,
    ],
  };
}

export function selectTask(userId: string, taskId: string): Statement {
  return { sql: 'select * from task where id = ? and user_id = ?', params: [taskId, userId] };
}

/**
 * The task as the write stamped `writeId` left it: a row when that write committed and nothing has
 * written the task since, none when it did not commit (or another write came after it).
 */
export function writtenBy(userId: string, taskId: string, writeId: string): Statement {
  return { sql: 'select * from task where id = ? and user_id = ? and write_id = ?', params: [taskId, userId, writeId] };
}

/** The delete stamped `writeId`, as deleteTask answers it, when it committed. */
export function deletedBy(userId: string, taskId: string, writeId: string): Statement {
  return {
    sql: 'select id from task_tombstone where id = ? and user_id = ? and write_id = ?',
    params: [taskId, userId, writeId],
  };
}

/**
 * A partial update: only the fields present change, and `updated_at` always moves. Completing an
 * open task stamps `completed_at`; completing a completed one keeps its stamp; reopening clears it.
 */
export function updateTask(
  userId: string,
  taskId: string,
  changes: TaskChanges,
  writeId: string,
  expected?: readonly number[],
): Statement {
  const sets: string[] = [];
  const params: unknown[] = [];
  const set = (sql: string, ...values: unknown[]) => {
    sets.push(sql);
    params.push(...values);
  };
  if (changes.title !== undefined) set('title = ?', changes.title);
  if (changes.description !== undefined) set('description = ?', changes.description);
  if (changes.completed !== undefined) {
    set('completed = ?', changes.completed);
    set('completed_at = case when ? then coalesce(completed_at, now()) end', changes.completed);
  }
  if (changes.priority !== undefined) set('priority = ?', changes.priority);
  if (changes.tags !== undefined) {
    const tags = tagArray(changes.tags);
    set(`tags = ${tags.sql}`, ...tags.params);
  }
  if (changes.dueAt !== undefined) set('due_at = ?', changes.dueAt);
  set('updated_at = now()');
  set('version = version + 1');
  set('write_id = ?', writeId);
  const condition = atVersion(expected);
  return {
    sql: `update task set ${sets.join(', ')} where id = ? and user_id = ?${condition.sql} returning *`,
    params: [...params, taskId, userId, ...condition.params],
  };
}

/**
 * Sets `completed` to a definite state, or flips it (`undefined`), in the database, so concurrent
 * toggles never lose one. Setting the state a task already has changes nothing visible: updated_at
 * stays, so the call is idempotent. Becoming completed stamps `completed_at`; reopening clears it.
 */
export function setTaskCompletion(
  userId: string,
  taskId: string,
  completed: boolean | undefined,
  writeId: string,
  expected?: readonly number[],
): Statement {
  const condition = atVersion(expected);
  if (completed === undefined) {
    return {
      sql: `update task
        set completed = not completed, completed_at = case when completed then null else now() end,
          updated_at = now(), version = version + 1, write_id = ?
        where id = ? and user_id = ?${condition.sql} returning *`,
      params: [writeId, taskId, userId, ...condition.params],
    };
  }
  // One UPDATE whatever the current state (the right-hand sides read the old row), so it stays a
  // single statement that other clauses can wrap.
  return {
    sql: `update task
      set completed = ?, completed_at = case when ? then coalesce(completed_at, now()) end,
        updated_at = case when completed = ? then updated_at else now() end,
        version = case when completed = ? then version else version + 1 end, write_id = ?
      where id = ? and user_id = ?${condition.sql} returning *`,
    params: [completed, completed, completed, completed, writeId, taskId, userId, ...condition.params],
  };
}

/**
 * Deletes the task and leaves its tombstone in the same statement, so no deletion goes unrecorded
 * for incremental sync; every other statement reads only `task`, so a deleted task stays not found.
 */
export function deleteTask(userId: string, taskId: string, writeId: string, expected?: readonly number[]): Statement {
  const condition = atVersion(expected);
  return {
    sql: `with gone as (delete from task where id = ? and user_id = ?${condition.sql} returning id, user_id)
      insert into task_tombstone (id, user_id, write_id) select id, user_id, ? from gone returning id`,
    params: [taskId, userId, ...condition.params, writeId],
  };
}

/** Forgets a bounded batch of tombstones older than the retention (the deleted_at index finds them). */
export function purgeTombstones(retentionDays: number, batch: number): Statement {
  return {
    sql: `delete from task_tombstone where id in (
        select id from task_tombstone where deleted_at < now() - make_interval(days => ?) limit ?
      )`,
    params: [retentionDays, batch],
  };
}

/** Overdue: due before now and not completed. The list filter and the summary count the same tasks. */
const OVERDUE = 'not completed and due_at < now()';

/** `%`, `_` and the escape character itself are plain characters in a search. */
const likeContaining = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function filterConditions(filter: TaskFilter): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (filter.completed !== undefined) add('completed = ?', filter.completed);
  if (filter.priorities) add('priority in (?)', filter.priorities);
  // Each tag, compared with PostgreSQL's lower() on both sides.
  for (const tag of filter.tags ?? [])
    add('exists (select from unnest(tags) as t (tag) where lower(t.tag) = lower(?))', tag);
  if (filter.dueBefore) add('due_at < ?', filter.dueBefore);
  if (filter.dueAfter) add('due_at >= ?', filter.dueAfter);
  if (filter.updatedSince) add('updated_at > ?', filter.updatedSince);
  if (filter.overdue === true) add(OVERDUE);
  if (filter.overdue === false) add(`not coalesce(${OVERDUE}, false)`);
  // ILIKE, which the trigram indexes on title and description serve.
  if (filter.search !== undefined) {
    const pattern = likeContaining(filter.search);
    add('(title ilike ? or description ilike ?)', pattern, pattern);
  }
  return { where, params };
}

/**
 * The key each sort orders by, as the (user_id, key, id) indexes spell it. Tasks without a due date
 * come last both ways: their key is +infinity ascending, -infinity descending.
 */
function sortKey(field: SortField, descending: boolean): { key: string; value: string } {
  if (field === 'due_at') {
    const missing = descending ? "'-infinity'::timestamptz" : "'infinity'::timestamptz";
    return { key: `coalesce(due_at, ${missing})`, value: `coalesce(?::timestamptz, ${missing})` };
  }
  return { key: field, value: '?' };
}

/**
 * A page of the user's tasks that pass the filter, in the sort's order with id breaking ties; one
 * row more than the page tells whether another follows. A cursor continues after the last task of
 * the previous page with a row-value comparison, which the index walks from that point (keyset
 * pagination: no OFFSET, so tasks created or deleted meanwhile never shift a page).
 */
export function listTasks(userId: string, query: TaskListQuery): Statement {
  const { where, params } = filterConditions(query.filter);
  const { field, descending } = query.sort;
  const { key, value } = sortKey(field, descending);
  // Sorted by due date, the due window is also said on the sort key, so that the index scan starts
  // and stops at the window's ends instead of checking every row (the due_at conditions above stay
  // and keep tasks without a due date out).
  if (field === 'due_at') {
    if (query.filter.dueBefore) {
      where.push(`${key} < ?`);
      params.push(query.filter.dueBefore);
    }
    if (query.filter.dueAfter) {
      where.push(`${key} >= ?`);
      params.push(query.filter.dueAfter);
    }
  }
  if (query.after) {
    where.push(`(${key}, id) ${descending ? '<' : '>'} (${value}, ?)`);
    params.push(query.after.value, query.after.id);
  }
  const direction = descending ? 'desc' : 'asc';
  if (query.filter.includeDeleted) return withTombstones(userId, query, where, params);
  return {
    sql: `select * from task where ${['user_id = ?', ...where].join(' and ')} order by ${key} ${direction}, id ${direction} limit ?`,
    params: [userId, ...params, query.limit + 1],
  };
}

/** The task's columns, named so that a union can line tombstones up under them (id and user_id first). */
const TASK_COLUMNS = [
  'id',
  'user_id',
  'title',
  'description',
  'completed',
  'completed_at',
  'priority',
  'tags',
  'due_at',
  'created_at',
  'updated_at',
  'version',
];

/**
 * Changes since an instant with the deletions among them: the tasks range and the tombstones range,
 * each walked on its own (user_id, time, id) index, merged in (changed_at, id) order. A tombstone row
 * has `deleted_at` set and the task columns null. Each side is limited too, so neither reads past a page.
 */
function withTombstones(userId: string, query: TaskListQuery, where: string[], params: unknown[]): Statement {
  const tombstoneWhere = ['user_id = ?', 'deleted_at > ?'];
  const tombstoneParams: unknown[] = [userId, query.filter.updatedSince];
  if (query.after) {
    tombstoneWhere.push('(deleted_at, id) > (?, ?)');
    tombstoneParams.push(query.after.value, query.after.id);
  }
  const limit = query.limit + 1;
  return {
    sql: `(select ${TASK_COLUMNS.join(', ')}, updated_at as changed_at, null::timestamptz as deleted_at from task
        where ${['user_id = ?', ...where].join(' and ')} order by updated_at, id limit ?)
      union all
      (select id, user_id, ${TASK_COLUMNS.slice(2)
        .map(() => 'null')
        .join(', ')}, deleted_at as changed_at, deleted_at
        from task_tombstone where ${tombstoneWhere.join(' and ')} order by deleted_at, id limit ?)
      order by changed_at, id limit ?`,
    params: [userId, ...params, limit, ...tombstoneParams, limit, limit],
  };
}

/**
 * The summary counters in one pass over the user's tasks. "Today" is the calendar day of now() in
 * the time zone, from its local midnight to the next (23 or 25 hours on a daylight-saving change).
 */
export function taskSummary(userId: string, timeZone: string): Statement {
  return {
    sql: `select count(*)::int as total,
        (count(*) filter (where not completed))::int as pending,
        (count(*) filter (where completed))::int as completed,
        (count(*) filter (where ${OVERDUE}))::int as overdue,
        (count(*) filter (where not completed and due_at >= today.starts and due_at < today.ends))::int as due_today
      from task, (select date_trunc('day', now() at time zone ?) at time zone ? as starts,
        (date_trunc('day', now() at time zone ?) + interval '1 day') at time zone ? as ends) as today
      where user_id = ?`,
    params: [timeZone, timeZone, timeZone, timeZone, userId],
  };
}
