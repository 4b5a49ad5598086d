// The baseline for scripts/bench.ts: the hot task operations on bare node:http + pg, with the SAME
// SQL statements src/tasks/task.repository.ts and src/db/rate-limit.store.ts issue (MikroORM inlines the
// values into the text and sends it as a simple query; here they are $n parameters, one round trip
// each all the same). Two variants:
//
//   BASELINE_AUTH=true   the service's admission path too: HS256 JWT verified with jose (same options
//                        as src/auth/token-verifier.ts), then the rate-limit UPSERT, then ownership
//   BASELINE_AUTH=false  the floor: no token, no rate limit, just the operation's statement
//
// Responses have the API's shape (snake_case, ISO 8601 UTC timestamps, problem+json errors), so
// scripts/bench.ts can check that all servers answer byte-for-byte the same bodies before it measures.
// Minimal on purpose: no helmet, no CORS, no docs, only the operations it benchmarks.
//
// Run alone: BETTER_AUTH_SECRET=… DATABASE_URL=… PORT=3001 node scripts/bench/baseline-server.ts
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { isUserId } from '../../src/auth/user-id.ts';
import { serveAsChild, type ServedTarget } from './child.ts';

// ── The statements, as the service sends them (logged from PostgreSQL with log_statement=all) ──

/** src/db/rate-limit.store.ts, PostgresRateLimitStore.hit */
export const RATE_LIMIT_SQL = `insert into rate_limit (key, window_id, hits) values ($1, $2, 1)
       on conflict (key) do update set
         hits = case when rate_limit.window_id = excluded.window_id then rate_limit.hits + 1 else 1 end,
         window_id = excluded.window_id
       returning hits`;
/** TaskRepository.getTask */
export const GET_TASK_SQL = `select "t0".* from "task" as "t0" where "t0"."id" = $1 and "t0"."user_id" = $2 limit 1`;
/** TaskRepository.listTasks, first page (limit is the page size + 1) */
const LIST_TASKS_SQL = `select "t0".* from "task" as "t0" where "t0"."user_id" = $1 order by "t0"."created_at" desc, "t0"."id" desc limit $2`;
/** TaskRepository.listTasks, after a cursor */
const LIST_TASKS_AFTER_SQL = `select "t0".* from "task" as "t0" where "t0"."user_id" = $1 and ((created_at, id) < ($2, $3)) order by "t0"."created_at" desc, "t0"."id" desc limit $4`;
/** TaskRepository.createTask */
const CREATE_TASK_SQL = `insert into "task" ("id", "user_id", "title", "description", "completed") values ($1, $2, $3, $4, $5) returning *`;

interface BaselineOptions {
  databaseUrl: string;
  /** Verify the bearer JWT and count the request against the rate limit, as the service does. */
  auth: boolean;
  secret: string;
  poolMax: number;
  port: number;
  host: string;
  rateLimitPerUser: number;
  rateLimitWindowSeconds: number;
  clockSkewSeconds: number;
}

interface TaskRow {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: Date;
  updated_at: Date;
}

const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const TASKS_PATH = /^\/api\/([^/]+)\/tasks(?:\/([^/]+))?$/;
const BODY_LIMIT_BYTES = 16 * 1024;

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.status = status;
    this.headers = headers;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

function toApiTask(row: TaskRow) {
  return {
    id: row.id,
    user_id: row.user_id,
    title: row.title,
    description: row.description ?? null,
    completed: row.completed,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendProblem(res: ServerResponse, err: HttpError, instance: string): void {
  const text = JSON.stringify({
    type: 'about:blank',
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.message,
    instance,
  });
  res.writeHead(err.status, {
    ...err.headers,
    'Content-Type': 'application/problem+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [iso, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso ?? '');
  if (
    rest.length > 0 ||
    !id ||
    !LOWER_UUID.test(id) ||
    !iso ||
    !ISO_MS.test(iso) ||
    iso < '0001' ||
    Number.isNaN(createdAt.getTime()) ||
    createdAt.toISOString() !== iso
  ) {
    throw new HttpError(422, 'The request is invalid: /query/cursor is not a cursor this service issued');
  }
  return { createdAt, id };
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !/^application\/[^/]+\+json$/.test(type)) {
    throw new HttpError(415, 'The request body must be application/json.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) throw new HttpError(413, `The request body is over ${BODY_LIMIT_BYTES} bytes.`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'The request body is not well-formed JSON.');
  }
}

/** The TaskCreate schema, by hand: title 1–200 and not only white space, description ≤ 1000 or null, completed boolean. */
function parseTaskCreate(body: unknown): { title: string; description: string | null; completed: boolean } {
  const problems: string[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(422, 'The request is invalid: /body must be object');
  }
  const { title, description = null, completed = false, ...unknown } = body as Record<string, unknown>;
  for (const key of Object.keys(unknown)) problems.push(`/body/${key} is not a known field`);
  if (typeof title !== 'string') problems.push('/body/title must be a string');
  else if (title.length < 1 || title.length > 200 || title.trim() === '' || title.includes('\0')) {
    problems.push('/body/title must be 1-200 characters, not only white space');
  }
  if (
    description !== null &&
    (typeof description !== 'string' || description.length > 1000 || description.includes('\0'))
  ) {
    problems.push('/body/description must be a string of at most 1000 characters, or null');
  }
  if (typeof completed !== 'boolean') problems.push('/body/completed must be boolean');
  if (problems.length > 0) throw new HttpError(422, `The request is invalid: ${problems.join('; ')}`);
  return {
    title: (title as string).trim(),
    description: description as string | null,
    completed: completed as boolean,
  };
}

function parseLimit(raw: string | null): number {
  if (raw === null) return 100;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 500) {
    throw new HttpError(422, 'The request is invalid: /query/limit must be an integer from 1 to 500');
  }
  return Number(raw);
}

async function startBaselineServer(options: BaselineOptions): Promise<ServedTarget> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolMax });
  const secret = new TextEncoder().encode(options.secret);
  const policy = `"per-user";q=${options.rateLimitPerUser};w=${options.rateLimitWindowSeconds}`;

  /** src/http/admission.ts for a request with a token: verify, count, then ownership. Returns the headers to send. */
  async function admit(req: IncomingMessage, pathUserId: string): Promise<Record<string, string>> {
    const header = req.headers.authorization;
    const token = header ? BEARER.exec(header)?.[1] : undefined;
    const challenge = (detail: string) => ({
      'WWW-Authenticate': `Bearer realm="tasks-api", error="invalid_token", error_description="${detail}"`,
    });
    if (!token)
      throw new HttpError(401, 'This operation needs a bearer token (Authorization: Bearer <JWT>).', {
        'WWW-Authenticate': 'Bearer realm="tasks-api"',
      });
    let userId: string;
    try {
      // As src/auth/token-verifier.ts: the header first, to pick the key source by algorithm.
      if (decodeProtectedHeader(token).alg !== 'HS256')
        throw new HttpError(401, 'Tokens signed with this algorithm are not accepted.', challenge('algorithm'));
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        clockTolerance: options.clockSkewSeconds,
        requiredClaims: ['sub', 'exp'],
      });
      if (typeof payload.sub !== 'string' || !isUserId(payload.sub))
        throw new HttpError(401, "The token's subject is not a valid user id.");
      userId = payload.sub;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      if (err instanceof errors.JOSEError)
        throw new HttpError(401, 'The token was not accepted.', challenge('The token was not accepted.'));
      throw err;
    }
    // The rate limit, counted in PostgreSQL exactly as RateLimiter.consume does.
    const now = Date.now() / 1000;
    const window = Math.floor(now / options.rateLimitWindowSeconds);
    const resetSeconds = Math.max(1, Math.ceil((window + 1) * options.rateLimitWindowSeconds - now));
    const { rows } = await pool.query<{ hits: number }>(RATE_LIMIT_SQL, [`per-user:${userId}`, window]);
    const hits = Number(rows[0]!.hits);
    const headers = {
      'RateLimit-Policy': policy,
      RateLimit: `"per-user";r=${Math.max(0, options.rateLimitPerUser - hits)};t=${resetSeconds}`,
    };
    if (hits > options.rateLimitPerUser) {
      throw new HttpError(429, 'Too many requests.', { ...headers, 'Retry-After': String(resetSeconds) });
    }
    if (userId !== pathUserId) throw new HttpError(403, "This token does not grant access to another user's tasks.");
    return headers;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = TASKS_PATH.exec(url.pathname);
    if (!match) throw new HttpError(404, 'No such path.');
    const [, rawUserId, rawTaskId] = match;
    const userId = decodeURIComponent(rawUserId!);
    const method = req.method ?? 'GET';
    if (rawTaskId === undefined ? method !== 'GET' && method !== 'POST' : method !== 'GET') {
      throw new HttpError(405, `${method} is not allowed here.`, {
        Allow: rawTaskId === undefined ? 'GET, POST' : 'GET',
      });
    }
    if (!isUserId(userId))
      throw new HttpError(422, 'The request is invalid: /path/user_id must match pattern "^[A-Za-z0-9_-]+$"');
    if (rawTaskId !== undefined && !UUID.test(rawTaskId)) {
      throw new HttpError(422, 'The request is invalid: /path/task_id must be a UUID');
    }
    // Request validation before admission, as in the service (the validator runs before the guard).
    const limit = rawTaskId === undefined && method === 'GET' ? parseLimit(url.searchParams.get('limit')) : 0;
    const cursorParam = url.searchParams.get('cursor');
    const after =
      rawTaskId === undefined && method === 'GET' && cursorParam !== null ? decodeCursor(cursorParam) : undefined;
    const newTask = method === 'POST' ? parseTaskCreate(await readJsonBody(req)) : undefined;

    const headers = options.auth ? await admit(req, userId) : {};

    if (newTask) {
      const { rows } = await pool.query<TaskRow>(CREATE_TASK_SQL, [
        uuidv7(),
        userId,
        newTask.title,
        newTask.description,
        newTask.completed,
      ]);
      const task = rows[0]!;
      sendJson(res, 201, toApiTask(task), {
        ...headers,
        Location: `/api/${encodeURIComponent(task.user_id)}/tasks/${task.id}`,
      });
    } else if (rawTaskId !== undefined) {
      const { rows } = await pool.query<TaskRow>(GET_TASK_SQL, [rawTaskId, userId]);
      if (!rows[0]) throw new HttpError(404, 'Task not found', headers);
      sendJson(res, 200, toApiTask(rows[0]), headers);
    } else {
      const { rows } = after
        ? await pool.query<TaskRow>(LIST_TASKS_AFTER_SQL, [userId, after.createdAt, after.id, limit + 1])
        : await pool.query<TaskRow>(LIST_TASKS_SQL, [userId, limit + 1]);
      const tasks = rows.slice(0, limit);
      const last = tasks.at(-1);
      const linkHeader: Record<string, string> = {};
      if (rows.length > limit && last) {
        const next = new URLSearchParams({ limit: String(limit), cursor: encodeCursor(last.created_at, last.id) });
        linkHeader.Link = `<${url.pathname}?${next.toString()}>; rel="next"`;
      }
      sendJson(res, 200, tasks.map(toApiTask), { ...headers, ...linkHeader });
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    handle(req, res, url).catch((err: unknown) => {
      if (err instanceof HttpError) {
        sendProblem(res, err, url.pathname);
      } else {
        console.error(err);
        sendProblem(res, new HttpError(500, 'Internal error.'), url.pathname);
      }
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await pool.end();
    },
  };
}

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`${name} must be set`);
  return value;
}

if (import.meta.main) {
  await serveAsChild(() =>
    startBaselineServer({
      databaseUrl: env('DATABASE_URL'),
      auth: env('BASELINE_AUTH', 'true') === 'true',
      secret: env('BETTER_AUTH_SECRET'),
      poolMax: Number(env('DB_POOL_MAX', '10')),
      port: Number(env('PORT', '0')),
      host: env('HOST', '127.0.0.1'),
      rateLimitPerUser: Number(env('RATE_LIMIT_PER_USER', '1000000000')),
      rateLimitWindowSeconds: Number(env('RATE_LIMIT_WINDOW_SECONDS', '60')),
      clockSkewSeconds: Number(env('JWT_CLOCK_SKEW_SECONDS', '10')),
    }),
  );
}
