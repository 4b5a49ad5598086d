// Verifies bearer JWTs: HS256 with the shared secret, and/or EdDSA/ES*/RS*/PS* with keys from a JWKS
// URL. Each key source accepts only its own algorithms, so "none" and HS/RS confusion are
// impossible by construction; jose also refuses a key whose type does not fit the algorithm.
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { createSecretKey } from 'node:crypto';
import type { AuthConfig } from '../config.ts';
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

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

export function createTokenVerifier(
  config: Pick<AuthConfig, 'jwksUrl' | 'issuer' | 'audience' | 'clockSkewSeconds' | 'jwksCooldownSeconds'> & {
    secret: string | undefined;
  },
): TokenVerifier {
  // A KeyObject, imported once: raw bytes would be imported again on every verification (~15 µs each).
  const secret = config.secret ? createSecretKey(Buffer.from(config.secret, 'utf8')) : undefined;
  // jose caches the key set, refetches it when a token names an unknown kid (at most once per
  // cooldown, so forged kids cannot hammer the key server), and refreshes it after 10 minutes regardless.
  const jwks: JWTVerifyGetKey | undefined = config.jwksUrl
    ? createRemoteJWKSet(config.jwksUrl, {
        cooldownDuration: config.jwksCooldownSeconds * 1000,
        cacheMaxAge: 600_000,
        timeoutDuration: 5_000,
      })
    : undefined;
  const common: JWTVerifyOptions = {
    clockTolerance: config.clockSkewSeconds,
    requiredClaims: ['sub', 'exp'],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };

  return {
    async verify(token) {
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        throw new InvalidTokenError('The token is not a JWT.');
      }
      try {
        let payload;
        if (alg && HMAC_ALGORITHMS.includes(alg) && secret) {
          ({ payload } = await jwtVerify(token, secret, { ...common, algorithms: HMAC_ALGORITHMS }));
        } else if (alg && ASYMMETRIC_ALGORITHMS.includes(alg) && jwks) {
          ({ payload } = await jwtVerify(token, jwks, { ...common, algorithms: ASYMMETRIC_ALGORITHMS }));
        } else {
          throw new InvalidTokenError(`Tokens signed with "${alg ?? 'no algorithm'}" are not accepted.`);
        }
        // The user id is the `sub` claim, and must fit the spec's UserId so it can match a path.
        if (typeof payload.sub !== 'string' || !isUserId(payload.sub)) {
          throw new InvalidTokenError("The token's subject is not a valid user id.");
        }
        return { userId: payload.sub };
      } catch (err) {
        throw toInvalidToken(err);
      }
    },
  };
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
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return err; // our problem, not the client's: a 500
  if (err instanceof errors.JOSEError) return new InvalidTokenError('The token is malformed.');
  return err as Error;
}
