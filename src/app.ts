// The middleware order, top to bottom, is the way every request travels.
import express, { type Express } from 'express';
import cors from 'cors';
import type { TokenVerifier } from './auth/token-verifier.ts';
import type { Config } from './config.ts';
import type { Database } from './db/orm.ts';
import type { DatabaseAvailability } from './db/availability.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { docsRouter } from './http/docs.ts';
import { apiHeaders } from './http/security-headers.ts';
import { jsonBodies, registerOperations, validator } from './http/openapi.ts';
import { loadSpec } from './spec.ts';
import { notFoundHandler, problemHandler } from './http/problem.ts';
import { admission } from './http/admission.ts';
import { canonicalPath } from './http/canonical-path.ts';
import { strictQueryEncoding } from './http/query-encoding.ts';
import { logRequests } from './http/request-log.ts';
import type { RateLimiter } from './http/rate-limit.ts';
import { TaskRepository } from './tasks/task.repository.ts';
import { taskHandlers } from './tasks/task.handlers.ts';
import { healthHandlers } from './health/health.handlers.ts';
import type { ReadinessCheck } from './health/readiness.ts';

const BODY_LIMIT_BYTES = 16 * 1024;

interface AppDeps {
  config: Pick<Config, 'validateResponses' | 'rateLimit' | 'corsOrigins' | 'trustProxy' | 'tombstoneRetentionDays'>;
  db: Database;
  availability: DatabaseAvailability;
  logger: Logger;
  verifier: TokenVerifier;
  limiter: RateLimiter;
  readiness: ReadinessCheck;
  /** When METRICS_PORT is set. */
  metrics?: Metrics | undefined;
}

/** Headers a browser client may read from our responses. */
const EXPOSED_HEADERS = [
  'ETag',
  'Idempotent-Replayed',
  'Location',
  'Link',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'WWW-Authenticate',
  'X-Request-Id',
];
/** Request headers a browser client may send (beyond the CORS-safelisted ones). */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'If-Match',
  'If-None-Match',
  'X-Request-Id',
];

export function createApp({
  config,
  db,
  availability,
  logger,
  verifier,
  limiter,
  readiness,
  metrics,
}: AppDeps): Express {
  const spec = loadSpec();
  const app = express();
  app.disable('x-powered-by');
  // Tasks carry their own ETag (their version, src/http/entity-tags.ts); a body hash on every other
  // response would cost a hash and validate nothing a client needs.
  app.set('etag', false);
  // Decides req.ip, which keys the rate limit of requests without a valid token.
  app.set('trust proxy', config.trustProxy);

  logRequests(app, logger);
  if (metrics) app.use(metrics.requests);
  // CORS first: a preflight must be answered before the validator, which knows no OPTIONS.
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
        allowedHeaders: ALLOWED_HEADERS,
        exposedHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      }),
    );
  }
  // The documents (Swagger UI, the spec) are answered here with their own headers; everything after is API.
  app.use(docsRouter(spec));
  app.use(apiHeaders);
  app.use(canonicalPath);
  app.use(jsonBodies(spec, BODY_LIMIT_BYTES));
  // After the body's checks (415, 413, 400 come first, as for every other breach of the contract).
  app.use(strictQueryEncoding);
  app.use(validator(spec, { validateResponses: config.validateResponses }));
  // No RequestContext per request: repositories send SQL and map rows, they never use an identity map.
  const handlers = {
    ...taskHandlers(new TaskRepository(db.em, availability, { tombstoneRetentionDays: config.tombstoneRetentionDays })),
    ...healthHandlers(readiness),
  };
  registerOperations(app, spec, handlers, {
    secured: admission({ verifier, limiter, rateLimit: config.rateLimit, metrics }),
  });
  app.use(notFoundHandler);
  app.use(problemHandler());
  return app;
}
