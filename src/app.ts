// The middleware order, top to bottom, is the way every request travels.
import express, { type Express, type RequestHandler } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import { RequestContext } from '@mikro-orm/core';
import type { TokenVerifier } from './auth/token-verifier.ts';
import type { Config } from './config.ts';
import type { Database } from './db/orm.ts';
import type { Logger } from './logger.ts';
import { docsRouter } from './http/docs.ts';
import { loadSpec, registerOperations, validator } from './http/openapi.ts';
import { notFoundHandler, problemHandler } from './http/problem.ts';
import { authenticate } from './http/auth.ts';
import type { RateLimiter } from './http/rate-limit.ts';
import { TaskRepository } from './tasks/task.repository.ts';
import { taskHandlers } from './tasks/task.handlers.ts';

export const BODY_LIMIT_BYTES = 16 * 1024;

export interface AppDeps {
  config: Pick<Config, 'validateResponses' | 'rateLimit' | 'corsOrigins' | 'trustProxy'>;
  db: Database;
  logger: Logger;
  verifier: TokenVerifier;
  limiter: RateLimiter;
}

/** Headers a browser client may read from our responses. */
const EXPOSED_HEADERS = ['Location', 'Link', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate'];

function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}

/** Trailing slashes redirect to the canonical path, as the replaced service did (308 keeps the method). */
const canonicalPath: RequestHandler = (req, res, next) => {
  if (req.path.length > 1 && req.path.endsWith('/') && req.path.startsWith('/api/')) {
    const [path, query] = [req.path.replace(/\/+$/, ''), req.originalUrl.slice(req.originalUrl.indexOf('?'))];
    res.redirect(308, req.originalUrl.includes('?') ? path + query : path);
    return;
  }
  next();
};

export function createApp({ config, db, logger, verifier, limiter }: AppDeps): Express {
  const spec = loadSpec();
  const app = express();
  app.disable('x-powered-by');
  // Validators for caching come with the ETag design; a body hash on every response is not one.
  app.set('etag', false);
  // Decides req.ip, which keys the rate limit of requests without a valid token.
  app.set('trust proxy', config.trustProxy);

  app.use(requestLog(logger));
  // CORS first: a preflight must be answered before the validator, which knows no OPTIONS.
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
        allowedHeaders: ['Authorization', 'Content-Type'],
        exposedHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      }),
    );
  }
  app.use(
    helmet({
      contentSecurityPolicy: {
        // Helmet's defaults suit Swagger UI (its scripts are files, its icons data: URIs); upgrading
        // to https would break the docs on a plain-http localhost.
        directives: { upgradeInsecureRequests: null },
      },
    }),
  );
  app.use(docsRouter(spec));
  app.use(canonicalPath);
  // strict: false parses any JSON value, so valid JSON of the wrong shape is a 422, not a 400.
  app.use(express.json({ limit: BODY_LIMIT_BYTES, strict: false, type: ['application/json', 'application/*+json'] }));
  app.use(validator(spec, { validateResponses: config.validateResponses }));
  // Each request gets its own identity map; registered after validation so rejected requests cost nothing.
  app.use((_req, _res, next) => RequestContext.create(db.em, next));
  registerOperations(app, spec, taskHandlers(new TaskRepository(db.em)), {
    secured: authenticate({ verifier, limiter, rateLimit: config.rateLimit }),
  });
  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  return app;
}
