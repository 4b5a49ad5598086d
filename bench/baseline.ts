// The baseline: the task operations on bare node:http + pg, doing the service's own work without its
// framework. It shares with src/ everything that is not Express, the OpenAPI validator or MikroORM:
// the configuration, the token verifier, the rate limiter, the SQL text (task.sql.ts, formatted as
// MikroORM formats it and sent the same way, as one simple query), the mapping and the cursors. The
// validation is Ajv on the spec's own schemas, as the validator does it, only called directly.
// With `admission: false` it is the floor: the operation's statement and nothing else.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { signingSecret } from '../src/auth/signing-secret.ts';
import { createTokenVerifier, InvalidTokenError, type Principal } from '../src/auth/token-verifier.ts';
import { isUserId } from '../src/auth/user-id.ts';
import { loadConfig } from '../src/config.ts';
import { RATE_LIMIT_ADD_SQL, rateLimitAddParams, rateLimitTotals } from '../src/db/rate-limit.store.ts';
import { etagOf } from '../src/http/entity-tags.ts';
import { RateLimiter, rateLimitHeaders, type RateLimitPolicy } from '../src/http/rate-limit.ts';
import { requestIdFor } from '../src/http/request-log.ts';
import { API_HEADERS } from '../src/http/security-headers.ts';
import { createLogger } from '../src/logger.ts';
import { loadSpec } from '../src/spec.ts';
import { decodeCursor, encodeCursor, nextPageUrl } from '../src/tasks/task.cursor.ts';
import type { Task } from '../src/tasks/task.entity.ts';
import { toApiTask, toNewTask, toTaskChanges, toTaskListQuery } from '../src/tasks/task.mapper.ts';
import { queryFingerprint, sortValue } from '../src/tasks/task.query.ts';
import * as sql from '../src/tasks/task.sql.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

class Refusal extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.status = status;
    this.headers = headers;
  }
}

/** The spec's schemas compiled once: request bodies, and the path and query parameters the bench sends. */
function schemas() {
  const ajv = (coerceTypes: boolean) => {
    const instance = addFormats(new Ajv2020({ strict: false, allErrors: true, coerceTypes, useDefaults: true }));
    instance.addSchema({ $id: 'spec', components: loadSpec().document.components }, 'spec');
    return instance;
  };
  const [plain, coercing] = [ajv(false), ajv(true)];
  const ref = (path: string) => ({ $ref: `spec#/components/${path}` });
  return {
    taskId: plain.compile(ref('parameters/TaskId/schema')),
    create: plain.compile(ref('schemas/TaskCreate')),
    update: plain.compile(ref('schemas/TaskUpdate')),
    listQuery: coercing.compile({
      type: 'object',
      properties: {
        limit: ref('parameters/Limit/schema'),
        cursor: ref('parameters/Cursor/schema'),
        completed: ref('parameters/CompletedFilter/schema'),
      },
    }),
  };
}

/** A row as pg returns it, read as the entity (what MikroORM's mapResult does for the service). */
const fromRow = (r: Record<string, unknown>) =>
  ({
    id: r.id,
    userId: r.user_id,
    title: r.title,
    description: r.description,
    completed: r.completed,
    priority: r.priority,
    tags: r.tags,
    dueAt: r.due_at,
    completedAt: r.completed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
  }) as Task;

const API_HEADER_RECORD = Object.fromEntries(API_HEADERS);

const ROUTE = /^\/api\/([^/?]+)\/tasks(?:\/([^/?]+)(\/complete)?)?(?:\?(.*))?$/;

export async function startBaseline(env: NodeJS.ProcessEnv, options: { admission: boolean }) {
  const config = loadConfig(env);
  if (config.database.kind !== 'postgresql') throw new Error('The baseline runs on PostgreSQL only');
  const pool = new pg.Pool({ connectionString: config.database.url, max: config.database.poolMax });
  const platform = new PostgreSqlPlatform();
  const query = async (statement: sql.Statement) =>
    (await pool.query<Record<string, unknown>>(platform.formatQuery(statement.sql, statement.params))).rows;
  const tasks = async (statement: sql.Statement) => (await query(statement)).map(fromRow);
  const verifier = createTokenVerifier(
    { ...config.auth, secret: (await signingSecret(config))?.secret },
    { logger: createLogger(config.logLevel) },
  );
  const limiter = new RateLimiter(
    {
      add: async (hits) =>
        rateLimitTotals(
          (await query({ sql: RATE_LIMIT_ADD_SQL, params: rateLimitAddParams(hits) })) as {
            key: string;
            window_id: unknown;
            hits: unknown;
          }[],
        ),
      forgetBefore: async () => {},
    },
    { windowSeconds: config.rateLimit.windowSeconds },
  );
  const policy: RateLimitPolicy = {
    name: 'per-user',
    quota: config.rateLimit.perUser,
    windowSeconds: config.rateLimit.windowSeconds,
  };
  const validate = schemas();

  /** As src/http/admission.ts, for a request that carries a valid token: verify, count, own. */
  async function admit(req: IncomingMessage, userId: string): Promise<Record<string, string>> {
    const token = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let principal: Principal;
    try {
      principal = await verifier.verify(token ?? '');
    } catch (err) {
      if (err instanceof InvalidTokenError) throw new Refusal(401, err.message);
      throw err;
    }
    const decision = await limiter.consume(principal.userId, policy);
    const headers = rateLimitHeaders(policy, decision);
    if (!decision.allowed) throw new Refusal(429, 'Too many requests.', headers);
    if (principal.userId !== userId)
      throw new Refusal(403, "This token does not grant access to another user's tasks.");
    return headers;
  }

  async function body(req: IncomingMessage, check: (value: unknown) => boolean): Promise<never> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (!check(value)) throw new Refusal(422, 'The request body is invalid.');
    return value as never;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [, userId = '', taskId, complete, search = ''] = ROUTE.exec(req.url ?? '') ?? [];
    const operation = `${req.method} ${taskId === undefined ? 'tasks' : complete ? 'complete' : 'task'}`;
    if (!isUserId(userId) || (taskId !== undefined && !validate.taskId(taskId))) throw new Refusal(422, 'Bad path.');
    const listQuery: Record<string, unknown> = Object.fromEntries(new URLSearchParams(search));
    if (operation === 'GET tasks' && !validate.listQuery(listQuery)) throw new Refusal(422, 'Bad query.');
    const created = operation === 'POST tasks' ? toNewTask(await body(req, validate.create)) : undefined;
    const changes = operation === 'PUT task' ? toTaskChanges(await body(req, validate.update)) : undefined;
    // The headers the contract requires on every answer (and the service sends): the request id and
    // the API's security headers; the floor sends none of them.
    const headers: Record<string, string> = options.admission
      ? {
          ...API_HEADER_RECORD,
          'X-Request-Id': requestIdFor(req.headers['x-request-id']),
          ...(await admit(req, userId)),
        }
      : {};

    let result: unknown;
    switch (operation) {
      case 'POST tasks': {
        const [task] = await tasks(sql.insertTask(uuidv7(), userId, created!, randomUUID()));
        headers.Location = `/api/${encodeURIComponent(task!.userId)}/tasks/${task!.id}`;
        if (options.admission) headers.ETag = etagOf(task!.version);
        return send(res, 201, toApiTask(task!), headers);
      }
      case 'GET tasks': {
        const { limit, cursor } = listQuery as { limit: number; cursor?: string };
        const { filter, sort } = toTaskListQuery(listQuery);
        const fingerprint = queryFingerprint(filter, sort);
        const after = cursor === undefined ? undefined : decodeCursor(cursor, fingerprint, sort.field);
        const rows = await tasks(sql.listTasks(userId, { limit, filter, sort, after }));
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        if (rows.length > limit && last) {
          const next = encodeCursor({ value: sortValue(last, sort.field), id: last.id }, fingerprint);
          headers.Link = `<${nextPageUrl(`/api/${userId}/tasks`, search, limit, next)}>; rel="next"`;
        }
        return send(res, 200, page.map(toApiTask), headers);
      }
      case 'GET task':
        result = (await tasks(sql.selectTask(userId, taskId!)))[0];
        break;
      case 'PUT task':
        result = (await tasks(sql.updateTask(userId, taskId!, changes!, randomUUID())))[0];
        break;
      case 'PATCH complete':
        result = (await tasks(sql.setTaskCompletion(userId, taskId!, undefined, randomUUID())))[0];
        break;
      case 'DELETE task':
        if ((await query(sql.deleteTask(userId, taskId!, randomUUID()))).length === 0)
          throw new Refusal(404, 'Task not found');
        return send(res, 200, { message: 'Task deleted successfully' }, headers);
      default:
        throw new Refusal(405, `${req.method} is not served here.`);
    }
    if (!result) throw new Refusal(404, 'Task not found', headers);
    if (options.admission) headers.ETag = etagOf((result as Task).version);
    send(res, 200, toApiTask(result as Task), headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const refusal = err instanceof Refusal ? err : new Refusal(500, String(err));
      send(res, refusal.status, { status: refusal.status, detail: refusal.message }, refusal.headers);
    });
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host ?? '127.0.0.1', resolve));
  return {
    url: `http://${config.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeIdleConnections();
      });
      await limiter.stop();
      await pool.end();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': `application/${status < 400 ? '' : 'problem+'}json; charset=utf-8`,
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
