// Security headers by what a response is. A JSON response is no document: a browser never renders it,
// so it needs only what OWASP's REST Security Cheat Sheet lists (never cached, never sniffed, never
// framed). Swagger UI and the spec files are documents and get helmet's whole set. Set once per
// response from a table built at start-up, not assembled per request.
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** Exported for the bench's baseline (bench/baseline.ts), which must send what the service sends. */
export const API_HEADERS: [string, string][] = [
  ['Cache-Control', 'no-store'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
];

export const apiHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of API_HEADERS) res.setHeader(name, value);
  next();
};

export const documentHeaders: RequestHandler = helmet({
  contentSecurityPolicy: {
    // Helmet's defaults suit Swagger UI (its scripts are files, its icons data: URIs); upgrading
    // to https would break the docs on a plain-http localhost.
    directives: { upgradeInsecureRequests: null },
  },
});
