// Verifies bearer JWTs: HS256 with the shared secret, and/or EdDSA/ES*/RS*/PS* with keys from a JWKS
// URL. Each key source accepts only its own algorithms, so "none" and HS/RS confusion are
// impossible by construction; jose also refuses a key whose type does not fit the algorithm.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { createHash, createSecretKey } from 'node:crypto';
import { systemClock, type Clock } from '../clock.ts';
import type { AuthConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { OutageLog } from '../outage-log.ts';
import { KeyServerBackOff } from './key-server-back-off.ts';
import { isUserId } from './user-id.ts';

const HMAC_ALGORITHMS = ['HS256'];
const ASYMMETRIC_ALGORITHMS = [
  'EdDSA',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

export interface Principal {
  userId: string;
}

/** Why a token was refused; `description` goes into WWW-Authenticate and the problem detail. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** How a fetch of the key set failed, in few enough words to be a metric's label. */
export type KeySetFailure = 'no-answer' | 'status' | 'invalid' | 'timeout';

/** The key server (JWKS_URL) cannot be asked for the keys: an outage on our side, not a bad token. */
export class KeySetUnavailableError extends Error {
  override name = 'KeySetUnavailableError';
  readonly failure: KeySetFailure;
  /** What the key server did, for the outage's log line: "answered 500", "does not answer (…)". */
  readonly reason: string;
  /** How long until the key server is asked again (the back-off's rest), when that is known. */
  readonly retryAfterSeconds: number | undefined;
  constructor(failure: KeySetFailure, reason: string, retryAfterSeconds?: number) {
    super(`The key server ${reason}.`);
    this.failure = failure;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  /** How many verified tokens are remembered now (never more than the cache's bound). */
  readonly cachedTokens: number;
}

/**
 * Verified tokens remembered, so a client's next request with the same token skips the signature
 * check (~35 µs of CPU for HS256, more for the asymmetric algorithms). Bounded; the oldest entry goes
 * first.
 */
const CACHE_ENTRIES = 10_000;

const KEY_SERVER_TIMEOUT_MS = 5_000;

interface Verified {
  userId: string;
  /** The token's `exp`: an entry is never used after it, whatever the clock-skew tolerance. */
  expiresAtMs: number;
  /** For a token verified with the JWKS: the key set's generation then (undefined for HS256). */
  keySet: number | undefined;
}

export function createTokenVerifier(
  config: Pick<AuthConfig, 'jwksUrl' | 'issuer' | 'audience' | 'clockSkewSeconds' | 'jwksCooldownSeconds'> & {
    secret: string | undefined;
  },
  {
    logger,
    metrics,
    clock,
    cacheEntries = CACHE_ENTRIES,
    keyServerTimeoutMs = KEY_SERVER_TIMEOUT_MS,
  }: {
    logger: Logger;
    metrics?: Metrics | undefined;
    clock?: Clock | undefined;
    cacheEntries?: number;
    keyServerTimeoutMs?: number;
  },
): TokenVerifier {
  const now = clock ?? systemClock;
  // A KeyObject, imported once: raw bytes would be imported again on every verification (~15 µs each).
  const secret = config.secret ? createSecretKey(Buffer.from(config.secret, 'utf8')) : undefined;
  // Counts the key set's fetches: one starting may change the keys, so every token verified with the
  // previous set is verified again before it is trusted.
  let keySet = 0;
  // Its outages and back-offs are timed by the injected clock, if any (a test's), else by a monotonic one.
  const keyServer = new OutageLog(logger, 'key server', 'tokens it must vouch for answer 503 until it is back', clock);
  const backOff = new KeyServerBackOff(clock);
  // Why the last fetch failed, repeated to the requests refused during the back-off that followed.
  let lastFailure: KeySetUnavailableError | undefined;
  // jose caches the key set, refetches it when a token names an unknown kid (at most once per
  // cooldown, so forged kids cannot hammer the key server), and refreshes it after 10 minutes regardless.
  // jose merges concurrent fetches; after a failed one, the back-off refuses fetches without asking.
  const jwks = config.jwksUrl
    ? createRemoteJWKSet(config.jwksUrl, {
        cooldownDuration: config.jwksCooldownSeconds * 1000,
        cacheMaxAge: 600_000,
        timeoutDuration: keyServerTimeoutMs,
        [customFetch]: async (url, init) => {
          const waitMs = backOff.remainingMs();
          if (waitMs > 0 && lastFailure) {
            throw new KeySetUnavailableError(lastFailure.failure, lastFailure.reason, Math.ceil(waitMs / 1000));
          }
          keySet++;
          try {
            const keys = await fetchKeySet(url, init, keyServerTimeoutMs);
            backOff.answered();
            keyServer.answered();
            return keys;
          } catch (err) {
            const unavailable = err as KeySetUnavailableError;
            keyServer.failed(unavailable.reason);
            metrics?.keySetFetchFailed(unavailable.failure);
            lastFailure = unavailable;
            const backOffMs = backOff.failed();
            throw new KeySetUnavailableError(unavailable.failure, unavailable.reason, Math.ceil(backOffMs / 1000));
          }
        },
      })
    : undefined;
  const keySetNow = () => (jwks?.reloading ? -1 : keySet);
  const cache = new Map<string, Verified>();
  const remember = (key: string, entry: Verified) => {
    if (cache.size >= cacheEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, entry);
  };
  const common: JWTVerifyOptions = {
    clockTolerance: config.clockSkewSeconds,
    requiredClaims: ['sub', 'exp'],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };

  return {
    get cachedTokens() {
      return cache.size;
    },

    async verify(token) {
      // The whole token is the key: a look-alike with another signature is another entry.
      const key = createHash('sha256').update(token).digest('base64url');
      const known = cache.get(key);
      if (known) {
        if (now() < known.expiresAtMs && (known.keySet === undefined || known.keySet === keySetNow())) {
          return { userId: known.userId };
        }
        cache.delete(key);
      }
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        throw new InvalidTokenError('The token is not a JWT.');
      }
      try {
        let payload;
        let verifiedWith: number | undefined;
        const options = { ...common, currentDate: new Date(now()) };
        if (alg && HMAC_ALGORITHMS.includes(alg) && secret) {
          ({ payload } = await jwtVerify(token, secret, { ...options, algorithms: HMAC_ALGORITHMS }));
        } else if (alg && ASYMMETRIC_ALGORITHMS.includes(alg) && jwks) {
          const before = keySetNow();
          ({ payload } = await jwtVerify(token, jwks as JWTVerifyGetKey, {
            ...options,
            algorithms: ASYMMETRIC_ALGORITHMS,
          }));
          // Remembered only when the key set did not change (or start to) while this token was checked.
          verifiedWith = before >= 0 && before === keySetNow() ? before : -1;
        } else {
          throw new InvalidTokenError(`Tokens signed with "${alg ?? 'no algorithm'}" are not accepted.`);
        }
        // The user id is the `sub` claim, and must fit the spec's UserId so it can match a path.
        if (typeof payload.sub !== 'string' || !isUserId(payload.sub)) {
          throw new InvalidTokenError("The token's subject is not a valid user id.");
        }
        if (verifiedWith !== -1 && payload.exp !== undefined) {
          remember(key, { userId: payload.sub, expiresAtMs: payload.exp * 1000, keySet: verifiedWith });
        }
        return { userId: payload.sub };
      } catch (err) {
        throw toInvalidToken(err);
      }
    },
  };
}

/**
 * One fetch of the key set, judged whole here (status, JSON, shape, by jose's own rule) so that every
 * way it fails is a KeySetUnavailableError saying how, and an answer ends an outage only if jose will
 * take it. jose reads the body handed back once more, once per fetch.
 */
async function fetchKeySet(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  let body: string;
  try {
    const response = await fetch(url, init);
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new KeySetUnavailableError('status', `answered ${response.status}`);
    }
    body = await response.text();
  } catch (err) {
    if (err instanceof KeySetUnavailableError) throw err;
    // jose's signal: no answer within its timeout, or the body stalled.
    if ((err as Error).name === 'TimeoutError') {
      throw new KeySetUnavailableError('timeout', `did not answer within ${timeoutMs / 1000} s`);
    }
    // fetch's own message is "fetch failed"; its cause says what happened (connect ECONNREFUSED …).
    const cause = (err as Error).cause as { message?: string; code?: string } | undefined;
    throw new KeySetUnavailableError(
      'no-answer',
      `does not answer (${cause?.message || cause?.code || (err as Error).message})`,
    );
  }
  let keys: unknown;
  try {
    keys = JSON.parse(body);
  } catch {
    throw new KeySetUnavailableError('invalid', 'sent no valid key set (not JSON)');
  }
  try {
    createLocalJWKSet(keys as JSONWebKeySet);
  } catch (err) {
    throw new KeySetUnavailableError('invalid', `sent no valid key set (${(err as Error).message})`);
  }
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
}

function toInvalidToken(err: unknown): Error {
  if (err instanceof InvalidTokenError) return err;
  if (err instanceof errors.JWTExpired) return new InvalidTokenError('The token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new InvalidTokenError('The token is not valid yet.');
    return new InvalidTokenError(`The token's "${err.claim}" claim is not accepted.`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new InvalidTokenError("The token's signature does not verify.");
  if (err instanceof errors.JWKSNoMatchingKey) return new InvalidTokenError('The token was signed by an unknown key.');
  if (err instanceof errors.JOSEAlgNotAllowed) return new InvalidTokenError("The token's algorithm is not accepted.");
  // Our problem, not the client's. fetchKeySet turns every failed fetch into KeySetUnavailableError
  // already; these two stay in case jose judges an answer it handed on.
  if (err instanceof errors.JWKSTimeout) return new KeySetUnavailableError('timeout', 'did not answer in time');
  if (err instanceof errors.JWKSInvalid) return new KeySetUnavailableError('invalid', 'sent no valid key set');
  if (err instanceof errors.JOSEError) return new InvalidTokenError('The token is malformed.');
  return err as Error;
}
