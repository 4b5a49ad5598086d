import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

// Credentials are dropped wherever a line would carry request or response headers (a logged error's
// request, say; the request lines themselves name none: src/http/request-log.ts).
const CREDENTIALS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',

  'res.headers["set-cookie"]',
];

/** JSON lines on stdout. Authorization headers and cookies never reach a log line. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: CREDENTIALS, remove: true } };
  return destination ? pino(options, destination) : pino(options);
}
