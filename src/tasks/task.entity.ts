import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

// Column limits mirror the spec (Title, Description, UserId); the database is the last line of defence.
export const TaskSchema = defineEntity({
  name: 'Task',
  tableName: 'task',
  properties: {
    id: p.uuid().primary(),
    userId: p.string().length(255),
    title: p.string().length(200),
    description: p.string().length(1000).nullable(),
    completed: p.boolean().default(false),
    // The API's none/low/medium/high as 0–3, so the column sorts in the order of importance
    // (src/tasks/task.mapper.ts maps between the two).
    priority: p.smallint().default(0),
    // As sent (first spelling of each tag, in order); the spec limits count and length.
    tags: p.array().columnType('varchar(32)[]').default([]),
    dueAt: p.datetime(3).nullable(),
    // Set by the service when the task becomes completed, cleared when it is reopened.
    completedAt: p.datetime(3).nullable(),
    // timestamptz(3): millisecond precision, exactly what a JS Date and the API's ISO strings carry.
    // The database clock sets both, so every instance of the service agrees on "now".
    createdAt: p.datetime(3).defaultRaw('now()'),
    updatedAt: p.datetime(3).defaultRaw('now()'),
    // 1 at creation, one more on every write: the task's ETag, and what If-Match compares in the
    // write's own WHERE clause, so two writers can never both pass the same precondition.
    version: p.integer().default(1),
    // The id each write statement stamps on the row it writes: after a connection broke before a
    // write's answer came, finding its stamp tells that it committed (src/db/availability.ts).
    writeId: p.uuid().nullable(),
  },
  // The spec's bounds and the completion invariant, kept by the database too.
  checks: [
    { name: 'task_completed_at_check', expression: 'completed = (completed_at is not null)' },
    { name: 'task_priority_check', expression: 'priority >= 0 and priority <= 3' },
    { name: 'task_tags_check', expression: 'cardinality(tags) <= 20' },
  ],
  // One (user_id, key, id) index per sort of listTasks, walked in either direction by its keyset
  // pagination (src/tasks/task.sql.ts); due_at has one per direction, as tasks without a due date
  // come last in both (the key is due_at with the missing dates as +infinity or -infinity). The
  // trigram indexes (pg_trgm) serve the case-insensitive search `q` in title and description.
  indexes: [
    { name: 'task_user_id_created_at_id_idx', properties: ['userId', 'createdAt', 'id'] },
    { name: 'task_user_id_updated_at_id_idx', properties: ['userId', 'updatedAt', 'id'] },
    { name: 'task_user_id_priority_id_idx', properties: ['userId', 'priority', 'id'] },
    { name: 'task_user_id_title_id_idx', properties: ['userId', 'title', 'id'] },
    {
      name: 'task_user_id_due_at_asc_id_idx',
      expression: `create index "task_user_id_due_at_asc_id_idx" on "task" ("user_id", coalesce("due_at", 'infinity'::timestamptz), "id")`,
    },
    {
      name: 'task_user_id_due_at_desc_id_idx',
      expression: `create index "task_user_id_due_at_desc_id_idx" on "task" ("user_id", coalesce("due_at", '-infinity'::timestamptz), "id")`,
    },
    {
      name: 'task_title_trgm_idx',
      expression: `create index "task_title_trgm_idx" on "task" using gin ("title" gin_trgm_ops)`,
    },
    {
      name: 'task_description_trgm_idx',
      expression: `create index "task_description_trgm_idx" on "task" using gin ("description" gin_trgm_ops)`,
    },
  ],
});

export type Task = InferEntity<typeof TaskSchema>;
