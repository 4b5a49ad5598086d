// The one place where the API's shape and the entity's shape meet.
import type { components, operations } from '../../generated/schema.d.ts';
import type { Task } from './task.entity.ts';
import { isoInstant } from './instant.ts';
import { ConflictingFiltersError, UnknownTimeZoneError } from './task.errors.ts';
import type { SortField, TaskFilter, TaskSort } from './task.query.ts';
import type { TaskChanges, NewTask, TaskSummary } from './task.repository.ts';

export type ApiTask = components['schemas']['Task'];
type ApiTaskTombstone = components['schemas']['TaskTombstone'];
export type Priority = components['schemas']['Priority'];
type TaskCreate = components['schemas']['TaskCreate'];
type TaskUpdate = components['schemas']['TaskUpdate'];
type ListQuery = NonNullable<operations['listTasks']['parameters']['query']>;
type ApiTaskSummary = components['schemas']['TaskSummary'];

/** Priorities in rising order: the index is what the database stores, so it sorts by importance. */
const PRIORITIES: readonly Priority[] = ['none', 'low', 'medium', 'high'];

export const priorityRank = (priority: Priority): number => PRIORITIES.indexOf(priority);

function priorityName(rank: number): Priority {
  const name = PRIORITIES[rank];
  if (name === undefined) throw new Error(`A task has priority rank ${rank}, outside 0–3`);
  return name;
}

export function toApiTask(task: Task): ApiTask {
  return {
    id: task.id,
    user_id: task.userId,
    title: task.title,
    description: task.description ?? null,
    completed: task.completed,
    priority: priorityName(task.priority),
    tags: task.tags,
    // Always UTC with "Z": the replaced service sent local times with no zone.
    due_at: task.dueAt ? isoInstant(task.dueAt) : null,
    completed_at: task.completedAt ? isoInstant(task.completedAt) : null,
    created_at: isoInstant(task.createdAt),
    updated_at: isoInstant(task.updatedAt),
    version: task.version,
  };
}

/** A deleted task, as incremental sync lists it. */
export interface TaskTombstone {
  id: string;
  deletedAt: Date;
}

export const toApiTaskTombstone = (tombstone: TaskTombstone): ApiTaskTombstone => ({
  id: tombstone.id,
  deleted_at: isoInstant(tombstone.deletedAt),
  deleted: true,
});

/**
 * A leading byte-order mark (U+FEFF) is dropped: PGlite decodes text with a TextDecoder that
 * strips it, so keeping it would make the embedded and the real database disagree. Documented in
 * the spec's Description. (Titles lose it anyway: it is white space to trim().)
 */
const withoutLeadingBom = (text: string | null) => (text === null ? null : text.replace(/^\uFEFF+/, ''));

/** What makes two tags the same tag: their spelling without regard to case. */
export const tagKey = (tag: string): string => tag.toLowerCase();

/**
 * Tags that differ only in case are one tag: the first spelling sent is kept, in the order sent
 * (the spec's Tags). Case is folded by Unicode lower-casing, the same for every locale.
 */
export function distinctTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  return tags.filter((tag) => {
    const key = tagKey(tag);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** An RFC 3339 date-time the spec accepted (DateTimeInput), as an instant kept to the millisecond. */
export const toInstant = (text: string): Date => new Date(text);

const dueAt = (value: string | null) => (value === null ? null : toInstant(value));

export function toNewTask(body: TaskCreate): NewTask {
  return {
    title: body.title.trim(),
    description: withoutLeadingBom(body.description ?? null),
    completed: body.completed ?? false,
    priority: priorityRank(body.priority ?? 'none'),
    tags: distinctTags(body.tags ?? []),
    dueAt: dueAt(body.due_at ?? null),
  };
}

/** Only the fields present in the body; `description: null` and `due_at: null` are changes (they clear). */
export function toTaskChanges(body: TaskUpdate): TaskChanges {
  return {
    ...(body.title !== undefined ? { title: body.title.trim() } : {}),
    ...(body.description !== undefined ? { description: withoutLeadingBom(body.description) } : {}),
    ...(body.completed !== undefined ? { completed: body.completed } : {}),
    ...(body.priority !== undefined ? { priority: priorityRank(body.priority) } : {}),
    ...(body.tags !== undefined ? { tags: distinctTags(body.tags) } : {}),
    ...(body.due_at !== undefined ? { dueAt: dueAt(body.due_at) } : {}),
  };
}

/**
 * The filter and sort a listTasks query asks for. `status` and `completed` say the same thing in
 * two ways (the original frontend sends `status`); when both are sent they must agree. Changes
 * since an instant are listed oldest first.
 */
export function toTaskListQuery(query: ListQuery): { filter: TaskFilter; sort: TaskSort } {
  const byStatus = query.status === undefined || query.status === 'all' ? undefined : query.status === 'completed';
  if (query.status !== undefined && query.completed !== undefined && byStatus !== query.completed) {
    throw new ConflictingFiltersError('status', `${query.status} contradicts completed=${query.completed}`);
  }
  // Changes since an instant come oldest first, so a client can resume from the last one it saw.
  if (query.updated_since !== undefined && query.sort !== undefined && query.sort !== 'updated_at') {
    throw new ConflictingFiltersError(
      'updated_since',
      `lists changes oldest first: sort=${query.sort} cannot go with it`,
    );
  }
  // Tombstones are only kept as changes since an instant; on their own they would be no list at all.
  if (query.include_deleted === true && query.updated_since === undefined) {
    throw new ConflictingFiltersError(
      'include_deleted',
      'lists deletions since an instant: send updated_since with it',
    );
  }
  const sort = query.sort ?? (query.updated_since === undefined ? '-created_at' : 'updated_at');
  return {
    filter: {
      completed: query.completed ?? byStatus,
      priorities: query.priority?.map(priorityRank),
      tags: query.tag,
      dueBefore: query.due_before === undefined ? undefined : toInstant(query.due_before),
      dueAfter: query.due_after === undefined ? undefined : toInstant(query.due_after),
      overdue: query.overdue,
      search: query.q,
      updatedSince: query.updated_since === undefined ? undefined : toInstant(query.updated_since),
      includeDeleted: query.include_deleted === true ? true : undefined,
    },
    sort: { field: sort.replace(/^-/, '') as SortField, descending: sort.startsWith('-') },
  };
}

/**
 * An IANA time zone name as the database should be given it (Intl's canonical spelling), checked
 * against Node's ICU time zone data: no database round trip (PostgreSQL's pg_timezone_names reads
 * its zone files on every call), and a test makes sure both databases know every zone Intl knows.
 * The spec already refuses numeric offsets, which PostgreSQL reads with the POSIX sign (inverted).
 */
export function toTimeZone(name: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw new UnknownTimeZoneError();
  }
}

export const toApiTaskSummary = (summary: TaskSummary): ApiTaskSummary => ({
  total: summary.total,
  pending: summary.pending,
  completed: summary.completed,
  overdue: summary.overdue,
  due_today: summary.dueToday,
});
