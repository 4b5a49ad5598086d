// Whether the database can be reached, decided in one place: which driver errors mean "the database
// is unavailable for the moment" (an outage, a restart, a failover, too many connections) rather
// than a bug, and what the service does about them. Such an error becomes DatabaseUnavailableError,
// which the HTTP edge answers with 503 and Retry-After; the outage is logged once, not per request.
//
// Through PgBouncer (Neon's pooled endpoint) the service's connections end at the pooler, which
// answers for a database it cannot reach with errors of its own, not the server's: in PgBouncer 1.18
// (measured, test/contract/database-outage.test.ts) all SQLSTATE 08P01 with fixed English messages,
// "query_wait_timeout" (no server connection came within query_wait_timeout), "server login has been
// failing, try again later (server_login_retry)" (its last login failed; refused without waiting),
// "server conn crashed?" (the server connection broke under this client), "no more connections
// allowed (max_client_conn)". A backend terminated under a statement still answers 57P01 itself: the
// pooler forwards it, then closes the client with "server conn crashed?". Newer PgBouncers give some
// of these other SQLSTATEs, or pass the server's own login error on (55000, 3D000, 28P01: listed), so
// the messages are matched whatever their code.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import { OutageLog } from '../outage-log.ts';

/** The database cannot serve this statement now; the request was fine, and a retry later will likely succeed. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  constructor(cause: unknown) {
    super(`The database is unavailable: ${causeOf(cause)}`, { cause });
  }
}

interface ErrorKind {
  states: Set<string>;
  stateClasses: string[];
  socketCodes: Set<string>;
  messages: RegExp;
}

// SQLSTATEs a session raises when it cannot be had or is taken away, never for a statement's own
// mistakes: our statements are fixed, so none of these can come from a bug in one of them. Class 08
// (connection exception) counts whole.
const UNAVAILABLE: ErrorKind = {
  states: new Set([
    '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown, Neon suspending the compute
    '57P02', // crash_shutdown
    '57P03', // cannot_connect_now: starting up, shutting down, in recovery
    '57P05', // idle_session_timeout
    '53300', // too_many_connections
    '55000', // object_not_in_prerequisite_state: "database … is not currently accepting connections"
    '3D000', // invalid_catalog_name: the database is gone
    '28000', // invalid_authorization_specification: pg_hba.conf refuses new connections
    '28P01', // invalid_password: the password changed under a running service
    '25006', // read_only_sql_transaction: a standby answering a write, mid-failover
  ]),
  stateClasses: ['08'],
  // Socket errors on the way to the server (Node's errno codes).
  socketCodes: new Set([
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'EPIPE',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENOTFOUND',
    'EAI_AGAIN',
  ]),
  // pg and pg-pool's own errors carry no code, only these fixed English messages; then PgBouncer's.
  messages:
    /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|query_wait_timeout$|server login has been failing|server conn crashed\?$|no more connections allowed|pgbouncer cannot connect to server$|client_login_timeout)/,
};

/**
 * A connection the server took away (killed, idle-timed-out, reset) while the database itself may be
 * fine. Through PgBouncer also "server conn crashed?": the pooler's server connection broke under
 * this statement, and the next statement gets another.
 */
const DROPPED: ErrorKind = {
  states: new Set(['57P01', '57P02', '57P05']),
  stateClasses: [],
  socketCodes: new Set(['ECONNRESET', 'EPIPE']),
  messages: /^(Connection terminated unexpectedly|Client has encountered a connection error|server conn crashed\?$)/,
};

interface DriverError {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** The error and what it wraps (MikroORM's DriverException copies the driver's fields; Node's AggregateError lists attempts). */
function* layers(err: unknown, depth = 0): Generator<DriverError> {
  if (typeof err !== 'object' || err === null || depth > 3) return;
  const e = err as DriverError;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* layers(inner, depth + 1);
  if (e.cause !== undefined) yield* layers(e.cause, depth + 1);
}

function isKind(err: unknown, kind: ErrorKind): boolean {
  for (const e of layers(err)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && (kind.states.has(code) || kind.socketCodes.has(code))) return true;
    if (code?.length === 5 && kind.stateClasses.includes(code.slice(0, 2))) return true;
    if (typeof e.message === 'string' && kind.messages.test(e.message)) return true;
  }
  return false;
}

function causeOf(err: unknown): string {
  for (const e of layers(err)) {
    const code = typeof e.code === 'string' ? `${e.code}: ` : '';
    if (typeof e.message === 'string' && e.message !== '') return `${code}${e.message.split('\n')[0]}`;
  }
  return String(err);
}

/**
 * A connection killed while idle in the pool is only noticed once its socket reports it, and a
 * statement sent in the meantime meets the dead connection. A short pause lets the pool discard
 * every such connection (measured on a quiet machine: none left after 20 ms), so a retry then finds a
 * live one. On a loaded machine the killed backends themselves may wait longer for a CPU before they
 * say so, and a retry can meet the next one: hence a second, longer pause.
 */
const RETRY_PAUSES_MS = [50, 250];

/**
 * How a statement that met a dropped connection (DROPPED) runs again, at most twice, after the
 * pauses above.
 *
 * A read runs again as it is. A write may have committed before its connection broke: a backend
 * that committed sends its answer before it looks at a termination, but a crash, a reset, a pooler's
 * broken server connection, or a backend terminated while it writes a log line after the commit
 * (log_duration) all end the connection with the answer lost, and a backend terminated while idle
 * sometimes closes its socket without the 57P01 it owes (seen here: `pg` then reports "Connection
 * terminated unexpectedly" for the statement it had just sent). So no error proves a write absent.
 * Each write stamps its rows with an id of its own (task.sql.ts), and `landed` looks for that stamp:
 * found, the write committed and what `landed` read is its answer; not found, it did not, and it runs
 * again. The one case this misreads: another write to the same task, committed between this write's
 * commit and the look (some milliseconds), hides the stamp, and this write is applied a second time.
 */
export type StatementOptions<T> = { retry: 'when-dropped' } | { retry: 'write'; landed: () => Promise<T | undefined> };

/** Runs statements, turns outages into DatabaseUnavailableError, and logs each outage once, and its end. */
export class DatabaseAvailability {
  readonly #outage: OutageLog;

  constructor(logger: Logger) {
    this.#outage = new OutageLog(logger, 'database', 'task calls answer 503 until it is back');
  }

  async run<T>(statement: () => Promise<T>, options: StatementOptions<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await statement();
        this.#outage.answered();
        return result;
      } catch (err) {
        const pause = RETRY_PAUSES_MS[attempt];
        if (pause === undefined || !isKind(err, DROPPED)) throw this.#classify(err);
        await sleep(pause);
        if (options.retry === 'write') {
          const landed = await this.run(options.landed, { retry: 'when-dropped' });
          if (landed !== undefined) return landed;
        }
      }
    }
  }

  /** The error to throw: DatabaseUnavailableError for an outage (logged when it starts), else the error itself. */
  #classify(err: unknown): unknown {
    if (!isKind(err, UNAVAILABLE)) return err;
    this.#outage.failed(causeOf(err));
    return new DatabaseUnavailableError(err);
  }
}
