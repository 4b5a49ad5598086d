// The one place where the API's shape and the entity's shape meet.
import type { components } from '../../generated/schema.d.ts';
import type { Task } from './task.entity.ts';
import type { TaskChanges, NewTask } from './task.repository.ts';

export type ApiTask = components['schemas']['Task'];
type TaskCreate = components['schemas']['TaskCreate'];
type TaskUpdate = components['schemas']['TaskUpdate'];

export function toApiTask(task: Task): ApiTask {
  return {
    id: task.id,
    user_id: task.userId,
    title: task.title,
    description: task.description ?? null,
    completed: task.completed,
    // Always UTC with "Z": the replaced service sent local times with no zone.
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
  };
}

export function toNewTask(body: TaskCreate): NewTask {
  return {
    title: body.title.trim(),
    description: body.description ?? null,
    completed: body.completed ?? false,
  };
}

/** Only the fields present in the body; `description: null` is a change (it clears the description). */
export function toTaskChanges(body: TaskUpdate): TaskChanges {
  return {
    ...(body.title !== undefined ? { title: body.title.trim() } : {}),
    ...(body.description !== undefined ? { description: body.description } : {}),
    ...(body.completed !== undefined ? { completed: body.completed } : {}),
  };
}
