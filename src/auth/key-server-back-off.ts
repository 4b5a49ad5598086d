// After a failed fetch of the key set, the key server is left alone for a while. jose's cooldown
// runs from the last *successful* fetch, so without this every token naming an unknown kid (every
// token, once the cached set is stale) would ask a key server that is already down and wait up to
// the fetch timeout for its 503: a thundering herd on the key server, slow 503s for clients.
import type { Clock } from '../clock.ts';

/** The first back-off, after one failed fetch; it doubles with each failure in a row. */
export const FIRST_BACK_OFF_MS = 1_000;
/** The longest back-off: a key server that comes back is noticed within this long. */
export const BACK_OFF_CAP_MS = 30_000;

export class KeyServerBackOff {
  readonly #clock: Clock;
  /** The back-off the next failure starts. */
  #nextMs = FIRST_BACK_OFF_MS;
  /** When the key server may be asked again (a probe); -Infinity while it answers. */
  #until = -Infinity;

  /** Only intervals matter, so the default clock is monotonic, as OutageLog's is. */
  constructor(clock: Clock = () => performance.now()) {
    this.#clock = clock;
  }

  /** Milliseconds until the key server may be asked again; 0 when it may be asked now. */
  remainingMs(): number {
    return Math.max(0, this.#until - this.#clock());
  }

  /** A fetch failed: starts the next back-off (1 s, 2 s, 4 s … 30 s) and returns its length in ms. */
  failed(): number {
    const ms = this.#nextMs;
    this.#nextMs = Math.min(ms * 2, BACK_OFF_CAP_MS);
    this.#until = this.#clock() + ms;
    return ms;
  }

  /** A fetch succeeded: the next failure starts from the first back-off again. */
  answered(): void {
    this.#nextMs = FIRST_BACK_OFF_MS;
    this.#until = -Infinity;
  }
}
