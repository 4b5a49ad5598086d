// One method per use case, each a single SQL statement (one round trip), scoped to its user.
// Updates are computed by the database (`not completed`, `now()`), so concurrent requests never
// lose each other's writes.
import { raw, type SqlEntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { TaskSchema, type Task } from './task.entity.ts';
import type { TaskPosition } from './task.cursor.ts';

export interface NewTask {
  title: string;
  description: string | null;
  completed: boolean;
}

export type TaskChanges = Partial<NewTask>;

export interface TaskListQuery {
  limit: number;
  /** Start after this task (keyset pagination). */
  after?: TaskPosition | undefined;
  completed?: boolean | undefined;
}

export interface TaskPage {
  tasks: Task[];
  /** Where the next page starts, when there is one. */
  next: TaskPosition | undefined;
}

export class TaskRepository {
  readonly #em: SqlEntityManager;

  /** `em` is the global manager; inside a RequestContext every call resolves to the request's fork. */
  constructor(em: SqlEntityManager) {
    this.#em = em;
  }

  #query() {
    return this.#em.createQueryBuilder(TaskSchema);
  }

  async createTask(userId: string, task: NewTask): Promise<Task> {
    // UUIDv7: time-ordered, so new rows land at the right edge of the primary-key index.
    const row = await this.#query()
      .insert({ id: uuidv7(), userId, ...task })
      .returning('*')
      .execute<Task>('get');
    return row;
  }

  async listTasks(userId: string, query: TaskListQuery): Promise<TaskPage> {
    const qb = this.#query().select('*').where({ userId });
    if (query.completed !== undefined) qb.andWhere({ completed: query.completed });
    if (query.after) {
      // A row-value comparison walks the (user_id, created_at, id) index backwards from the cursor.
      qb.andWhere(raw('(created_at, id) < (?, ?)', [query.after.createdAt, query.after.id]));
    }
    // One row more than asked tells whether another page follows, without a count query.
    const rows = await qb
      .orderBy({ createdAt: 'desc', id: 'desc' })
      .limit(query.limit + 1)
      .execute<Task[]>('all');
    const tasks = rows.slice(0, query.limit);
    const last = tasks.at(-1);
    return {
      tasks,
      next: rows.length > query.limit && last ? { createdAt: last.createdAt, id: last.id } : undefined,
    };
  }

  async getTask(userId: string, taskId: string): Promise<Task | undefined> {
    return this.#query().select('*').where({ id: taskId, userId }).execute<Task | undefined>('get');
  }

  async updateTask(userId: string, taskId: string, changes: TaskChanges): Promise<Task | undefined> {
    return this.#query()
      .update({ ...changes, updatedAt: raw('now()') })
      .where({ id: taskId, userId })
      .returning('*')
      .execute<Task | undefined>('get');
  }

  async toggleTaskCompletion(userId: string, taskId: string): Promise<Task | undefined> {
    return this.#query()
      .update({ completed: raw('not completed'), updatedAt: raw('now()') })
      .where({ id: taskId, userId })
      .returning('*')
      .execute<Task | undefined>('get');
  }

  /** True when a task was deleted. */
  async deleteTask(userId: string, taskId: string): Promise<boolean> {
    const deleted = await this.#em.nativeDelete(TaskSchema, { id: taskId, userId });
    return deleted > 0;
  }
}
