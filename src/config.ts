// The environment, parsed and validated once at start-up. Nothing else reads process.env.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig = { kind: 'postgresql'; url: string; poolMax: number } | { kind: 'pglite'; dataDir: string };

export interface AuthConfig {
  /** HS256 shared secret (Better Auth's BETTER_AUTH_SECRET). */
  secret: string | undefined;
  /** Where the asymmetric public keys are published (Better Auth's JWT plugin: /api/auth/jwks). */
  jwksUrl: URL | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  clockSkewSeconds: number;
  /** The least time between two fetches of the JWKS when tokens name a key it does not have. */
  jwksCooldownSeconds: number;
  /**
   * Embedded database and nothing configured: the service makes a development secret of its own,
   * kept beside the embedded data, so trying it locally needs no setup but still needs tokens.
   */
  developmentSecret: boolean;
}

export interface RateLimitConfig {
  windowSeconds: number;
  /** Requests per window for each authenticated user; 0 turns the limit off. */
  perUser: number;
  /** Requests per window for each client address whose request carries no valid token; 0 turns it off. */
  perIp: number;
}

export interface Config {
  port: number;
  host: string | undefined;
  database: DatabaseConfig;
  auth: AuthConfig;
  rateLimit: RateLimitConfig;
  /** Origins allowed to call from a browser; empty means no CORS headers at all. */
  corsOrigins: string[];
  /** Express's "trust proxy": how the client address is read behind load balancers. */
  trustProxy: boolean | number | string;
  migrateOnStart: boolean;
  logLevel: LogLevel;
  /** Validate every response against the spec; a response that breaks the contract becomes a 500. */
  validateResponses: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${env[name]}")`);
}

function database(env: Env): DatabaseConfig {
  const url = env.DATABASE_URL?.trim();
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL is not a valid URL (expected postgresql://user@host:port/database)');
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new ConfigError(`DATABASE_URL must use postgresql:// (got "${parsed.protocol}//")`);
    }
    if (parsed.pathname.length <= 1) {
      throw new ConfigError('DATABASE_URL must name a database (postgresql://user@host:port/database)');
    }
    return { kind: 'postgresql', url, poolMax: integer(env, 'DB_POOL_MAX', 10, 2, 1000) };
  }
  return { kind: 'pglite', dataDir: env.PGLITE_DATA_DIR?.trim() || '.data/pglite' };
}

function auth(env: Env, db: DatabaseConfig): AuthConfig {
  const secret = env.BETTER_AUTH_SECRET || undefined;
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('BETTER_AUTH_SECRET must be at least 32 bytes (generate one with: openssl rand -base64 32)');
  }
  let jwksUrl: URL | undefined;
  if (env.JWKS_URL) {
    try {
      jwksUrl = new URL(env.JWKS_URL);
    } catch {
      throw new ConfigError(`JWKS_URL is not a valid URL (got "${env.JWKS_URL}")`);
    }
    if (jwksUrl.protocol !== 'https:' && jwksUrl.protocol !== 'http:') {
      throw new ConfigError('JWKS_URL must be an http(s) URL');
    }
  }
  const developmentSecret = !secret && !jwksUrl;
  if (developmentSecret && db.kind === 'postgresql') {
    throw new ConfigError(
      'Set BETTER_AUTH_SECRET (HS256 shared secret) or JWKS_URL (public keys): with DATABASE_URL set the service ' +
        'will not start without a way to verify tokens. The development secret exists only for the embedded database.',
    );
  }
  return {
    secret,
    jwksUrl,
    issuer: env.JWT_ISSUER || undefined,
    audience: env.JWT_AUDIENCE || undefined,
    clockSkewSeconds: integer(env, 'JWT_CLOCK_SKEW_SECONDS', 10, 0, 300),
    jwksCooldownSeconds: integer(env, 'JWKS_COOLDOWN_SECONDS', 30, 0, 3600),
    developmentSecret,
  };
}

function corsOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    // An origin is scheme://host[:port], nothing more; "*" allows any (safe: tokens, not cookies).
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`CORS_ORIGINS must list origins like https://app.example.com, or * (got "${origin}")`);
    }
  }
  return origins;
}

function trustProxy(raw: string | undefined): boolean | number | string {
  const value = raw?.trim();
  if (!value || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value; // "loopback", "10.0.0.0/8, 127.0.0.1", … as Express reads them
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL?.trim().toLowerCase() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }
  const db = database(env);
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST?.trim() || undefined,
    database: db,
    auth: auth(env, db),
    rateLimit: {
      windowSeconds: integer(env, 'RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
      perUser: integer(env, 'RATE_LIMIT_PER_USER', 300, 0, 1_000_000_000),
      perIp: integer(env, 'RATE_LIMIT_PER_IP', 60, 0, 1_000_000_000),
    },
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
    trustProxy: trustProxy(env.TRUST_PROXY),
    migrateOnStart: boolean(env, 'MIGRATE_ON_START', true),
    logLevel,
    validateResponses: boolean(env, 'VALIDATE_RESPONSES', env.NODE_ENV !== 'production'),
  };
}
