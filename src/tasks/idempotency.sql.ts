// The statements behind Idempotency-Key: a task write remembered under its key by the same single
// statement that makes it, and the recall of what was remembered. One statement each, so they work
// alike on PostgreSQL, on PGlite (whose one connection cannot hold two transactions at once) and
// through PgBouncer in transaction mode (no session state).
import type { Statement } from './task.sql.ts';

/** How long a key is remembered (the "within 24 hours"). */
export const KEY_LIFETIME = '24 hours';

export interface Retry {
  key: string;
  /** Identifies the request (method, path, body); the same key with another request is refused. */
  fingerprint: string;
}

/**
 * Runs a task write (a statement `returning *` the task) and, in the same statement, remembers the
 * task it answers under the key. If another request already holds the key, the primary key refuses
 * the insert and the whole statement, the write included, is undone: a concurrent duplicate waits
 * on that index entry until the first commits, then fails here and is answered from `recall`.
 * A write that matches no task (404, 412) remembers nothing, so it may be retried.
 */
export function remembered(write: Statement, userId: string, retry: Retry): Statement {
  return {
    sql: `with done as (${write.sql}),
      remembered as (
        insert into idempotency_key (user_id, key, fingerprint, task, expires_at)
        select ?, ?, ?, row_to_json(done), now() + interval '${KEY_LIFETIME}' from done
      )
      select * from done`,
    params: [...write.params, userId, retry.key, retry.fingerprint],
  };
}

/**
 * The fingerprint and the task remembered under a live key, the task in the task table's own row
 * type (so it maps like any task row). An expired row for the key goes in the same statement, so
 * the key is free for a new request.
 */
export function recall(userId: string, key: string): Statement {
  return {
    sql: `with expired as (
        delete from idempotency_key where user_id = ? and key = ? and expires_at <= now()
      )
      select k.fingerprint as idempotency_fingerprint, (json_populate_record(null::task, k.task)).*
      from idempotency_key k where k.user_id = ? and k.key = ? and k.expires_at > now()`,
    params: [userId, key, userId, key],
  };
}

/** Forgets expired keys, a bounded batch at a time (the expires_at index finds them). */
export function sweepExpired(batch: number): Statement {
  return {
    sql: `delete from idempotency_key where (user_id, key) in (
        select user_id, key from idempotency_key where expires_at <= now() limit ?
      )`,
    params: [batch],
  };
}

/** Whether a failed statement failed because the key was taken meanwhile. */
export function isKeyTaken(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  return (
    e?.code === '23505' &&
    (e.constraint === 'idempotency_key_pkey' || String(e.message).includes('idempotency_key_pkey'))
  );
}
