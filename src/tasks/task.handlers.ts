// Thin handlers, one per operationId: the validator has already enforced the contract, so a
// handler only maps the request to a repository call and the result to a response.
import type { OperationHandlers } from '../http/typed-handler.ts';
import { decodeCursor, encodeCursor } from './task.cursor.ts';
import { TaskNotFoundError } from './task.errors.ts';
import { toApiTask, toNewTask, toTaskChanges } from './task.mapper.ts';
import type { TaskRepository } from './task.repository.ts';

export type TaskHandlers = Pick<
  OperationHandlers,
  'createTask' | 'listTasks' | 'getTask' | 'updateTask' | 'deleteTask' | 'toggleTaskCompletion'
>;

// The spec's default for `limit`; the validator fills it in, this only satisfies the compiler.
const DEFAULT_LIMIT = 100;

export function taskHandlers(tasks: TaskRepository): TaskHandlers {
  return {
    createTask: async (req, res) => {
      const task = await tasks.createTask(req.params.user_id, toNewTask(req.body));
      res
        .status(201)
        .location(`/api/${encodeURIComponent(task.userId)}/tasks/${task.id}`)
        .json(toApiTask(task));
    },

    listTasks: async (req, res) => {
      const { limit = DEFAULT_LIMIT, cursor, completed } = req.query;
      const page = await tasks.listTasks(req.params.user_id, {
        limit,
        completed,
        after: cursor === undefined ? undefined : decodeCursor(cursor),
      });
      if (page.next) {
        const next = new URLSearchParams({ limit: String(limit) });
        if (completed !== undefined) next.set('completed', String(completed));
        next.set('cursor', encodeCursor(page.next));
        res.links({ next: `${req.originalUrl.split('?')[0]}?${next.toString()}` });
      }
      res.json(page.tasks.map(toApiTask));
    },

    getTask: async (req, res) => {
      const task = await tasks.getTask(req.params.user_id, req.params.task_id);
      if (!task) throw new TaskNotFoundError();
      res.json(toApiTask(task));
    },

    updateTask: async (req, res) => {
      const task = await tasks.updateTask(req.params.user_id, req.params.task_id, toTaskChanges(req.body));
      if (!task) throw new TaskNotFoundError();
      res.json(toApiTask(task));
    },

    deleteTask: async (req, res) => {
      if (!(await tasks.deleteTask(req.params.user_id, req.params.task_id))) throw new TaskNotFoundError();
      res.json({ message: 'Task deleted successfully' });
    },

    toggleTaskCompletion: async (req, res) => {
      // No body (the seed clients' call) or {} toggles; {"completed": …} sets.
      const task = await tasks.setTaskCompletion(req.params.user_id, req.params.task_id, req.body?.completed);
      if (!task) throw new TaskNotFoundError();
      res.json(toApiTask(task));
    },
  };
}
