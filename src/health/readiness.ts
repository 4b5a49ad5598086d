// Whether this instance should get traffic: its database answers, holds the schema this code needs,
// and the instance is not shutting down.
import { isSchemaCurrent } from '../db/migrate.ts';
import { DatabaseUnavailableError, type DatabaseAvailability } from '../db/availability.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/orm.ts';
import type { Logger } from '../logger.ts';

type Readiness = { ready: true } | { ready: false; reason: string };

// Probes are public and frequent: one query answers every probe for a second, so a flood of them
// costs the database nothing, and a hung database still gets an answer in bounded time.
const REUSE_MS = 1000;
const QUERY_TIMEOUT_MS = 2000;

export class ReadinessCheck {
  readonly #db: Database;
  readonly #availability: DatabaseAvailability;
  readonly #logger: Logger;
  #shuttingDown = false;
  #last: { at: number; result: Promise<Readiness> } | undefined;
  readonly #clock: Clock;

  // Only intervals matter here, so the default clock is monotonic: a wall-clock step cannot freeze the cache.
  constructor(
    db: Database,
    availability: DatabaseAvailability,
    logger: Logger,
    clock: Clock = () => performance.now(),
  ) {
    this.#db = db;
    this.#availability = availability;
    this.#logger = logger;
    this.#clock = clock;
  }

  /** From now on the instance answers "not ready", so load balancers stop sending it requests. */
  shuttingDown(): void {
    this.#shuttingDown = true;
  }

  check(): Promise<Readiness> {
    if (this.#shuttingDown) return Promise.resolve({ ready: false, reason: 'The instance is shutting down.' });
    const now = this.#clock();
    if (!this.#last || now - this.#last.at >= REUSE_MS) this.#last = { at: now, result: this.#queryDatabase() };
    return this.#last.result;
  }

  async #queryDatabase(): Promise<Readiness> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${QUERY_TIMEOUT_MS} ms`)), QUERY_TIMEOUT_MS);
    });
    try {
      // Through the availability watch: probes keep coming while load balancers send no traffic, so
      // they are what notices an outage's end; and the outage is logged there once, not per probe.
      const current = this.#availability.run(() => isSchemaCurrent(this.#db), { retry: 'when-dropped' });
      if (await Promise.race([current, timeout])) return { ready: true };
      return { ready: false, reason: 'The database schema is not up to date: migrations are pending.' };
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError))
        this.#logger.warn({ err }, 'readiness: the database does not answer');
      return { ready: false, reason: 'The database is not reachable.' };
    } finally {
      clearTimeout(timer);
    }
  }
}
