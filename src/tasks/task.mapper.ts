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

/**
 * A leading byte-order mark (U+FEFF) is dropped: PGlite decodes text with a TextDecoder that
 * strips it, so keeping it would make the embedded and the real database disagree. Documented in
 * the spec's Description. (Titles lose it anyway: it is white space to trim().)
 */
const withoutLeadingBom = (text: string | null) => (text === null ? null : text.replace(/^\uFEFF+/, ''));

export function toNewTask(body: TaskCreate): NewTask {
  return {
    title: body.title.trim(),
    description: withoutLeadingBom(body.description ?? null),
    completed: body.completed ?? false,
  };
}

/** Only the fields present in the body; `description: null` is a change (it clears the description). */
export function toTaskChanges(body: TaskUpdate): TaskChanges {
  return {
    ...(body.title !== undefined ? { title: body.title.trim() } : {}),
    ...(body.description !== undefined ? { description: withoutLeadingBom(body.description) } : {}),
    ...(body.completed !== undefined ? { completed: body.completed } : {}),
  };
}
