// Fixed-window request quotas kept in PostgreSQL, so every instance of the service counts against
// the same numbers. One UPSERT per request; a key already over its quota is answered from memory
// until its window ends, so a flood costs the database nothing.
//
// Why PostgreSQL and not Redis: it is already there (and embedded PGlite runs the same SQL), the
// table is UNLOGGED (no WAL, nothing to replicate), and one indexed UPSERT costs about what a Redis
// INCR does over the network. At a scale where it shows, the RateLimitStore seam takes Redis.
import type { Database } from '../db/orm.ts';

export interface RateLimitPolicy {
  /** The name clients see in the RateLimit headers. */
  name: string;
  quota: number;
  windowSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  /** Seconds until the window ends and the quota is whole again. */
  resetSeconds: number;
}

export class RateLimiter {
  readonly #db: Database;
  readonly #blockedUntilWindow = new Map<string, number>();
  readonly #cleanup: NodeJS.Timeout;

  constructor(db: Database, windowSeconds: number) {
    this.#db = db;
    // Rows of past windows are dead weight; sweep them now and then (a cheap indexed delete).
    this.#cleanup = setInterval(() => void this.#sweep(windowSeconds), Math.max(windowSeconds, 60) * 5_000);
    this.#cleanup.unref();
  }

  async consume(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    const now = Date.now() / 1000;
    const window = Math.floor(now / policy.windowSeconds);
    const resetSeconds = Math.max(1, Math.ceil((window + 1) * policy.windowSeconds - now));
    const storeKey = `${policy.name}:${key}`;
    if (this.#blockedUntilWindow.get(storeKey) === window) {
      return { allowed: false, remaining: 0, resetSeconds };
    }
    const row = await this.#db.em.getConnection().execute<{ hits: number }>(
      `insert into rate_limit (key, window_id, hits) values (?, ?, 1)
       on conflict (key) do update set
         hits = case when rate_limit.window_id = excluded.window_id then rate_limit.hits + 1 else 1 end,
         window_id = excluded.window_id
       returning hits`,
      [storeKey, window],
      'get',
    );
    const hits = Number(row.hits);
    if (hits > policy.quota) {
      this.#blockedUntilWindow.set(storeKey, window);
      if (this.#blockedUntilWindow.size > 10_000) this.#blockedUntilWindow.clear();
    }
    return { allowed: hits <= policy.quota, remaining: Math.max(0, policy.quota - hits), resetSeconds };
  }

  async #sweep(windowSeconds: number): Promise<void> {
    const current = Math.floor(Date.now() / 1000 / windowSeconds);
    await this.#db.em
      .getConnection()
      .execute('delete from rate_limit where window_id < ?', [current - 1])
      .catch(() => {}); // best effort; the next sweep tries again
  }

  stop(): void {
    clearInterval(this.#cleanup);
  }
}

/** The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(policy: RateLimitPolicy, decision: RateLimitDecision): Record<string, string> {
  return {
    'RateLimit-Policy': `"${policy.name}";q=${policy.quota};w=${policy.windowSeconds}`,
    RateLimit: `"${policy.name}";r=${decision.remaining};t=${decision.resetSeconds}`,
    ...(decision.allowed ? {} : { 'Retry-After': String(decision.resetSeconds) }),
  };
}
