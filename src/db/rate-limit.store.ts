// The rate limiter's counters in PostgreSQL (or embedded PGlite, which runs the same SQL), so every
// instance of the service counts against the same numbers.
//
// Why PostgreSQL and not Redis: it is already there, the table is UNLOGGED (no WAL, nothing to
// replicate), and one indexed UPSERT costs about what a Redis INCR does over the network. At a
// scale where it shows, another RateLimitStore takes its place.
import type { RateLimitStore } from '../http/rate-limit.ts';
import type { DatabaseAvailability } from './availability.ts';
import type { Database } from './orm.ts';

/** One statement per request: a row per key, reset when a new window starts. */
export const RATE_LIMIT_HIT_SQL = `insert into rate_limit (key, window_id, hits) values (?, ?, 1)
  on conflict (key) do update set
    hits = case when rate_limit.window_id = excluded.window_id then rate_limit.hits + 1 else 1 end,
    window_id = excluded.window_id
  returning hits`;

export class PostgresRateLimitStore implements RateLimitStore {
  readonly #db: Database;
  readonly #availability: DatabaseAvailability;

  constructor(db: Database, availability: DatabaseAvailability) {
    this.#db = db;
    this.#availability = availability;
  }

  async hit(key: string, windowId: number): Promise<number> {
    // It is every request's first statement, so it meets a dropped connection first: retrying it may
    // count one request twice, which errs on the strict side, and spares the operation that follows.
    const row = await this.#availability.run(
      () => this.#db.em.getConnection().execute<{ hits: number }>(RATE_LIMIT_HIT_SQL, [key, windowId], 'get'),
      { retry: 'when-dropped' },
    );
    return Number(row.hits);
  }

  async forgetBefore(windowId: number): Promise<void> {
    await this.#db.em.getConnection().execute('delete from rate_limit where window_id < ?', [windowId]);
  }
}
