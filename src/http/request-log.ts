import type { RequestHandler } from 'express';
import type { Logger } from '../logger.ts';

/** One line per request once it is answered: method, path, status, milliseconds. Never headers. */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // A passing health probe arrives every few seconds from every load balancer: not news.
      const level = res.statusCode < 400 && req.path.startsWith('/health/') ? 'debug' : 'info';
      logger[level](
        { method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    });
    next();
  };
}
