// Every error leaves the service here, as an RFC 9457 problem document. Nothing else writes one.
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { components } from '../../generated/schema.d.ts';
import { DatabaseUnavailableError } from '../db/availability.ts';
import { KeySetUnavailableError } from '../auth/token-verifier.ts';
import { requestIdOf } from './request-log.ts';
import {
  ConflictingFiltersError,
  CursorQueryMismatchError,
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  InvalidCursorError,
  SyncTooOldError,
  TaskChangedError,
  TaskNotFoundError,
  UnknownTimeZoneError,
} from '../tasks/task.errors.ts';
import { etagOf } from './entity-tags.ts';

type Problem = components['schemas']['Problem'];
type FieldError = components['schemas']['FieldError'];

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An error that already knows the problem it stands for, raised at the HTTP edge; domain code raises domain errors. */
export class ProblemError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    detail: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
    this.status = status;
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

// The spec bounds these (Problem.errors, .detail, FieldError.*); a hostile body can fail thousands of
// ways, and the answer must stay small and within the contract.
const MAX_ERRORS = 100;
const MAX_DETAIL = 2000;
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** A request that breaks the contract, or that the spec accepts but the service cannot (a cursor it never issued, say). */
export function unsupportedMediaType(contentType: string | undefined): ProblemError {
  return new ProblemError(415, `Send the body as application/json (got ${contentType || 'no content type'}).`);
}

export function validationProblem(errors: FieldError[]): ProblemError {
  const listed = errors.slice(0, MAX_ERRORS).map((e) => ({ path: clip(e.path, 300), message: clip(e.message, 500) }));
  const more = errors.length > listed.length ? ` (and ${errors.length - listed.length} more)` : '';
  const detail = clip(
    `The request is invalid: ${listed.map((e) => `${e.path} ${e.message}`).join('; ')}${more}`,
    MAX_DETAIL,
  );
  return new ProblemError(422, detail, { errors: listed });
}

// express-openapi-validator's HttpError, and body-parser's errors: duck-typed, as neither exports a
// stable class across versions.
interface ValidatorError {
  status: number;
  message: string;
  errors?: { path?: string; message?: string }[];
  headers?: Record<string, string>;
}

interface BodyParserError {
  type: string;
  status: number;
  limit?: number;
  charset?: string;
  encoding?: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === 'object' && err !== null && typeof (err as BodyParserError).type === 'string' && 'status' in err
  );
}

function isValidatorError(err: unknown): err is ValidatorError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as ValidatorError).status === 'number' &&
    Array.isArray((err as ValidatorError).errors)
  );
}

function fromBodyParser(err: BodyParserError): ProblemError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ProblemError(400, 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new ProblemError(413, `The request body is larger than ${err.limit ?? 'the limit of'} bytes.`);
    case 'charset.unsupported':
      return new ProblemError(415, `The charset "${err.charset ?? ''}" is not supported; send UTF-8.`);
    case 'encoding.unsupported':
      return new ProblemError(415, `The content encoding "${err.encoding ?? ''}" is not supported.`);
    case 'request.aborted':
      return new ProblemError(400, 'The request was aborted before its body arrived.');
    default:
      return undefined;
  }
}

function fromValidator(err: ValidatorError, contentType: string | undefined): ProblemError | undefined {
  const errors: FieldError[] = (err.errors ?? []).map((e) => ({
    path: e.path ?? '',
    message: e.message ?? 'is invalid',
  }));
  switch (err.status) {
    case 400:
      // The validator says 400 for every request that breaks the schema; we say 422, as the
      // replaced service did, and keep 400 for bodies that are not JSON at all.
      return validationProblem(errors);
    case 404:
      return new ProblemError(404, 'There is no such resource; see /docs for the API.');
    case 405:
      return new ProblemError(405, 'This method is not allowed on this resource.', { headers: err.headers ?? {} });
    case 415:
      return unsupportedMediaType(contentType);
    default:
      return undefined; // 500s from response validation: a contract break, logged below
  }
}

// RFC 9110's names, where Node still uses older ones.
const TITLES: Record<number, string> = { 413: 'Content Too Large', 422: 'Unprocessable Content' };

function problemBody(
  status: number,
  detail: string,
  instance: string,
  requestId: string,
  errors?: FieldError[],
): Problem {
  return {
    type: 'about:blank',
    title: TITLES[status] ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance,
    ...(errors && errors.length > 0 ? { errors } : {}),
    // A failure on our side is worth reporting: the id finds its log lines (it is also in X-Request-Id).
    ...(status >= 500 ? { request_id: requestId } : {}),
  };
}

/** The request path as a valid URI reference (the spec's format for `instance`), however mangled it arrived. */
function asUriReference(path: string): string {
  return path
    .replace(/%(?![0-9A-Fa-f]{2})/g, '%25')
    .replace(/[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu, (c) =>
      c.isWellFormed() ? encodeURIComponent(c) : '%EF%BF%BD',
    );
}

/** Other 4xx errors from Express's own stack (http-errors with `expose`): keep their status and message. */
function isClientHttpError(err: unknown): err is { status: number; message: string; expose: true } {
  const e = err as { status?: unknown; expose?: unknown };
  return (
    typeof e === 'object' &&
    e !== null &&
    e.expose === true &&
    typeof e.status === 'number' &&
    e.status >= 400 &&
    e.status < 500
  );
}

// Long enough for a pool to reconnect or a restart to finish, short enough that a client waiting
// it out notices the recovery promptly. The outage itself is logged once, where it is detected.
const OUTAGE_RETRY_AFTER_SECONDS = 5;

/** The problem an error stands for, or undefined when it is unexpected (a 500). */
function toProblem(err: unknown, contentType: string | undefined): ProblemError | undefined {
  if (err instanceof ProblemError) return err;
  // Domain errors: the one place they meet HTTP.
  if (err instanceof TaskNotFoundError) return new ProblemError(404, err.message);
  if (err instanceof IdempotencyKeyReusedError)
    return validationProblem([{ path: '/headers/idempotency-key', message: err.message }]);
  if (err instanceof IdempotencyKeyInUseError) return new ProblemError(409, err.message);
  if (err instanceof TaskChangedError) {
    return new ProblemError(412, 'The task has changed since the ETag sent in If-Match; nothing was changed.', {
      headers: { ETag: etagOf(err.currentVersion) },
    });
  }
  if (err instanceof InvalidCursorError || err instanceof CursorQueryMismatchError)
    return validationProblem([{ path: '/query/cursor', message: err.message }]);
  if (err instanceof ConflictingFiltersError)
    return validationProblem([{ path: `/query/${err.parameter}`, message: err.message }]);
  if (err instanceof SyncTooOldError) return new ProblemError(410, err.message);
  if (err instanceof UnknownTimeZoneError) return validationProblem([{ path: '/query/tz', message: err.message }]);
  if (err instanceof KeySetUnavailableError) {
    return new ProblemError(
      503,
      'Tokens cannot be checked for the moment (the key server does not answer); retry in a few seconds.',
      {
        // When the key server will be asked again (src/auth/key-server-back-off.ts), if known.
        headers: { 'Retry-After': String(err.retryAfterSeconds ?? OUTAGE_RETRY_AFTER_SECONDS) },
      },
    );
  }
  if (err instanceof DatabaseUnavailableError) {
    return new ProblemError(503, 'The database is unavailable for the moment; retry in a few seconds.', {
      headers: { 'Retry-After': String(OUTAGE_RETRY_AFTER_SECONDS) },
    });
  }
  return (
    (isBodyParserError(err) ? fromBodyParser(err) : undefined) ??
    (isValidatorError(err) ? fromValidator(err, contentType) : undefined) ??
    (isClientHttpError(err) ? new ProblemError(err.status, err.message) : undefined)
  );
}

/** The last middleware: turns anything thrown into a problem document. */
export function problemHandler(): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const problem = toProblem(err, req.headers['content-type']);
    const instance = clip(asUriReference(req.originalUrl.split('?')[0] ?? req.originalUrl), 16384);
    if (!problem) {
      // Unexpected: the cause goes to the log, never to the client (no stack, no SQL).
      // req.log is this request's logger (src/http/request-log.ts): the line carries its id.
      req.log.error({ err, method: req.method, url: instance }, 'request failed');
      res
        .status(500)
        .type(PROBLEM_CONTENT_TYPE)
        .json(
          problemBody(
            500,
            'The service failed to answer this request. It has been logged.',
            instance,
            requestIdOf(req),
          ),
        );
      return;
    }
    res.status(problem.status).set(problem.headers).type(PROBLEM_CONTENT_TYPE);
    res.json(problemBody(problem.status, problem.detail, instance, requestIdOf(req), problem.errors));
  };
}

/** Answers paths that match no route (outside the spec's reach, e.g. under /docs). */
export const notFoundHandler: RequestHandler = (_req, _res, next) => {
  next(new ProblemError(404, 'There is no such resource; see /docs for the API.'));
};
