// How a PostgreSQL connection string becomes pg's connection options, and how a failed connection is
// told to an operator. The one place that reads DATABASE_URL's parameters: the service, `npm run
// migrate`, the tests and the benchmark all connect through pgConnectionOptions.
//
// Why not MikroORM's clientUrl alone: MikroORM 7.2.1 keeps host, port, user, password and database
// from it and drops the query string, so sslmode, sslrootcert, application_name and options never
// reached pg (a TLS-only server, Neon's included, refused us). The URL is parsed here with pg's own
// parser (pg-connection-string) and handed to pg whole, through MikroORM's driverOptions.
import { parse, toClientConfig } from 'pg-connection-string';
import type { ClientConfig } from 'pg';

/** The libpq environment variables honoured where the URL is silent, and the URL parameter each stands for. */
export const LIBPQ_VARIABLES = {
  PGHOST: 'host',
  PGPORT: 'port',
  PGUSER: 'user',
  PGPASSWORD: 'password',
  PGDATABASE: 'database',
  PGSSLMODE: 'sslmode',
  PGSSLROOTCERT: 'sslrootcert',
  PGSSLCERT: 'sslcert',
  PGSSLKEY: 'sslkey',
  PGAPPNAME: 'application_name',
  PGOPTIONS: 'options',
  PGCHANNELBINDING: 'channel_binding',
} as const;

export type LibpqEnvironment = Partial<Record<keyof typeof LIBPQ_VARIABLES, string>>;

/** The sslmode values pg understands (see the README for what each means to pg, which is not libpq's). */
export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
const CHANNEL_BINDINGS = ['disable', 'prefer', 'require'] as const;

/** Options for pg's Client/Pool; only what the connection string and the libpq variables say. */
export type PgConnectionOptions = ClientConfig & { host: string; port: number; user: string; database: string };

/** A connection string that cannot work as written; the message says which part, never the password. */
export class ConnectionStringError extends Error {
  override name = 'ConnectionStringError';
}

/**
 * Parses a postgresql:// URL into pg's options: every parameter of the URL (sslmode, sslrootcert,
 * sslcert, sslkey, application_name, options, channel_binding, …), then the libpq variables for
 * what it leaves unsaid, then libpq's defaults (localhost, 5432, the user's name as database).
 */
export function pgConnectionOptions(url: string, env: LibpqEnvironment = {}): PgConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionStringError('not a URL');
  }
  const query = parsed.searchParams;
  for (const [variable, parameter] of Object.entries(LIBPQ_VARIABLES)) {
    const value = env[variable as keyof LibpqEnvironment];
    if (value === undefined || value === '' || !isSilentOn(parsed, parameter)) continue;
    // As parameters: pg-connection-string reads host/port/user/password from the query too.
    if (parameter !== 'database') query.set(parameter, value);
  }
  const sslmode = query.get('sslmode');
  if (sslmode !== null && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new ConnectionStringError(`sslmode must be one of ${SSL_MODES.join(', ')} (got "${sslmode}")`);
  }
  const channelBinding = query.get('channel_binding') ?? 'prefer';
  if (!(CHANNEL_BINDINGS as readonly string[]).includes(channelBinding)) {
    throw new ConnectionStringError(
      `channel_binding must be one of ${CHANNEL_BINDINGS.join(', ')} (got "${channelBinding}")`,
    );
  }
  // What pg 8 makes of these anyway (certificate and host name checked), said explicitly: pg then
  // prints no multi-line warning at every start, and pg 9's weaker libpq meanings cannot creep in.
  if (
    (sslmode === 'prefer' || sslmode === 'require' || sslmode === 'verify-ca') &&
    query.get('uselibpqcompat') !== 'true'
  ) {
    query.set('sslmode', 'verify-full');
  }
  // libpq's "use the system's CAs": Node's own trust store (plus NODE_EXTRA_CA_CERTS) is what
  // verification uses without a CA file, so this names no file to read.
  if (query.get('sslrootcert') === 'system') {
    query.delete('sslrootcert');
    if (sslmode === null || sslmode === 'prefer' || sslmode === 'require') query.set('sslmode', 'verify-full');
  }
  let options: ClientConfig;
  try {
    options = toClientConfig(parse(parsed.toString()));
  } catch (err) {
    // A certificate or key file that cannot be read (the message names the file, not the URL).
    throw new ConnectionStringError((err as Error).message);
  }
  const user = options.user || env.PGUSER || 'postgres';
  return {
    ...options,
    host: options.host || 'localhost',
    port: options.port || 5432,
    user,
    database: options.database || env.PGDATABASE || user,
    // Plain objects (pg-connection-string makes them without a prototype).
    ssl: typeof options.ssl === 'object' ? { ...options.ssl } : (options.ssl ?? false),
    // pg speaks SCRAM-SHA-256-PLUS when asked and the server offers it over TLS (libpq's "prefer").
    enableChannelBinding: channelBinding !== 'disable',
  };
}

/** Whether the URL leaves this parameter to the environment. */
function isSilentOn(url: URL, parameter: string): boolean {
  if (url.searchParams.has(parameter)) return false;
  switch (parameter) {
    case 'host':
      return url.hostname === '';
    case 'port':
      return url.port === '';
    case 'user':
      return url.username === '';
    case 'password':
      return url.password === '';
    case 'database':
      return url.pathname.length <= 1;
    default:
      return true;
  }
}

/** Where a connection goes, as messages may show it: never the password. */
export function describeTarget(options: PgConnectionOptions): string {
  return `${options.host}:${options.port}, database "${options.database}", user "${options.user}"`;
}

/** What went wrong connecting, said for an operator, and whether waiting could help. */
export interface ConnectionFailure {
  cause: string;
  /** The server may not be there yet (starting, waking up, restarting): worth another try. */
  transient: boolean;
}

const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const TRANSIENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * Classifies an error from pg's first connection (SQLSTATEs, Node's network and TLS codes). Not
 * availability.ts's rule on purpose: once running, a dropped database or a changed password is an
 * outage to answer 503 for; at start-up they are settings to fix, and waiting would not help.
 */
export function connectionFailure(err: unknown): ConnectionFailure {
  const { code, message } = err as { code?: string; message?: string };
  const text = message ?? String(err);
  if (code === 'ECONNREFUSED')
    return { cause: 'connection refused (is the server running, and on this port?)', transient: true };
  if (code === 'ENOTFOUND') return { cause: 'no such host', transient: false };
  if (code !== undefined && TRANSIENT_NETWORK.has(code)) return { cause: `network error (${code})`, transient: true };
  if (code !== undefined && UNTRUSTED_CERTIFICATE.has(code)) {
    return {
      cause: `the server's TLS certificate is not trusted (${code}): give its CA with sslrootcert=<file> or NODE_EXTRA_CA_CERTS`,
      transient: false,
    };
  }
  if (code === '28000' && /no encryption/.test(text)) {
    return {
      cause:
        'the server requires TLS (pg_hba.conf rejects connections without encryption): add sslmode=verify-full (or require)',
      transient: false,
    };
  }
  if (code === '28000') return { cause: `the server refuses this connection (${text})`, transient: false };
  if (code === '28P01') return { cause: 'authentication failed (wrong user or password)', transient: false };
  // PgBouncer passes the server's message on under a code of its own.
  if (code === '3D000' || /^database ".*" does not exist$/.test(text)) {
    return { cause: 'the database does not exist', transient: false };
  }
  // The server is starting up, shutting down, in recovery, or out of connection slots.
  if (code === '57P03' || code === '57P01' || code === '53300') return { cause: text, transient: true };
  if (/does not support SSL/i.test(text)) {
    return { cause: 'the server does not offer TLS, but sslmode asks for it', transient: false };
  }
  if (/Connection terminated|timeout/i.test(text)) return { cause: text, transient: true };
  return { cause: text, transient: false };
}

/** Start-up could not reach the database: one line for the operator, the original error as `cause`. */
export class DatabaseConnectionError extends Error {
  override name = 'DatabaseConnectionError';

  constructor(options: PgConnectionOptions, failure: ConnectionFailure, original: unknown, waitedSeconds: number) {
    const waited = waitedSeconds > 0 ? ` (still failing after ${waitedSeconds} s)` : '';
    super(`Cannot connect to PostgreSQL at ${describeTarget(options)}: ${failure.cause}${waited}`, {
      cause: original,
    });
  }
}
