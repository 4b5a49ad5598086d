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
