// Every SQL statement the task operations run, built in one place: one statement per operation,
// always scoped to its user. `?` marks a parameter (MikroORM quotes and inlines them).
import type { NewTask, TaskChanges, TaskListQuery } from './task.repository.ts';

export interface Statement {
  sql: string;
  params: unknown[];
}

// Tags go in as an array constructor, whatever they contain (an empty list too), rather than as an
// array literal: MikroORM's literal writer leaves a tag spelled "null" unquoted, which PostgreSQL
// would read as NULL.
const tagArray = (tags: readonly string[]) => ({ sql: 'array[?]::varchar(32)[]', params: [tags] });

export function insertTask(id: string, userId: string, task: NewTask): Statement {
  const tags = tagArray(task.tags);
  return {
    sql: `insert into task (id, user_id, title, description, completed, completed_at, priority, tags, due_at)
      values (?, ?, ?, ?, ?, case when ? then now() end, ?, ${tags.sql}, ?)
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
    ],
  };
}

export function selectTask(userId: string, taskId: string): Statement {
  return { sql: 'select * from task where id = ? and user_id = ?', params: [taskId, userId] };
}

/**
 * A partial update: only the fields present change, and `updated_at` always moves. Completing an
 * open task stamps `completed_at`; completing a completed one keeps its stamp; reopening clears it.
 */
export function updateTask(userId: string, taskId: string, changes: TaskChanges): Statement {
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
  return {
    sql: `update task set ${sets.join(', ')} where id = ? and user_id = ? returning *`,
    params: [...params, taskId, userId],
  };
}

/**
 * Sets `completed` to a definite state, or flips it (`undefined`), in the database, so concurrent
 * toggles never lose one. Setting the state a task already has changes nothing visible: updated_at
 * stays, so the call is idempotent. Becoming completed stamps `completed_at`; reopening clears it.
 */
export function setTaskCompletion(userId: string, taskId: string, completed: boolean | undefined): Statement {
  if (completed === undefined) {
    return {
      sql: `update task
        set completed = not completed, completed_at = case when completed then null else now() end, updated_at = now()
        where id = ? and user_id = ? returning *`,
      params: [taskId, userId],
    };
  }
  // One UPDATE whatever the current state (the right-hand sides read the old row), so it stays a
  // single statement that other clauses can wrap.
  return {
    sql: `update task
      set completed = ?, completed_at = case when ? then coalesce(completed_at, now()) end,
        updated_at = case when completed = ? then updated_at else now() end
      where id = ? and user_id = ? returning *`,
    params: [completed, completed, completed, taskId, userId],
  };
}

export function deleteTask(userId: string, taskId: string): Statement {
  return { sql: 'delete from task where id = ? and user_id = ? returning id', params: [taskId, userId] };
}

/** A page of the user's tasks, newest first; one row more than the page tells whether another follows. */
export function listTasks(userId: string, query: TaskListQuery): Statement {
  const where = ['user_id = ?'];
  const params: unknown[] = [userId];
  if (query.completed !== undefined) {
    where.push('completed = ?');
    params.push(query.completed);
  }
  if (query.after) {
    // A row-value comparison walks the (user_id, created_at, id) index backwards from the cursor.
    where.push('(created_at, id) < (?, ?)');
    params.push(query.after.createdAt, query.after.id);
  }
  return {
    sql: `select * from task where ${where.join(' and ')} order by created_at desc, id desc limit ?`,
    params: [...params, query.limit + 1],
  };
}
