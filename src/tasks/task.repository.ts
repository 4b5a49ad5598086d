// One method per use case, each a single SQL statement (one round trip), scoped to its user. The
// statements themselves are built in task.sql.ts. Updates are computed by the database
// (`not completed`, `now()`), so concurrent requests never lose each other's writes.
import type { EntityMetadata } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import type { DatabaseAvailability } from '../db/availability.ts';
import { TaskSchema, type Task } from './task.entity.ts';
import type { TaskPosition } from './task.cursor.ts';
import { TaskChangedError } from './task.errors.ts';
import { sortValue, type TaskFilter, type TaskSort } from './task.query.ts';
import * as sql from './task.sql.ts';

export interface NewTask {
  title: string;
  description: string | null;
  completed: boolean;
  /** 0 (none) to 3 (high). */
  priority: number;
  tags: string[];
  dueAt: Date | null;
}

export type TaskChanges = Partial<NewTask>;

export interface TaskListQuery {
  limit: number;
  filter: TaskFilter;
  sort: TaskSort;
  /** Start after this task (keyset pagination). */
  after?: TaskPosition | undefined;
}

export interface TaskSummary {
  total: number;
  pending: number;
  completed: number;
  overdue: number;
  /** Pending tasks due on today's date in the time zone asked for. */
  dueToday: number;
}

export interface TaskPage {
  tasks: Task[];
  /** Where the next page starts, when there is one. */
  next: TaskPosition | undefined;
}

export class TaskRepository {
  readonly #em: SqlEntityManager;
  readonly #availability: DatabaseAvailability;
  readonly #meta: EntityMetadata<Task>;

  /**
   * `em` is the global manager, used only for its connection and its row mapping (never its
   * identity map), so no request needs a context or fork of its own.
   */
  constructor(em: SqlEntityManager, availability: DatabaseAvailability) {
    this.#em = em;
    this.#availability = availability;
    this.#meta = em.getMetadata().get<Task>(TaskSchema.meta.class);
  }

  /**
   * Every statement runs here, so an outage always becomes DatabaseUnavailableError (a 503). Only
   * reads are `retryable`: a write whose connection dropped may have been committed.
   */
  #rows<Row>(statement: sql.Statement, { retryable = false } = {}): Promise<Row[]> {
    return this.#availability.run(() => this.#em.getConnection().execute<Row[]>(statement.sql, statement.params), {
      retryable,
    });
  }

  /** Runs a statement and reads its rows as tasks (column names and types mapped as the entity says). */
  async #tasks(statement: sql.Statement, options?: { retryable: boolean }): Promise<Task[]> {
    const rows = await this.#rows<Record<string, unknown>>(statement, options);
    const driver = this.#em.getDriver();
    return rows.map((row) => driver.mapResult(row, this.#meta) as Task);
  }

  async createTask(userId: string, task: NewTask): Promise<Task> {
    // UUIDv7: time-ordered, so new rows land at the right edge of the primary-key index.
    const [created] = await this.#tasks(sql.insertTask(uuidv7(), userId, task));
    return created!;
  }

  async listTasks(userId: string, query: TaskListQuery): Promise<TaskPage> {
    const rows = await this.#tasks(sql.listTasks(userId, query), { retryable: true });
    const tasks = rows.slice(0, query.limit);
    const last = tasks.at(-1);
    return {
      tasks,
      next: rows.length > query.limit && last ? { value: sortValue(last, query.sort.field), id: last.id } : undefined,
    };
  }

  /** `timeZone` is an IANA name the database knows (see toTimeZone). */
  async summarizeTasks(userId: string, timeZone: string): Promise<TaskSummary> {
    const statement = sql.taskSummary(userId, timeZone);
    const [row] = await this.#rows<{
      total: number;
      pending: number;
      completed: number;
      overdue: number;
      due_today: number;
    }>(statement, { retryable: true });
    const { total, pending, completed, overdue, due_today: dueToday } = row!;
    return { total, pending, completed, overdue, dueToday };
  }

  async getTask(userId: string, taskId: string): Promise<Task | undefined> {
    return (await this.#tasks(sql.selectTask(userId, taskId), { retryable: true }))[0];
  }

  // The writes below take `expected`: the versions the task may be at for the write to happen
  // (If-Match), or undefined for an unconditional write. A task at another version is a
  // TaskChangedError, and nothing is written.

  async updateTask(
    userId: string,
    taskId: string,
    changes: TaskChanges,
    expected?: readonly number[],
  ): Promise<Task | undefined> {
    return this.#conditional(sql.updateTask(userId, taskId, changes, expected), userId, taskId, expected);
  }

  /** `completed` sets that state (idempotent); `undefined` flips it. */
  async setTaskCompletion(
    userId: string,
    taskId: string,
    completed: boolean | undefined,
    expected?: readonly number[],
  ): Promise<Task | undefined> {
    return this.#conditional(sql.setTaskCompletion(userId, taskId, completed, expected), userId, taskId, expected);
  }

  /** True when a task was deleted. */
  async deleteTask(userId: string, taskId: string, expected?: readonly number[]): Promise<boolean> {
    return (await this.#conditional(sql.deleteTask(userId, taskId, expected), userId, taskId, expected)) !== undefined;
  }

  /**
   * Runs a write that the database made conditional on `expected` (one statement, so the check and
   * the write cannot be split by another writer). When it matched nothing, a lookup tells a task
   * at another version (TaskChangedError) from no task at all (undefined: not found).
   */
  async #conditional(
    statement: sql.Statement,
    userId: string,
    taskId: string,
    expected: readonly number[] | undefined,
  ): Promise<Task | undefined> {
    const [task] = await this.#tasks(statement);
    if (task || expected === undefined) return task;
    const current = await this.getTask(userId, taskId);
    if (current) throw new TaskChangedError(current.version);
    return undefined;
  }
}
