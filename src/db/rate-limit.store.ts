// The rate limiter's shared counters in PostgreSQL (or embedded PGlite, which runs the same SQL), so
// every instance of the service counts against the same numbers. Instances count in memory and send
// their hits here in batches (src/http/rate-limit.ts): one statement for every key, every 100 ms or so.
//
// Why PostgreSQL and not Redis: it is already there, the table is UNLOGGED (no WAL, nothing to
// replicate), and one batched UPSERT a tick costs it next to nothing. At a scale where it shows,
// another RateLimitStore takes its place.
import type { RateLimitStore, WindowCount } from '../http/rate-limit.ts';
import type { DatabaseAvailability } from './availability.ts';
import type { Database } from './orm.ts';

/**
 * One statement per batch: a row per key, reset when a newer window starts; hits sent for a window
 * older than the row's (an instance whose clock is behind) are dropped. The three arrays are the
 * batch's keys, windows and hits, in the same order (MikroORM inlines an array as a list of values).
 */
export const RATE_LIMIT_ADD_SQL = `insert into rate_limit as counted (key, window_id, hits)
  select * from unnest(array[?]::text[], array[?]::bigint[], array[?]::int[])
  on conflict (key) do update set
    hits = case
      when counted.window_id = excluded.window_id then counted.hits + excluded.hits
      when counted.window_id < excluded.window_id then excluded.hits
      else counted.hits end,
    window_id = greatest(counted.window_id, excluded.window_id)
  returning key, window_id, hits`;

/** The statement's parameters for a batch. */
export const rateLimitAddParams = (hits: readonly WindowCount[]): unknown[] => [
  hits.map((count) => count.key),
  hits.map((count) => count.windowId),
  hits.map((count) => count.hits),
];

/** The statement's rows as counts (window_id is a bigint, which pg hands over as a string). */
export const rateLimitTotals = (rows: readonly { key: string; window_id: unknown; hits: unknown }[]): WindowCount[] =>
  rows.map((row) => ({ key: row.key, windowId: Number(row.window_id), hits: Number(row.hits) }));

export class PostgresRateLimitStore implements RateLimitStore {
  readonly #db: Database;
  readonly #availability: DatabaseAvailability;

  constructor(db: Database, availability: DatabaseAvailability) {
    this.#db = db;
    this.#availability = availability;
  }

  async add(hits: readonly WindowCount[]): Promise<WindowCount[]> {
    // Run again on a dropped connection even if it was committed: the hits then count more than once,
    // which errs on the strict side.
    const rows = await this.#availability.run(
      () =>
        this.#db.em
          .getConnection()
          .execute<{ key: string; window_id: unknown; hits: unknown }[]>(RATE_LIMIT_ADD_SQL, rateLimitAddParams(hits)),
      { retry: 'when-dropped' },
    );
    return rateLimitTotals(rows);
  }

  async forgetBefore(windowId: number): Promise<void> {
    await this.#db.em.getConnection().execute('delete from rate_limit where window_id < ?', [windowId]);
  }
}
