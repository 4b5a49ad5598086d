// The rate limiter's own bookkeeping at the moments the end-to-end tests cannot arrange on purpose:
// a window ending while requests still wait for a reconciliation. The store here is a small
// in-memory one behind the same interface as PostgreSQL's, whose answers the story releases by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter, type RateLimitPolicy, type RateLimitStore, type WindowCount } from '../src/http/rate-limit.ts';
import { manualClock } from './support/clock.ts';

/** Sums hits per key and window as the SQL does; each add() answers only when the story releases it. */
function heldStore() {
  const rows = new Map<string, { windowId: number; hits: number }>();
  const held: (() => void)[] = [];
  const store: RateLimitStore = {
    add: (hits) =>
      new Promise<WindowCount[]>((resolve) => {
        held.push(() => {
          resolve(
            hits.map(({ key, windowId, hits: added }) => {
              const row = rows.get(key);
              const next =
                !row || row.windowId < windowId
                  ? { windowId, hits: added }
                  : row.windowId === windowId
                    ? { windowId, hits: row.hits + added }
                    : row;
              rows.set(key, next);
              return { key, ...next };
            }),
          );
        });
      }),
    forgetBefore: async () => {},
  };
  return { store, heldCount: () => held.length, releaseOne: () => held.shift()?.() };
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

test('a request waiting for a reconciliation is answered even when its window ends before the batch is sent', async () => {
  const clock = manualClock();
  const { store, heldCount, releaseOne } = heldStore();
  const limiter = new RateLimiter(store, { windowSeconds: 60, clock });
  // A quota under 40 has a slice of 1: every request waits to learn its place in the shared count.
  const policy: RateLimitPolicy = { name: 'per-user', quota: 3, windowSeconds: 60 };

  const first = limiter.consume('alice', policy); // its batch goes out and is held by the store
  assert.equal(heldCount(), 1);
  const second = limiter.consume('alice', policy); // waits for the next batch, queued behind the first
  clock.nextWindow();
  const third = limiter.consume('alice', policy); // the new window's first request

  releaseOne(); // the first batch answers; the queued one (the new window's) goes out
  assert.deepEqual(await first, { allowed: true, remaining: 2, resetSeconds: 59 });
  await new Promise((resolve) => setImmediate(resolve));
  releaseOne();
  assert.ok(await settled(second), 'the request counted in the old window is answered');
  assert.deepEqual(await second, { allowed: true, remaining: 1, resetSeconds: 59 });
  assert.deepEqual(await third, { allowed: true, remaining: 2, resetSeconds: 59 });
  await limiter.stop();
});
