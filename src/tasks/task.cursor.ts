// Keyset pagination cursors: the (created_at, id) of the last task on a page, opaque to clients.
import { InvalidCursorError } from './task.errors.ts';

export interface TaskPosition {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(position: TaskPosition): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`, 'utf8').toString('base64url');
}

/** The spec checks the cursor's alphabet and length; only this service can tell whether it issued it. */
export function decodeCursor(cursor: string): TaskPosition {
  const [iso, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  // Exactly what encodeCursor writes, in years PostgreSQL can hold (it has no year 0, nor ±275760).
  if (
    rest.length > 0 ||
    !id ||
    !UUID.test(id) ||
    !iso ||
    !ISO_MS.test(iso) ||
    iso < '0001' ||
    Number.isNaN(createdAt.getTime()) ||
    createdAt.toISOString() !== iso
  ) {
    throw new InvalidCursorError();
  }
  return { createdAt, id };
}
