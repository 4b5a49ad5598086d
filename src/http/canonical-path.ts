import type { RequestHandler } from 'express';

/**
 * A trailing slash under /api redirects to the path without it, as the replaced service did; 308
 * (not its 307) because the canonical path is permanent, and 308 keeps the method and body.
 */
export const canonicalPath: RequestHandler = (req, res, next) => {
  if (req.path.length > 1 && req.path.endsWith('/') && req.path.startsWith('/api/')) {
    const queryAt = req.originalUrl.indexOf('?');
    const query = queryAt === -1 ? '' : req.originalUrl.slice(queryAt);
    res.redirect(308, req.path.replace(/\/+$/, '') + query);
    return;
  }
  next();
};
