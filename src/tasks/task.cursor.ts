// Keyset pagination cursors, opaque to clients: the fingerprint of the query a page answered, and
// the (sort value, id) of its last task. The next page starts right after that task.
import { CursorQueryMismatchError, InvalidCursorError } from './task.errors.ts';
import type { SortField, SortValue } from './task.query.ts';

export interface TaskPosition {
  value: SortValue;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(position: TaskPosition, fingerprint: string): string {
  const value = position.value instanceof Date ? position.value.toISOString() : position.value;
  return Buffer.from(JSON.stringify([fingerprint, value, position.id]), 'utf8').toString('base64url');
}

/** Exactly what encodeCursor writes for a date, in years PostgreSQL can hold (it has no year 0, nor ±275760). */
function instant(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_MS.test(value) || value < '0001') throw new InvalidCursorError();
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== value) throw new InvalidCursorError();
  return date;
}

/** The value a cursor may carry for the sort field (what sortValue gives, as JSON). */
function valueFor(field: SortField, value: unknown): SortValue {
  switch (field) {
    case 'created_at':
    case 'updated_at':
      return instant(value);
    case 'due_at':
      return value === null ? null : instant(value);
    case 'priority':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 3)
        throw new InvalidCursorError();
      return value;
    case 'title':
      if (typeof value !== 'string' || value.length === 0 || !value.isWellFormed() || value.includes('\u0000'))
        throw new InvalidCursorError();
      return value;
  }
}

function parse(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
}

/**
 * The position a cursor names, for the query (its fingerprint and sort field) it is sent with.
 * The spec checks the cursor's alphabet and length; only this service can tell whether it issued
 * it, and for which query.
 */
export function decodeCursor(cursor: string, fingerprint: string, field: SortField): TaskPosition {
  const decoded = parse(cursor);
  if (!Array.isArray(decoded) || decoded.length !== 3) throw new InvalidCursorError();
  const [issuedFor, value, id] = decoded as unknown[];
  if (typeof issuedFor !== 'string' || typeof id !== 'string' || !UUID.test(id)) throw new InvalidCursorError();
  if (issuedFor !== fingerprint) throw new CursorQueryMismatchError();
  return { value: valueFor(field, value), id };
}

/**
 * The next page's URL: the query as it was sent (`search`, the part after `?`; every parameter in
 * it passed validation), at the same page size, after `cursor`.
 */
export function nextPageUrl(path: string, search: string, limit: number, cursor: string): string {
  const next = new URLSearchParams(search);
  next.delete('cursor');
  next.set('limit', String(limit));
  next.set('cursor', cursor);
  return `${path}?${next.toString()}`;
}
