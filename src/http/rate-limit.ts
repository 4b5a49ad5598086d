// Fixed-window request quotas, counted in a shared store (src/db/rate-limit.store.ts: PostgreSQL) so
// every instance of the service counts against the same numbers. One store call per request; a key
// already over its quota is answered from memory until its window ends, so a flood costs the
// store nothing.
import { systemClock, type Clock } from '../clock.ts';

/** Where the counters live. */
export interface RateLimitStore {
  /** Counts one request for `key` in window `windowId` (a new window starts from zero); returns its count. */
  hit(key: string, windowId: number): Promise<number>;
  /** Drops the counters of windows before `windowId`. */
  forgetBefore(windowId: number): Promise<void>;
}

export interface RateLimitPolicy {
  /** The name clients see in the RateLimit headers. */
  name: string;
  quota: number;
  windowSeconds: number;
}

interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  /** Seconds until the window ends and the quota is whole again. */
  resetSeconds: number;
}

export class RateLimiter {
  readonly #store: RateLimitStore;
  readonly #blockedUntilWindow = new Map<string, number>();
  readonly #cleanup: NodeJS.Timeout;
  readonly #clock: Clock;

  /** `clock` must be wall-clock time (the default): instances sharing the store must agree on the window. */
  constructor(store: RateLimitStore, windowSeconds: number, clock: Clock = systemClock) {
    this.#store = store;
    this.#clock = clock;
    // Rows of past windows are dead weight; sweep them now and then (a cheap indexed delete).
    this.#cleanup = setInterval(() => void this.#sweep(windowSeconds), Math.max(windowSeconds, 60) * 5_000);
    this.#cleanup.unref();
  }

  async consume(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    const now = this.#clock() / 1000;
    const window = Math.floor(now / policy.windowSeconds);
    const resetSeconds = Math.max(1, Math.ceil((window + 1) * policy.windowSeconds - now));
    const storeKey = `${policy.name}:${key}`;
    if (this.#blockedUntilWindow.get(storeKey) === window) {
      return { allowed: false, remaining: 0, resetSeconds };
    }
    const hits = await this.#store.hit(storeKey, window);
    if (hits > policy.quota) {
      this.#blockedUntilWindow.set(storeKey, window);
      if (this.#blockedUntilWindow.size > 10_000) this.#blockedUntilWindow.clear();
    }
    return { allowed: hits <= policy.quota, remaining: Math.max(0, policy.quota - hits), resetSeconds };
  }

  async #sweep(windowSeconds: number): Promise<void> {
    const current = Math.floor(this.#clock() / 1000 / windowSeconds);
    await this.#store.forgetBefore(current - 1).catch(() => {}); // best effort; the next sweep tries again
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
