// The contract at work: it validates every request (and, in tests, every response), decides which
// bodies are read, and routes each operation to its handler.
import express, { type Express, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { ApiSpec } from '../spec.ts';
import type { OperationHandlers, OperationId } from './typed-handler.ts';
import { ProblemError, unsupportedMediaType, validationProblem } from './problem.ts';
import { expressPath, findOperation, requiresToken, specOperations } from './spec-operations.ts';

/**
 * Ajv coerces "Infinity" or "1e400" to a number that passes `type: integer` (Infinity % 1 is NaN)
 * and skips minimum/maximum for non-finite numbers, so the spec's bounds alone cannot stop it.
 * Runs right after the validator and refuses what it let through.
 */
const finiteQueryNumbers: RequestHandler = (req, _res, next) => {
  const errors = Object.entries(req.query as Record<string, unknown>)
    .filter(([, value]) => typeof value === 'number' && !Number.isFinite(value))
    .map(([name]) => ({ path: `/query/${name}`, message: 'must be a finite number' }));
  next(errors.length > 0 ? validationProblem(errors) : undefined);
};

export function validator(spec: ApiSpec, options: { validateResponses: boolean }): RequestHandler[] {
  return [...validatorMiddleware(spec, options), finiteQueryNumbers];
}

function validatorMiddleware(spec: ApiSpec, options: { validateResponses: boolean }): RequestHandler[] {
  return OpenApiValidator.middleware({
    // The validator rewrites the document it is given (it resolves $refs in place): give it a copy.
    apiSpec: structuredClone(spec.document),
    validateRequests: { allErrors: true, removeAdditional: false },
    validateResponses: options.validateResponses ? { allErrors: true } : false,
    validateFormats: true,
    // Full format checks: a date-time must name a real day (no 2026-02-30), as the tests' Ajv says.
    ajvFormats: { mode: 'full' },
    // Admission is src/http/admission.ts's job (WWW-Authenticate, rate limits, ownership).
    validateSecurity: false,
    $refParser: { mode: 'dereference' },
  });
}

/**
 * Parses JSON bodies only for operations whose spec declares a request body; any other request's
 * body is never read ("no request body is read" stays true, whatever a client sends). Decides, in
 * this order and before the validator looks at anything else, what is wrong with a body: absent
 * where required (422, whatever Content-Type says: the validator would take it for {}), a media
 * type the operation does not take or JSON in a charset other than UTF-8 (415; RFC 8259 allows no
 * other), compressed (415), too large (413), not JSON (400). The contract comes after (422).
 */
export function jsonBodies(spec: ApiSpec, limitBytes: number): RequestHandler {
  const takesBody = specOperations(spec.document)
    .filter(({ operation }) => operation.requestBody)
    .map(({ method, pattern, operation }) => {
      const body = operation.requestBody as { required?: boolean; content?: Record<string, unknown> };
      return { method, pattern, required: Boolean(body.required), mediaTypes: Object.keys(body.content ?? {}) };
    });
  // body-parser turns an empty body into {}; remember which requests really sent something.
  const sentBody = new WeakSet<object>();
  const parse = express.json({
    limit: limitBytes,
    verify: (req, _res, buffer) => {
      if (buffer.length > 0) sentBody.add(req);
    },
    // Any JSON value, so valid JSON of the wrong shape is a 422 (from the validator), not a 400.
    strict: false,
    // Compressed bodies are refused (415) rather than inflated: they are small, and inflation is work.
    inflate: false,
    // The media type was checked against the operation's own before parsing.
    type: () => true,
  });
  return (req, res, next) => {
    const op = findOperation(takesBody, req.method, req.path);
    if (!op) {
      next();
      return;
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) {
      next(op.required ? validationProblem([{ path: '/body', message: 'is required' }]) : undefined);
      return;
    }
    if (!req.is(op.mediaTypes)) {
      next(unsupportedMediaType(req.headers['content-type']));
      return;
    }
    const charset = /;\s*charset=("?)([^";]+)\1/i.exec(req.headers['content-type'] ?? '')?.[2]?.toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      next(new ProblemError(415, `JSON must be sent as UTF-8 (got charset ${charset}).`));
      return;
    }
    parse(req, res, (err?: unknown) => {
      if (err) next(err);
      else if (op.required && !sentBody.has(req)) {
        next(validationProblem([{ path: '/body', message: 'is required' }]));
      } else next();
    });
  };
}

/**
 * Routes every operation in the spec to the handler named by its operationId: the spec decides
 * paths, methods and which operations need a token (their `security`, or the document's); the
 * compiler makes sure a handler exists for each operationId. Registered on the app itself, not a
 * sub-router, so the validator's coerced params reach the handlers.
 */
export function registerOperations(
  app: Express,
  spec: ApiSpec,
  handlers: OperationHandlers,
  guard: { secured: RequestHandler<{ user_id?: string }> },
): void {
  for (const { method, path, operationId, operation } of specOperations(spec.document)) {
    const handler = handlers[operationId as OperationId] as RequestHandler | undefined;
    if (!handler) throw new Error(`No handler for operation ${operationId} (${method.toUpperCase()} ${path})`);
    if (requiresToken(operation, spec.document))
      app[method](expressPath(path), guard.secured as RequestHandler, handler);
    else app[method](expressPath(path), handler);
  }
}
