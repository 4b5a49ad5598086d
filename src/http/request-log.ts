// Every request gets an id, answered as X-Request-Id and carried by every log line about it (req.log),
// so a 500's cause can be found from what the client saw. One line per answered request, pino-http's
// standard `req`, `res` and `responseTime` fields.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp, type HttpLogger } from 'pino-http';
import type { SerializedRequest, SerializedResponse } from 'pino';
import type { Logger } from '../logger.ts';
import { loadSpec } from '../spec.ts';

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

/** The id requestLog gave this request (genReqId below makes it, always a string). */
export const requestIdOf = (req: IncomingMessage): string => req.id as string;

const isProbe = (req: IncomingMessage) => (req.url ?? '').startsWith('/health/');

export function requestLog(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const id = requestIdFor(req.headers['x-request-id']);
      // Set first thing, so every answer carries it: problems, 404s, 413s, the docs.
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    // Lines written through req.log carry only `reqId`; the completion line adds `req` and `res`.
    quietReqLogger: true,
    // pino-http's standard fields, kept to what an operator reads: every header on every line was a
    // measurable cost (docs/benchmarks.md), and headers are where credentials travel.
    serializers: {
      req: ({ id, method, url, remoteAddress, headers }: SerializedRequest) => ({
        id,
        method,
        url,
        remoteAddress,
        userAgent: headers['user-agent'],
      }),
      res: ({ statusCode }: SerializedResponse) => ({ statusCode }),
    },
    customLogLevel(req, res, err) {
      if (err || res.statusCode >= 500) return isProbe(req) ? 'warn' : 'error';
      // A passing health probe arrives every few seconds from every load balancer: not news.
      return isProbe(req) && res.statusCode < 400 ? 'debug' : 'info';
    },
    // The problem handler has already logged a 5xx's cause with this request's id; pino-http would
    // otherwise add a made-up "failed with status code 500" error with a stack of its own.
    customErrorObject: (_req, _res, _err, { err: _made, ...line }: Record<string, unknown>) => line,
  });
}
