// What a list of tasks asks for: which tasks (the filter), in which order (the sort), and the
// fingerprint that ties a pagination cursor to both.
import { createHash } from 'node:crypto';
import type { Task } from './task.entity.ts';
import { tagKey } from './task.mapper.ts';

export const SORT_FIELDS = ['created_at', 'updated_at', 'due_at', 'priority', 'title'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface TaskSort {
  field: SortField;
  descending: boolean;
}

/** Every condition present must hold. */
export interface TaskFilter {
  completed?: boolean | undefined;
  /** Any of these priority ranks (0 none … 3 high). */
  priorities?: number[] | undefined;
  /** Every one of these tags, compared without regard to case. */
  tags?: string[] | undefined;
  /** due_at < dueBefore. */
  dueBefore?: Date | undefined;
  /** due_at ≥ dueAfter. */
  dueAfter?: Date | undefined;
  /** Overdue (due before now, not completed), or not. */
  overdue?: boolean | undefined;
  /** Text the title or the description contains, without regard to case. */
  search?: string | undefined;
  /** updated_at > updatedSince: created or changed after it. */
  updatedSince?: Date | undefined;
  /** With updatedSince: also the tombstones of tasks deleted after it (whatever the other conditions). */
  includeDeleted?: boolean | undefined;
}

/** A task's value of the sort field: where a page ends, and the next one starts after. */
export type SortValue = Date | string | number | null;

export function sortValue(task: Task, field: SortField): SortValue {
  switch (field) {
    case 'created_at':
      return task.createdAt;
    case 'updated_at':
      return task.updatedAt;
    case 'due_at':
      return task.dueAt ?? null;
    case 'priority':
      return task.priority;
    case 'title':
      return task.title;
  }
}

const distinctSorted = <T>(values: readonly T[] | undefined, compare?: (a: T, b: T) => number) =>
  values === undefined ? null : [...new Set(values)].sort(compare);

/**
 * A short digest of the query a cursor was issued for. Two queries that ask for the same tasks in
 * the same order have the same fingerprint (tags and search text without regard to case, lists in
 * any order and with repeats); the page size is not part of it, so a client may change it while
 * paging.
 */
export function queryFingerprint(filter: TaskFilter, sort: TaskSort): string {
  const canonical = [
    filter.completed ?? null,
    distinctSorted(filter.priorities, (a, b) => a - b),
    distinctSorted(filter.tags?.map(tagKey)),
    filter.dueBefore?.toISOString() ?? null,
    filter.dueAfter?.toISOString() ?? null,
    filter.overdue ?? null,
    filter.search?.toLowerCase() ?? null,
    filter.updatedSince?.toISOString() ?? null,
    filter.includeDeleted ?? false,
    `${sort.descending ? '-' : ''}${sort.field}`,
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 16);
}
