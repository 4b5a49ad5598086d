import type { RequestHandler } from 'express';
import { validationProblem } from './problem.ts';

function decoded(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/**
 * Node's query parser turns a %-escape that is not UTF-8 (a lone surrogate's bytes, `%FF`, a bare
 * `%`) into U+FFFD or keeps it as text, so a value the client never meant would reach the contract
 * check and could pass it. Such a query is refused here, before the validator, naming each parameter.
 */
export const strictQueryEncoding: RequestHandler = (req, _res, next) => {
  const at = req.originalUrl.indexOf('?');
  if (at === -1 || !req.originalUrl.includes('%', at)) return next();
  const broken = [];
  for (const pair of req.originalUrl.slice(at + 1).split('&')) {
    const eq = pair.indexOf('=');
    const [rawName, rawValue] = eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    const name = decoded(rawName);
    if (name === undefined || decoded(rawValue) === undefined) {
      broken.push({ path: `/query/${name ?? rawName}`, message: 'must be UTF-8, percent-encoded (RFC 3986)' });
    }
  }
  next(broken.length > 0 ? validationProblem(broken) : undefined);
};
