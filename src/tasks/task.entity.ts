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
    // timestamptz(3): millisecond precision, exactly what a JS Date and the API's ISO strings carry.
    // The database clock sets both, so every instance of the service agrees on "now".
    createdAt: p.datetime(3).defaultRaw('now()'),
    updatedAt: p.datetime(3).defaultRaw('now()'),
  },
  // Serves "a user's tasks, newest first" and keyset pagination over (created_at, id).
  indexes: [{ name: 'task_user_id_created_at_id_idx', properties: ['userId', 'createdAt', 'id'] }],
});

export type Task = InferEntity<typeof TaskSchema>;
