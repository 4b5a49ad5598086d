// The environment, parsed and validated once at start-up. Nothing else reads process.env.
//
// Every variable is read through an Environment, which records what is wrong instead of stopping at
// the first problem; the loader then throws one ConfigError that lists them all, so an operator
// fixes a deployment in one round, not one variable per restart. Adding a variable: read it in the
// section it belongs to (database, auth, …), list it in .env.example and the README's table.
import { existsSync } from 'node:fs';
import proxyaddr from 'proxy-addr';
import { ConnectionStringError, LIBPQ_VARIABLES, pgConnectionOptions, type LibpqEnvironment } from './db/connection.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | {
      kind: 'postgresql';
      url: string;
      poolMax: number;
      /** The libpq variables (PGSSLMODE, PGHOST, …) that were set; they fill what the URL leaves unsaid. */
      libpq?: LibpqEnvironment;
      /** How long start-up keeps trying a server that is not there yet; unset: one attempt. */
      connectTimeoutSeconds?: number;
      /** A direct (not pooled) connection string for migrations: Neon's DATABASE_URL_UNPOOLED. */
      unpooledUrl?: string;
    }
  | { kind: 'pglite'; dataDir: string };

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
  /** Processes serving requests (WEB_CONCURRENCY): 1 is this process alone; more is a node:cluster. */
  workers: number;
  logLevel: LogLevel;
  /** Validate every response against the spec; a response that breaks the contract becomes a 500. */
  validateResponses: boolean;
  /** Where Prometheus metrics are served (a listener of their own, on HOST); undefined: no metrics. */
  metricsPort: number | undefined;
  shutdown: ShutdownConfig;
  /** Days a deleted task's tombstone is kept for incremental sync (include_deleted). */
  tombstoneRetentionDays: number;
}

export interface ShutdownConfig {
  /** After SIGTERM: seconds of answering "not ready" while still serving, so load balancers notice. */
  delaySeconds: number;
  /** From SIGTERM: seconds after which the process exits 1, whatever still hangs. */
  timeoutSeconds: number;
}

/** One variable (or combination) that is wrong: what was expected, and what arrived (secrets masked). */
export interface ConfigProblem {
  variable: string;
  expected: string;
  /** The value as it may be shown; undefined when the variable is unset. */
  received: string | undefined;
}

/** Every problem with the configuration, one per line in `message`. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(
      problems.map((p) => `${p.variable}: expected ${p.expected}; got ${p.received ?? 'nothing (unset)'}`).join('\n'),
    );
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Variables whose value never appears in a message, only its length. */
const SECRET_VARIABLES = new Set(['BETTER_AUTH_SECRET']);

/** A received value as an error message may show it: secrets hidden, passwords in connection strings masked. */
function shown(variable: string, value: string): string {
  if (SECRET_VARIABLES.has(variable)) return `a hidden value of ${Buffer.byteLength(value)} bytes`;
  const masked = value
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^/?#]*@/i, '$1****@')
    .replace(/(password\s*=\s*)[^\s&]+/gi, '$1****');
  return JSON.stringify(masked);
}

/** Reads variables and collects what is wrong with them; `check()` throws them all at once. */
class Environment {
  readonly #env: Env;
  readonly #problems: ConfigProblem[] = [];

  constructor(env: Env) {
    this.#env = env;
  }

  /** The value as set, or undefined when unset or blank. */
  raw(name: string): string | undefined {
    const value = this.#env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  }

  /** The value without surrounding white space, or undefined when unset or blank. */
  text(name: string): string | undefined {
    return this.raw(name)?.trim();
  }

  get production(): boolean {
    return this.#env.NODE_ENV === 'production';
  }

  problem(variable: string, expected: string, received: string | undefined = this.raw(variable)): void {
    this.#problems.push({
      variable,
      expected,
      received: received === undefined ? undefined : shown(variable, received),
    });
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (/^-?\d+$/.test(raw) && value >= min && value <= max) return value;
    this.problem(name, `an integer from ${min} to ${max}`);
    return fallback;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.text(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.problem(name, 'true or false');
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.text(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    this.problem(name, `one of ${values.join(', ')}`);
    return fallback;
  }

  url(name: string, protocols: readonly string[], form: string): URL | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      this.problem(name, `a URL (${form})`);
      return undefined;
    }
    if (!protocols.includes(url.protocol)) {
      this.problem(name, `a ${protocols.map((p) => `${p}//`).join(' or ')} URL (${form})`);
      return undefined;
    }
    return url;
  }

  /** Throws one ConfigError naming every problem found so far. */
  check(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function readDatabase(env: Environment): DatabaseConfig {
  const poolMax = env.integer('DB_POOL_MAX', 10, 2, 1000);
  const connectTimeoutSeconds = env.integer('DB_CONNECT_TIMEOUT_SECONDS', 30, 0, 3600);
  const allowEmbedded = env.boolean('ALLOW_EMBEDDED_DATABASE', false);
  const libpq: LibpqEnvironment = {};
  for (const variable of Object.keys(LIBPQ_VARIABLES) as (keyof LibpqEnvironment)[]) {
    const value = env.raw(variable);
    if (value !== undefined) libpq[variable] = value;
  }
  const url = postgresUrl(env, 'DATABASE_URL', libpq);
  if (url) {
    const unpooledUrl = postgresUrl(env, 'DATABASE_URL_UNPOOLED', libpq);
    return {
      kind: 'postgresql',
      url,
      poolMax,
      connectTimeoutSeconds,
      ...(Object.keys(libpq).length > 0 ? { libpq } : {}),
      ...(unpooledUrl ? { unpooledUrl } : {}),
    };
  }
  if (env.raw('DATABASE_URL_UNPOOLED') !== undefined && env.raw('DATABASE_URL') === undefined) {
    env.problem(
      'DATABASE_URL',
      'a PostgreSQL URL too when DATABASE_URL_UNPOOLED is set (the service uses DATABASE_URL)',
    );
  }
  if (env.raw('DATABASE_URL') === undefined && env.production && !allowEmbedded) {
    // A misspelled or forgotten DATABASE_URL must not quietly put production data in a local folder.
    env.problem(
      'DATABASE_URL',
      'a PostgreSQL URL when NODE_ENV=production (set ALLOW_EMBEDDED_DATABASE=true to run on the embedded database)',
    );
  }
  return { kind: 'pglite', dataDir: env.text('PGLITE_DATA_DIR') ?? '.data/pglite' };
}

/** A PostgreSQL connection string that pg can use as written (with the libpq variables filling gaps). */
function postgresUrl(env: Environment, name: string, libpq: LibpqEnvironment): string | undefined {
  const form = 'postgresql://user:password@host:5432/database';
  const url = env.url(name, ['postgresql:', 'postgres:'], form);
  if (!url) return undefined;
  if (url.pathname.length <= 1 && libpq.PGDATABASE === undefined) {
    env.problem(name, `a URL that names a database (${form})`);
  }
  try {
    pgConnectionOptions(url.toString(), libpq);
  } catch (err) {
    if (!(err instanceof ConnectionStringError)) throw err;
    env.problem(name, `a connection string pg can use: ${err.message}`);
  }
  return env.text(name);
}

function readWorkers(env: Environment, db: DatabaseConfig): number {
  const workers = env.integer('WEB_CONCURRENCY', 1, 1, 64);
  // An embedded database lives inside one process; a second could not open it.
  if (workers > 1 && db.kind === 'pglite')
    env.problem('WEB_CONCURRENCY', '1 with the embedded database (set DATABASE_URL for more)');
  return workers;
}

function readAuth(env: Environment, db: DatabaseConfig): AuthConfig {
  const secret = env.raw('BETTER_AUTH_SECRET');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    env.problem('BETTER_AUTH_SECRET', 'at least 32 bytes (generate one with: openssl rand -base64 32)');
  }
  const jwksUrl = env.url('JWKS_URL', ['https:', 'http:'], 'e.g. https://auth.example.com/api/auth/jwks');
  const keySourceSet = secret !== undefined || env.raw('JWKS_URL') !== undefined;
  if (!keySourceSet && (db.kind === 'postgresql' || env.production)) {
    // The development secret exists so the embedded database works out of the box, nowhere else.
    env.problem(
      'BETTER_AUTH_SECRET or JWKS_URL',
      `a way to verify tokens (an HS256 shared secret, or a public key set URL) when ${
        db.kind === 'postgresql' ? 'DATABASE_URL' : 'NODE_ENV=production'
      } is set; the development secret is only for the embedded database in development`,
    );
  }
  return {
    secret,
    jwksUrl,
    issuer: env.text('JWT_ISSUER'),
    audience: env.text('JWT_AUDIENCE'),
    clockSkewSeconds: env.integer('JWT_CLOCK_SKEW_SECONDS', 10, 0, 300),
    jwksCooldownSeconds: env.integer('JWKS_COOLDOWN_SECONDS', 30, 0, 3600),
    developmentSecret: !keySourceSet,
  };
}

function readRateLimit(env: Environment): RateLimitConfig {
  return {
    windowSeconds: env.integer('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
    perUser: env.integer('RATE_LIMIT_PER_USER', 300, 0, 1_000_000_000),
    perIp: env.integer('RATE_LIMIT_PER_IP', 60, 0, 1_000_000_000),
  };
}

/**
 * Where the front end of the replaced service runs in development (Next.js's default port), calling
 * this API at http://localhost:8000: allowed by default with the embedded database, in development.
 */
const DEVELOPMENT_FRONT_END = 'http://localhost:3000';

function readCorsOrigins(env: Environment, db: DatabaseConfig): string[] {
  const configured = env.text('CORS_ORIGINS');
  // A server with a real database allows no browser origin until one is configured.
  if (configured === undefined) return db.kind === 'pglite' && !env.production ? [DEVELOPMENT_FRONT_END] : [];
  const origins = configured
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  // An origin is scheme://host[:port], nothing more; "*" allows any (safe: tokens, not cookies).
  const bad = origins.filter((origin) => origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin));
  if (bad.length > 0) {
    env.problem(
      'CORS_ORIGINS',
      `comma-separated origins like https://app.example.com, or * (not origins: ${bad.join(', ')})`,
    );
  }
  return origins;
}

/** Express's "trust proxy", checked with the very package Express compiles it with (proxy-addr). */
function readTrustProxy(env: Environment): boolean | number | string {
  const value = env.text('TRUST_PROXY');
  if (value === undefined || value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  try {
    // As Express does with a string: split on commas, then compile (throws TypeError on a bad entry).
    proxyaddr.compile(value.split(',').map((v) => v.trim()));
    return value;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    env.problem(
      'TRUST_PROXY',
      `true, false, a hop count, or comma-separated addresses, subnets (10.0.0.0/8) and loopback, linklocal, uniquelocal (${err.message})`,
    );
    return false;
  }
}

function readMetricsPort(env: Environment, port: number): number | undefined {
  if (env.text('METRICS_PORT') === undefined) return undefined;
  const metricsPort = env.integer('METRICS_PORT', 0, 0, 65535);
  // Never the public port: metrics are for the scraper, not for whoever reaches the API.
  if (metricsPort !== 0 && metricsPort === port) env.problem('METRICS_PORT', 'a port other than PORT');
  return metricsPort;
}

function readShutdown(env: Environment): ShutdownConfig {
  const delaySeconds = env.integer('SHUTDOWN_DELAY_SECONDS', 5, 0, 3600);
  const timeoutSeconds = env.integer('SHUTDOWN_TIMEOUT_SECONDS', 15, 1, 3600);
  if (timeoutSeconds <= delaySeconds) {
    env.problem(
      'SHUTDOWN_TIMEOUT_SECONDS',
      `more seconds than SHUTDOWN_DELAY_SECONDS (${delaySeconds}), or in-flight requests get no time to finish`,
      String(timeoutSeconds),
    );
  }
  return { delaySeconds, timeoutSeconds };
}

/** Only what reaching the database needs: for `npm run migrate`, which has no use for auth settings. */
export function loadDatabaseConfig(vars: Env = process.env): DatabaseConfig {
  const env = new Environment(vars);
  const database = readDatabase(env);
  env.check();
  return database;
}

export function loadConfig(vars: Env = process.env): Config {
  const env = new Environment(vars);
  const database = readDatabase(env);
  // The replaced service's port, where its front end (on :3000, Next.js's own) looks for the API.
  const port = env.integer('PORT', 8000, 0, 65535);
  const config: Config = {
    port,
    host: env.text('HOST'),
    database,
    auth: readAuth(env, database),
    rateLimit: readRateLimit(env),
    corsOrigins: readCorsOrigins(env, database),
    trustProxy: readTrustProxy(env),
    migrateOnStart: env.boolean('MIGRATE_ON_START', true),
    workers: readWorkers(env, database),
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    validateResponses: env.boolean('VALIDATE_RESPONSES', !env.production),
    metricsPort: readMetricsPort(env, port),
    shutdown: readShutdown(env),
    tombstoneRetentionDays: env.integer('TOMBSTONE_RETENTION_DAYS', 30, 1, 3650),
  };
  env.check();
  return config;
}

/**
 * For commands (the server, migrate, token): reads `.env` when there is one (variables already set
 * win), then runs a loader, or prints every problem without a stack and exits 1. Read here rather
 * than with node's --env-file-if-exists, which prints a line to every newcomer who has no `.env`.
 */
export function loadOrExit<T>(load: () => T): T {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const count = err.problems.length === 1 ? '1 problem' : `${err.problems.length} problems`;
    console.error(`Configuration error (${count}):\n  ${err.message.replaceAll('\n', '\n  ')}`);
    process.exit(1);
  }
}
