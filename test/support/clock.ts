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

// The database stamps created_at/updated_at with its own now(), which no test can move. Instead a
// test waits until the wall clock is past the last stamp, notes the time, and then requires the new
// stamp to fall between that time and the answer: a stamp that was not refreshed cannot.

/** Waits (a millisecond or two) until the wall clock is past `iso`, so any stamp taken after it is later. */
export async function passInstant(iso: string): Promise<void> {
  while (Date.now() <= Date.parse(iso)) await new Promise((resolve) => setTimeout(resolve, 1));
}

/**
 * Asserts `iso` was stamped during the request sent at `sentAt` (Date.now() before sending): not
 * before it, and not after now (plus the database's rounding to the millisecond).
 */
export function assertStampedSince(iso: string, sentAt: number, what: string): void {
  const stamp = Date.parse(iso);
  const now = Date.now();
  if (!(stamp >= sentAt && stamp <= now + 1)) {
    throw new Error(`${what}: ${iso} was not stamped by the request sent at ${new Date(sentAt).toISOString()}`);
  }
}
