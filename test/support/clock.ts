// A clock the test moves by hand: time passes only when the story says so.
import type { Clock } from '../../src/clock.ts';

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
  /** Moves time forward to `offsetMs` into the next window of `windowSeconds`: a fresh quota. */
  nextWindow(windowSeconds?: number, offsetMs?: number): void;
}

/**
 * Starts 1 s into a fresh 60 s window, so a test knows exactly how far the next window boundary is
 * and never straddles one by accident.
 */
export function manualClock(): ManualClock {
  let now = Date.now();
  const clock = (() => now) as ManualClock;
  clock.advance = (ms) => {
    now += ms;
  };
  clock.nextWindow = (windowSeconds = 60, offsetMs = 1000) => {
    const windowMs = windowSeconds * 1000;
    now = (Math.floor(now / windowMs) + 1) * windowMs + offsetMs;
  };
  clock.nextWindow();
  return clock;
}
