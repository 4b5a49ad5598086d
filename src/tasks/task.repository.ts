// One method per use case, each a single SQL statement (one round trip), scoped to its user. The
// statements themselves are built in task.sql.ts. Updates are computed by the database
// (`not completed`, `now()`), so concurrent requests never lose each other's writes.
import { randomUUID } from 'node:crypto';
import type { EntityMetadata } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../clock.ts';
import type { DatabaseAvailability } from '../db/availability.ts';
import { TaskSchema, type Task } from './task.entity.ts';
import type { TaskPosition } from './task.cursor.ts';
import {
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  SyncTooOldError,
  TaskChangedError,
} from './task.errors.ts';
import type { TaskTombstone } from './task.mapper.ts';
import * as idempotency from './idempotency.sql.ts';
import type { Retry } from './idempotency.sql.ts';
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

/** A write's task, and whether it is the answer remembered from an earlier request with the same Idempotency-Key. */
export interface WriteOutcome {
  task: Task;
  replayed: boolean;
}

/** Expired idempotency keys are swept at most this often per instance, a bounded batch at a time. */
const SWEEP_EVERY_MS = 60_000;
const SWEEP_BATCH = 1000;

/** Tombstones older than the retention are purged at most this often per instance, a bounded batch at a time. */
const PURGE_EVERY_MS = 60_000;
const PURGE_BATCH = 1000;
const DAY_MS = 86_400_000;

export interface TaskPage {
  /** Tombstones only when the filter includes deleted tasks. */
  tasks: (Task | TaskTombstone)[];
  /** Where the next page starts, when there is one. */
  next: TaskPosition | undefined;
}

/** A write, and the read that finds the stamp it leaves when it commits (see #rows). */
interface Write {
  statement: sql.Statement;
  landed: sql.Statement;
}

/** Stamps a write on one task with an id of its own; `landed` builds the read that looks for it. */
function stamped(
  userId: string,
  taskId: string,
  write: (writeId: string) => sql.Statement,
  landed = sql.writtenBy,
): Write {
  const writeId = randomUUID();
  return { statement: write(writeId), landed: landed(userId, taskId, writeId) };
}

export class TaskRepository {
  readonly #em: SqlEntityManager;
  readonly #availability: DatabaseAvailability;
  readonly #meta: EntityMetadata<Task>;
  #lastSweep = Number.NEGATIVE_INFINITY;
  #lastPurge = Number.NEGATIVE_INFINITY;
  readonly #tombstoneRetentionDays: number;
  readonly #clock: Clock;

  /**
   * `em` is the global manager, used only for its connection and its row mapping (never its
   * identity map), so no request needs a context or fork of its own. `clock` times the sweeps and
   * purges; only intervals matter, so the default is monotonic (as ReadinessCheck's).
   */
  constructor(
    em: SqlEntityManager,
    availability: DatabaseAvailability,
    {
      tombstoneRetentionDays = 30,
      clock = () => performance.now(),
    }: { tombstoneRetentionDays?: number; clock?: Clock } = {},
  ) {
    this.#tombstoneRetentionDays = tombstoneRetentionDays;
    this.#clock = clock;
    this.#em = em;
    this.#availability = availability;
    this.#meta = em.getMetadata().get<Task>(TaskSchema.meta.class);
  }

  /**
   * Every statement runs here, so an outage always becomes DatabaseUnavailableError (a 503). On a
   * dropped connection a read runs again; a write passes `landed`, the read of its stamp, and runs
   * again only if that finds it did not commit (StatementOptions in availability.ts). Statements
   * that may run twice without harm (the purges) pass none.
   */
  #rows<Row>(statement: sql.Statement, landed?: sql.Statement): Promise<Row[]> {
    const execute = (s: sql.Statement) => () => this.#em.getConnection().execute<Row[]>(s.sql, s.params);
    if (!landed) return this.#availability.run(execute(statement), { retry: 'when-dropped' });
    const found = execute(landed);
    return this.#availability.run(execute(statement), {
      retry: 'write',
      landed: async () => {
        const rows = await found();
        return rows.length > 0 ? rows : undefined;
      },
    });
  }

  /** Runs a statement and reads its rows as tasks (column names and types mapped as the entity says). */
  async #tasks(statement: sql.Statement, landed?: sql.Statement): Promise<Task[]> {
    const rows = await this.#rows<Record<string, unknown>>(statement, landed);
    return rows.map((row) => this.#asTask(row));
  }

  #asTask(row: Record<string, unknown>): Task {
    return this.#em.getDriver().mapResult(row, this.#meta) as Task;
  }

  /** With `retry`, a retry of the same request answers the task first created, and creates nothing. */
  async createTask(userId: string, task: NewTask, retry?: Retry): Promise<WriteOutcome> {
    // UUIDv7: time-ordered, so new rows land at the right edge of the primary-key index.
    const id = uuidv7();
    const write = stamped(userId, id, (writeId) => sql.insertTask(id, userId, task, writeId));
    const { task: created, replayed } = await this.#once(userId, write, retry);
    return { task: created!, replayed };
  }

  /**
   * With deleted tasks included, an instant older than the retention is a SyncTooOldError: the
   * tombstones since then may have been purged, so the changes listed could not be complete.
   */
  async listTasks(userId: string, query: TaskListQuery): Promise<TaskPage> {
    const { updatedSince, includeDeleted } = query.filter;
    if (includeDeleted && updatedSince) {
      const horizon = new Date(Date.now() - this.#tombstoneRetentionDays * DAY_MS);
      if (updatedSince < horizon) throw new SyncTooOldError(horizon, this.#tombstoneRetentionDays);
    }
    const rows = await this.#rows<Record<string, unknown>>(sql.listTasks(userId, query));
    const items = rows.slice(0, query.limit).map((row) => this.#asItem(row));
    const last = items.at(-1);
    const position = (item: Task | TaskTombstone) =>
      'deletedAt' in item ? item.deletedAt : sortValue(item, query.sort.field);
    return {
      tasks: items,
      next: rows.length > query.limit && last ? { value: position(last), id: last.id } : undefined,
    };
  }

  /** A list row: a tombstone when it has `deleted_at` (see sql.listTasks with deleted tasks), else a task. */
  #asItem(row: Record<string, unknown>): Task | TaskTombstone {
    const { changed_at: _changedAt, deleted_at: deletedAt, ...task } = row;
    if (deletedAt !== undefined && deletedAt !== null) {
      return { id: task.id as string, deletedAt: new Date(deletedAt as string | Date) };
    }
    return this.#asTask(task);
  }

  /** `timeZone` is an IANA name the database knows (see toTimeZone). */
  async getTaskSummary(userId: string, timeZone: string): Promise<TaskSummary> {
    const statement = sql.taskSummary(userId, timeZone);
    const [row] = await this.#rows<{
      total: number;
      pending: number;
      completed: number;
      overdue: number;
      due_today: number;
    }>(statement);
    const { total, pending, completed, overdue, due_today: dueToday } = row!;
    return { total, pending, completed, overdue, dueToday };
  }

  async getTask(userId: string, taskId: string): Promise<Task | undefined> {
    return (await this.#tasks(sql.selectTask(userId, taskId)))[0];
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
    const write = stamped(userId, taskId, (writeId) => sql.updateTask(userId, taskId, changes, writeId, expected));
    return (await this.#write(write, userId, taskId, expected))?.task;
  }

  /**
   * `completed` sets that state (idempotent); `undefined` flips it. With `retry`, a retry of the
   * same call answers what the first did, and changes nothing (a toggle is not applied twice).
   */
  async toggleTaskCompletion(
    userId: string,
    taskId: string,
    completed: boolean | undefined,
    expected?: readonly number[],
    retry?: Retry,
  ): Promise<WriteOutcome | undefined> {
    const write = stamped(userId, taskId, (writeId) =>
      sql.setTaskCompletion(userId, taskId, completed, writeId, expected),
    );
    return this.#write(write, userId, taskId, expected, retry);
  }

  /** True when a task was deleted. */
  async deleteTask(userId: string, taskId: string, expected?: readonly number[]): Promise<boolean> {
    const write = stamped(
      userId,
      taskId,
      (writeId) => sql.deleteTask(userId, taskId, writeId, expected),
      sql.deletedBy,
    );
    const deleted = (await this.#write(write, userId, taskId, expected)) !== undefined;
    if (deleted && this.#clock() - this.#lastPurge >= PURGE_EVERY_MS) {
      this.purgeTombstones().catch(() => {}); // best effort: the next delete a minute on tries again
    }
    return deleted;
  }

  /**
   * Forgets a batch of tombstones older than the retention. Run by deletes, at most once a minute
   * per instance: tombstones only accrue through deletes, so a service that deletes nothing keeps
   * none to purge beyond those already there.
   */
  async purgeTombstones(batch = PURGE_BATCH): Promise<void> {
    this.#lastPurge = this.#clock();
    await this.#rows(sql.purgeTombstones(this.#tombstoneRetentionDays, batch));
  }

  /** Forgets a batch of expired idempotency keys (also done now and then by the writes that take keys). */
  async sweepExpiredKeys(batch = SWEEP_BATCH): Promise<void> {
    this.#lastSweep = this.#clock();
    await this.#rows(idempotency.sweepExpired(batch));
  }

  /**
   * Runs a write that the database made conditional on `expected` (one statement, so the check and
   * the write cannot be split by another writer). When it matched nothing, a lookup tells a task
   * at another version (TaskChangedError) from no task at all (undefined: not found).
   */
  async #write(
    write: Write,
    userId: string,
    taskId: string,
    expected: readonly number[] | undefined,
    retry?: Retry,
  ): Promise<WriteOutcome | undefined> {
    const { task, replayed } = await this.#once(userId, write, retry);
    if (task) return { task, replayed };
    if (expected === undefined) return undefined;
    const current = await this.getTask(userId, taskId);
    if (current) throw new TaskChangedError(current.version);
    return undefined;
  }

  /**
   * Runs a write once per Idempotency-Key: a key seen before answers the task remembered under it
   * (or IdempotencyKeyReusedError when it came with another request); a new key is remembered by
   * the write's own statement. A request that raced another with the same key loses at the key's
   * primary key, after waiting for the winner to commit, and answers what the winner did.
   */
  async #once(
    userId: string,
    write: Write,
    retry: Retry | undefined,
  ): Promise<{ task: Task | undefined; replayed: boolean }> {
    if (!retry) return { task: (await this.#tasks(write.statement, write.landed))[0], replayed: false };
    const earlier = await this.#recall(userId, retry);
    if (earlier) return { task: earlier, replayed: true };
    try {
      const [task] = await this.#tasks(idempotency.remembered(write.statement, userId, retry), write.landed);
      if (task && this.#clock() - this.#lastSweep >= SWEEP_EVERY_MS) {
        this.sweepExpiredKeys().catch(() => {}); // best effort: expired keys are also ignored when read
      }
      return { task, replayed: false };
    } catch (err) {
      if (!idempotency.isKeyTaken(err)) throw err;
      const first = await this.#recall(userId, retry);
      if (first) return { task: first, replayed: true };
      throw new IdempotencyKeyInUseError();
    }
  }

  async #recall(userId: string, retry: Retry): Promise<Task | undefined> {
    const [row] = await this.#rows<Record<string, unknown>>(idempotency.recall(userId, retry.key));
    if (!row) return undefined;
    const { idempotency_fingerprint: fingerprint, ...task } = row;
    if (fingerprint !== retry.fingerprint) throw new IdempotencyKeyReusedError();
    return this.#asTask(task);
  }
}
