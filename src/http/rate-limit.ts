// Fixed-window request quotas that every instance of the service shares, counted in memory and
// reconciled with a shared store (src/db/rate-limit.store.ts: PostgreSQL) in batches: no request
// waits for the store, except the one in each slice of a key's quota (below), and one statement
// carries every key's hits at a time.
//
// Each instance admits a request when the key's shared total as last learned, plus the hits it has
// counted since, stays within the quota. A reconciliation adds every key's unsent hits to the store
// in one statement and learns the shared totals back: every RECONCILE_EVERY_MS, and at once when a
// key's unsent hits reach its slice (SLICE_OF_QUOTA of the quota, at least 1). The request that
// reaches the slice waits for that reconciliation and is judged by its place in the shared count,
// as every request was when each one was counted in the store.
//
// The bound: with N instances a window admits at most quota + N × (slice − 1) requests, and at least
// the quota. Once a reconciliation returns a total at the quota, its instance admits nothing more in
// the window; what it admitted without having heard of that total is what it may have had unsent,
// fewer than a slice. A slice of 1 (quotas under 40) is exact: every request is judged by the store.
//
// While the store cannot be reached, each instance goes on counting and enforcing the quota by what it
// knows, retries the batch on the next tick, and never fails a request for it.
import { systemClock, type Clock } from '../clock.ts';

/** A key's hits in a window: sent to the store, or its shared total as the store answers. */
export interface WindowCount {
  key: string;
  windowId: number;
  hits: number;
}

/** Where the shared counters live. */
export interface RateLimitStore {
  /**
   * Adds each key's hits to its counter in one round trip (a newer window starts from zero; hits for
   * a window older than the counter's are dropped) and answers each key's total for the window it
   * now counts. Keys are distinct.
   */
  add(hits: readonly WindowCount[]): Promise<WindowCount[]>;
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

/** A key's unsent hits that make its request wait for the store: 5 % of its quota, at least 1. */
export const SLICE_OF_QUOTA = 0.05;
export const sliceOf = (quota: number): number => Math.max(1, Math.floor(quota * SLICE_OF_QUOTA));

/** How often the unsent hits of every key are reconciled. */
const RECONCILE_EVERY_MS = 100;

/** One key's count in one window, as this instance knows it. */
class Counter {
  /** The shared total last learned from the store (this instance's sent hits included). */
  shared = 0;
  /** Hits in the reconciliation in flight. */
  sending = 0;
  /** Hits counted here and in no reconciliation yet. */
  unsent = 0;
  /** Requests among the unsent hits that wait to learn their place in the shared count. */
  waiting: ((place: number) => void)[] = [];

  readonly key: string;
  readonly windowId: number;
  readonly windowSeconds: number;
  /** Unsent hits at which a request waits for the store (see sliceOf). */
  readonly slice: number;

  constructor(key: string, windowId: number, windowSeconds: number, slice: number) {
    this.key = key;
    this.windowId = windowId;
    this.windowSeconds = windowSeconds;
    this.slice = slice;
  }

  get counted(): number {
    return this.shared + this.sending + this.unsent;
  }
}

export interface RateLimiterOptions {
  /** The window of the policies (for sweeping the store). */
  windowSeconds: number;
  /** Must be wall-clock time (the default): instances sharing the store must agree on the window. */
  clock?: Clock;
  /** Told when reconciling starts failing (once, until it succeeds again). */
  onStoreError?: (err: unknown) => void;
}

export class RateLimiter {
  readonly #store: RateLimitStore;
  readonly #clock: Clock;
  readonly #onStoreError: (err: unknown) => void;
  readonly #counters = new Map<string, Counter>();
  /** Counters with unsent hits. */
  readonly #dirty = new Set<Counter>();
  readonly #timers: NodeJS.Timeout[];
  /** The reconciliation in flight, and the one queued behind it. */
  #inFlight: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /** The last reconciliation failed: requests are judged by what this instance knows. */
  #storeDown = false;
  readonly #windowSeconds: number;
  #prunedWindow = Number.NEGATIVE_INFINITY;

  constructor(store: RateLimitStore, { windowSeconds, clock = systemClock, onStoreError }: RateLimiterOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#onStoreError = onStoreError ?? (() => {});
    this.#windowSeconds = windowSeconds;
    const tick = setInterval(() => {
      if (this.#dirty.size > 0) void this.reconcile();
      this.#prune();
    }, RECONCILE_EVERY_MS);
    // Rows of past windows are dead weight; sweep them now and then (a cheap indexed delete).
    const sweep = setInterval(() => void this.#sweep(), Math.max(windowSeconds, 60) * 5_000);
    this.#timers = [tick, sweep];
    for (const timer of this.#timers) timer.unref();
  }

  async consume(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision> {
    const now = this.#clock() / 1000;
    const windowId = Math.floor(now / policy.windowSeconds);
    const resetSeconds = Math.max(1, Math.ceil((windowId + 1) * policy.windowSeconds - now));
    const counter = this.#counter(`${policy.name}:${key}`, windowId, policy);
    // Over quota: answered from memory until the window ends, so a flood costs the store nothing.
    if (counter.counted >= policy.quota) return { allowed: false, remaining: 0, resetSeconds };
    counter.unsent += 1;
    this.#dirty.add(counter);
    let place = counter.counted;
    if (!this.#storeDown && counter.sending + counter.unsent >= counter.slice) {
      place = await new Promise<number>((resolve) => {
        counter.waiting.push(resolve);
        void this.reconcile();
      });
    }
    return { allowed: place <= policy.quota, remaining: Math.max(0, policy.quota - place), resetSeconds };
  }

  /** Sends every unsent hit to the store in one statement and learns the shared totals; never rejects. */
  reconcile(): Promise<void> {
    if (!this.#inFlight) {
      this.#inFlight = this.#send().finally(() => {
        this.#inFlight = undefined;
      });
      return this.#inFlight;
    }
    // One at a time: hits counted meanwhile go in the next, sent as soon as this one is answered.
    this.#queued ??= this.#inFlight.then(() => {
      this.#queued = undefined;
      return this.reconcile();
    });
    return this.#queued;
  }

  async #send(): Promise<void> {
    // Sorted, so two instances' batches lock the rows they share in the same order and never deadlock.
    const batch = [...this.#dirty].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.#dirty.clear();
    if (batch.length === 0) return;
    const sent = batch.map((counter) => {
      const entry = { counter, hits: counter.unsent, waiting: counter.waiting };
      counter.sending += counter.unsent;
      counter.unsent = 0;
      counter.waiting = [];
      return entry;
    });
    let totals: Map<string, WindowCount>;
    try {
      const answered = await this.#store.add(
        sent.map(({ counter, hits }) => ({ key: counter.key, windowId: counter.windowId, hits })),
      );
      totals = new Map(answered.map((total) => [total.key, total]));
      this.#storeDown = false;
    } catch (err) {
      if (!this.#storeDown) this.#onStoreError(err);
      this.#storeDown = true;
      for (const { counter, hits, waiting } of sent) {
        // Kept for the next try; a counter of a window that has ended meanwhile is forgotten.
        counter.sending -= hits;
        counter.unsent += hits;
        if (this.#counters.get(counter.key) === counter) this.#dirty.add(counter);
        waiting.forEach((resolve, i) => resolve(counter.counted - (waiting.length - 1 - i)));
      }
      return;
    }
    for (const { counter, hits, waiting } of sent) {
      counter.sending -= hits;
      const total = totals.get(counter.key);
      // The store counts another window when another instance's clock is ahead: these hits stay ours.
      if (total?.windowId === counter.windowId) counter.shared = Math.max(counter.shared, total.hits);
      else counter.shared += hits;
      // The waiting requests take the last places of this batch's hits.
      const last = total?.windowId === counter.windowId ? total.hits : counter.counted;
      waiting.forEach((resolve, i) => resolve(last - (waiting.length - 1 - i)));
    }
  }

  #counter(key: string, windowId: number, policy: RateLimitPolicy): Counter {
    const known = this.#counters.get(key);
    if (known?.windowId === windowId) return known;
    if (known) {
      // A new window: hits not yet sent for the old one no longer matter, and requests still waiting
      // for their batch are judged by what this instance knows, as when the store is down (never
      // left waiting for a batch that will not carry them).
      this.#dirty.delete(known);
      const { waiting } = known;
      known.waiting = [];
      waiting.forEach((resolve, i) => resolve(known.counted - (waiting.length - 1 - i)));
    }
    const counter = new Counter(key, windowId, policy.windowSeconds, sliceOf(policy.quota));
    this.#counters.set(key, counter);
    return counter;
  }

  /** Forgets the counters of ended windows, once a window. */
  #prune(): void {
    const now = this.#clock() / 1000;
    const windowId = Math.floor(now / this.#windowSeconds);
    if (windowId === this.#prunedWindow) return;
    this.#prunedWindow = windowId;
    for (const [key, counter] of this.#counters) {
      if (counter.windowId < Math.floor(now / counter.windowSeconds) && !this.#dirty.has(counter)) {
        this.#counters.delete(key);
      }
    }
  }

  async #sweep(): Promise<void> {
    const current = Math.floor(this.#clock() / 1000 / this.#windowSeconds);
    await this.#store.forgetBefore(current - 1).catch(() => {}); // best effort; the next sweep tries again
  }

  /** Stops the timers and reconciles what is still unsent (at shutdown, once no request is in flight). */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.reconcile();
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
