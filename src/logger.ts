import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

/** JSON lines on stdout. Authorization headers and cookies never reach a log line. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true } };
  return destination ? pino(options, destination) : pino(options);
}
