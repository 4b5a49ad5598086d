// The one place a request is admitted to a secured operation: bearer token → user, the rate limit
// for that user (or for the client address when there is no valid token), then ownership of the path.
import type { RequestHandler } from 'express';
import type { RateLimitConfig } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { InvalidTokenError, type Principal, type TokenVerifier } from '../auth/token-verifier.ts';
import { ProblemError } from './problem.ts';
import { rateLimitHeaders, type RateLimiter, type RateLimitPolicy } from './rate-limit.ts';

interface AdmissionDeps {
  verifier: TokenVerifier;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
  metrics?: Pick<Metrics, 'rateLimitRefused'> | undefined;
}

/** What a handler may rely on once a request is admitted. */
interface AdmittedLocals {
  principal: Principal;
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

function unauthorized(detail: string, tokenSent: boolean): ProblemError {
  // RFC 6750 §3.1: no error code when no credentials were sent at all.
  const challenge = tokenSent
    ? `Bearer realm="tasks-api", error="invalid_token", error_description="${detail.replaceAll('"', "'")}"`
    : 'Bearer realm="tasks-api"';
  return new ProblemError(401, detail, { headers: { 'WWW-Authenticate': challenge } });
}

export function admission({
  verifier,
  limiter,
  rateLimit,
  metrics,
}: AdmissionDeps): RequestHandler<{ user_id?: string }> {
  const perUser: RateLimitPolicy = {
    name: 'per-user',
    quota: rateLimit.perUser,
    windowSeconds: rateLimit.windowSeconds,
  };
  const perIp: RateLimitPolicy = { name: 'per-ip', quota: rateLimit.perIp, windowSeconds: rateLimit.windowSeconds };

  return async (req, res, next) => {
    const header = req.headers.authorization;
    const token = header ? BEARER.exec(header)?.[1] : undefined;
    let principal: Principal | undefined;
    let refusal: ProblemError | undefined;
    if (!header) {
      refusal = unauthorized('This operation needs a bearer token (Authorization: Bearer <JWT>).', false);
    } else if (!token) {
      refusal = unauthorized('The Authorization header is not "Bearer <token>".', true);
    } else {
      try {
        principal = await verifier.verify(token);
      } catch (err) {
        if (!(err instanceof InvalidTokenError)) throw err;
        refusal = unauthorized(err.message, true);
      }
    }

    // Counted before anything else is decided, so guessing tokens is throttled as much as using them.
    const policy = principal ? perUser : perIp;
    if (policy.quota > 0) {
      const decision = await limiter.consume(principal ? principal.userId : (req.ip ?? 'unknown'), policy);
      res.set(rateLimitHeaders(policy, decision));
      if (!decision.allowed) {
        metrics?.rateLimitRefused(policy.name);
        throw new ProblemError(
          429,
          `Too many requests: ${policy.quota} per ${policy.windowSeconds} s ${principal ? 'for each user' : 'for each client without a valid token'}; retry in ${decision.resetSeconds} s.`,
          { headers: rateLimitHeaders(policy, decision) },
        );
      }
    }
    if (!principal) throw refusal ?? unauthorized('The token was not accepted.', true);

    if (req.params.user_id !== undefined && req.params.user_id !== principal.userId) {
      throw new ProblemError(403, "This token does not grant access to another user's tasks.");
    }
    (res.locals as AdmittedLocals).principal = principal;
    next();
  };
}
