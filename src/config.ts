// The environment, parsed and validated once at start-up. Nothing else reads process.env.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | { kind: 'postgresql'; url: string; poolMax: number }
  | { kind: 'pglite'; dataDir: string };

export interface Config {
  port: number;
  host: string | undefined;
  database: DatabaseConfig;
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

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env.LOG_LEVEL?.trim().toLowerCase() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST?.trim() || undefined,
    database: database(env),
    migrateOnStart: boolean(env, 'MIGRATE_ON_START', true),
    logLevel,
    validateResponses: boolean(env, 'VALIDATE_RESPONSES', env.NODE_ENV !== 'production'),
  };
}
