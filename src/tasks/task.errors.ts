// What can go wrong with tasks, in the domain's words. src/http/problem.ts decides how each is
// answered over HTTP; nothing in src/tasks knows status codes.

/** No such task for this user (another user's task does not exist for them either). */
export class TaskNotFoundError extends Error {
  override name = 'TaskNotFoundError';
  constructor() {
    super('Task not found');
  }
}

/** A pagination cursor this service did not issue (the spec can check only its alphabet and length). */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
  constructor() {
    super('is not a cursor this service issued');
  }
}

/** A cursor issued for another query (other filters or another sort) than the one it is sent with. */
export class CursorQueryMismatchError extends Error {
  override name = 'CursorQueryMismatchError';
  constructor() {
    super('was issued for another query: send it with the filters and sort of the page that linked to it');
  }
}

/** Two filters that ask for different things (`status` and `completed` that disagree). */
export class ConflictingFiltersError extends Error {
  override name = 'ConflictingFiltersError';
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(message);
    this.parameter = parameter;
  }
}

/** A time zone name this service does not know. */
export class UnknownTimeZoneError extends Error {
  override name = 'UnknownTimeZoneError';
  constructor() {
    super('is not a time zone this service knows (an IANA name such as Europe/Paris)');
  }
}

/** The task is no longer at a version the write was conditional on (If-Match); nothing was written. */
export class TaskChangedError extends Error {
  override name = 'TaskChangedError';
  /** The version the task is at now, so the client can be told where it stands. */
  readonly currentVersion: number;
  constructor(currentVersion: number) {
    super('The task has changed since the version the write expected');
    this.currentVersion = currentVersion;
  }
}

/** An Idempotency-Key sent again with another request than the one it was first sent with. */
export class IdempotencyKeyReusedError extends Error {
  override name = 'IdempotencyKeyReusedError';
  constructor() {
    super('was sent with another request in the last 24 hours; use a new key for a new request');
  }
}

/** The request holding this Idempotency-Key has not left an answer to give (it had not finished). */
export class IdempotencyKeyInUseError extends Error {
  override name = 'IdempotencyKeyInUseError';
  constructor() {
    super('A request with this Idempotency-Key is still being processed; retry it with the same key.');
  }
}

/**
 * Deletions since an instant older than the tombstone retention were asked for: they are no longer
 * all known, so the client must resync from a full list.
 */
export class SyncTooOldError extends Error {
  override name = 'SyncTooOldError';
  readonly horizon: Date;
  readonly retentionDays: number;
  constructor(horizon: Date, retentionDays: number) {
    super(
      `Deletions before ${horizon.toISOString()} are no longer kept (${retentionDays} day${retentionDays === 1 ? '' : 's'}); resync from a full list without updated_since.`,
    );
    this.horizon = horizon;
    this.retentionDays = retentionDays;
  }
}
