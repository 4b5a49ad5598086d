// Thin handlers, one per operationId: the validator has already enforced the contract, so a
// handler only maps the request to a repository call and the result to a response.
import { etagOf, ifMatchVersions, ifNoneMatchHits } from '../http/entity-tags.ts';
import { retryOf } from '../http/idempotency.ts';
import type { OperationHandlers } from '../http/typed-handler.ts';
import { decodeCursor, encodeCursor, nextPageUrl } from './task.cursor.ts';
import { TaskNotFoundError } from './task.errors.ts';
import {
  toApiTask,
  toApiTaskSummary,
  toApiTaskTombstone,
  toNewTask,
  toTaskChanges,
  toTaskListQuery,
  toTimeZone,
} from './task.mapper.ts';
import { queryFingerprint } from './task.query.ts';
import type { TaskRepository } from './task.repository.ts';

export type TaskHandlers = Pick<
  OperationHandlers,
  'createTask' | 'listTasks' | 'getTaskSummary' | 'getTask' | 'updateTask' | 'deleteTask' | 'toggleTaskCompletion'
>;

// The spec's default for `limit`; the validator fills it in, this only satisfies the compiler.
const DEFAULT_LIMIT = 100;

export function taskHandlers(tasks: TaskRepository): TaskHandlers {
  return {
    createTask: async (req, res) => {
      const { task, replayed } = await tasks.createTask(req.params.user_id, toNewTask(req.body), retryOf(req));
      if (replayed) res.set('Idempotent-Replayed', 'true');
      res
        .status(201)
        .location(`/api/${encodeURIComponent(task.userId)}/tasks/${task.id}`)
        .set('ETag', etagOf(task.version))
        .json(toApiTask(task));
    },

    listTasks: async (req, res) => {
      const { limit = DEFAULT_LIMIT, cursor } = req.query;
      const { filter, sort } = toTaskListQuery(req.query);
      const fingerprint = queryFingerprint(filter, sort);
      const page = await tasks.listTasks(req.params.user_id, {
        limit,
        filter,
        sort,
        after: cursor === undefined ? undefined : decodeCursor(cursor, fingerprint, sort.field),
      });
      if (page.next) {
        const [path = '', search = ''] = req.originalUrl.split('?');
        res.links({ next: nextPageUrl(path, search, limit, encodeCursor(page.next, fingerprint)) });
      }
      res.json(page.tasks.map((item) => ('deletedAt' in item ? toApiTaskTombstone(item) : toApiTask(item))));
    },

    getTaskSummary: async (req, res) => {
      const summary = await tasks.getTaskSummary(req.params.user_id, toTimeZone(req.query.tz ?? 'UTC'));
      res.json(toApiTaskSummary(summary));
    },

    getTask: async (req, res) => {
      const task = await tasks.getTask(req.params.user_id, req.params.task_id);
      if (!task) throw new TaskNotFoundError();
      res.set('ETag', etagOf(task.version));
      // The client's copy is current: say so, without sending it again.
      if (ifNoneMatchHits(req.get('if-none-match'), task.version)) res.status(304).end();
      else res.json(toApiTask(task));
    },

    updateTask: async (req, res) => {
      const { user_id, task_id } = req.params;
      const expected = ifMatchVersions(req.get('if-match'));
      const task = await tasks.updateTask(user_id, task_id, toTaskChanges(req.body), expected);
      if (!task) throw new TaskNotFoundError();
      res.set('ETag', etagOf(task.version)).json(toApiTask(task));
    },

    deleteTask: async (req, res) => {
      const expected = ifMatchVersions(req.get('if-match'));
      if (!(await tasks.deleteTask(req.params.user_id, req.params.task_id, expected))) throw new TaskNotFoundError();
      res.json({ message: 'Task deleted successfully' });
    },

    toggleTaskCompletion: async (req, res) => {
      // No body (the seed clients' call) or {} toggles; {"completed": …} sets.
      const { user_id, task_id } = req.params;
      const expected = ifMatchVersions(req.get('if-match'));
      const done = await tasks.toggleTaskCompletion(user_id, task_id, req.body?.completed, expected, retryOf(req));
      if (!done) throw new TaskNotFoundError();
      if (done.replayed) res.set('Idempotent-Replayed', 'true');
      res.set('ETag', etagOf(done.task.version)).json(toApiTask(done.task));
    },
  };
}
