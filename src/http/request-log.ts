// Every request gets an id, answered as X-Request-Id and carried by every log line about it (req.log),
// so a 500's cause can be found from what the client saw. One line per answered request, with the
// fields pino-http made standard: `reqId`, `req`, `res` and `responseTime`.
//
// Not pino-http itself: it makes two child loggers for every request whether or not anything is
// logged through them (≈ 10 % of a getTask's CPU, docs/benchmarks.md). Here a request's logger is
// made the first time something uses it, which on a healthy request is never.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Express, Request, Response } from 'express';
import type { Level } from 'pino';
import type { Logger } from '../logger.ts';
import { loadSpec } from '../spec.ts';

declare module 'http' {
  interface IncomingMessage {
    /** This request's id, also answered as X-Request-Id (src/http/request-log.ts). */
    id: string;
    /** A logger whose every line carries `reqId`: this request's id. */
    log: Logger;
  }
}

export const REQUEST_ID_HEADER = 'X-Request-Id';

// What a caller's id may be to be kept (and echoed into logs and headers) is the spec's RequestId
// schema: short, printable, nothing a log reader or a header could trip on. Anything else gets ours.
const schema = (loadSpec().document.components?.schemas?.RequestId ?? {}) as {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
};
if (!schema.pattern || schema.maxLength === undefined) {
  throw new Error('The spec must define components.schemas.RequestId with a pattern and a maxLength');
}
const pattern = new RegExp(schema.pattern, 'u');
const { minLength = 0, maxLength } = schema;

/** The caller's X-Request-Id when it is sane, else a fresh UUID. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' &&
    incoming.length >= minLength &&
    incoming.length <= maxLength &&
    pattern.test(incoming)
    ? incoming
    : randomUUID();
}

/** The id logRequests gave this request. */
export const requestIdOf = (req: IncomingMessage): string => req.id;

const isProbe = (req: Request) => req.originalUrl.startsWith('/health/');

function levelOf(req: Request, res: Response): Level | 'debug' {
  if (res.statusCode >= 500) return isProbe(req) ? 'warn' : 'error';
  // A passing health probe arrives every few seconds from every load balancer: not news.
  return isProbe(req) && res.statusCode < 400 ? 'debug' : 'info';
}

const BASE_LOGGER = Symbol('base logger');
const REQUEST_LOGGER = Symbol('request logger');
interface LoggedRequest {
  [BASE_LOGGER]: Logger;
  [REQUEST_LOGGER]?: Logger;
}

/**
 * Gives every request an id and a logger, and logs one line when its answer is complete (or the
 * client went away before it was). Goes first, so every answer carries the id: problems, 404s,
 * 413s, the docs.
 */
export function logRequests(app: Express, logger: Logger): void {
  // On this app's request prototype, so nothing is built per request until a line is written.
  Object.defineProperty(app.request, 'log', {
    get(this: Request & LoggedRequest): Logger {
      return (this[REQUEST_LOGGER] ??= this[BASE_LOGGER].child({ reqId: this.id }));
    },
  });
  app.use((req, res, next) => {
    const started = Date.now();
    // Read now: a socket the client has closed no longer knows its peer.
    const remoteAddress = req.socket.remoteAddress;
    const id = requestIdFor(req.headers['x-request-id']);
    res.setHeader(REQUEST_ID_HEADER, id);
    req.id = id;
    (req as unknown as LoggedRequest)[BASE_LOGGER] = logger;
    // 'close' follows 'finish' on every response, and comes alone when the client left first.
    res.once('close', () => {
      const answered = res.writableFinished;
      const level = answered ? levelOf(req, res) : 'info';
      if (!logger.isLevelEnabled(level)) return;
      // Only what an operator reads: headers are where credentials travel, and logging every header
      // halved throughput (docs/benchmarks.md).
      const line = {
        reqId: id,
        req: { id, method: req.method, url: req.originalUrl, remoteAddress, userAgent: req.headers['user-agent'] },
        // A client that left got no answer, so there is no status to report.
        ...(answered ? { res: { statusCode: res.statusCode } } : {}),
        responseTime: Date.now() - started,
      };
      logger[level](
        line,
        !answered ? 'request aborted' : res.statusCode >= 500 ? 'request errored' : 'request completed',
      );
    });
    next();
  });
}
