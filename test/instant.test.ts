// The API's instants are written by isoInstant (src/tasks/instant.ts) instead of toISOString, for
// speed; they must be the very same strings, for every instant a task can hold and at the edges of
// the calendar where hand-written date arithmetic usually goes wrong.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isoInstant } from '../src/tasks/instant.ts';

const MIN = Date.parse('0000-01-01T00:00:00.000Z');
const MAX = Date.parse('9999-12-31T23:59:59.999Z');

describe('isoInstant writes what toISOString writes', () => {
  test('at the edges: the range, the epoch, leap days, century years, the ends of days, months and years', () => {
    const edges = [
      '0000-01-01T00:00:00.000Z',
      '0000-02-29T12:00:00.000Z',
      '0999-12-31T23:59:59.999Z',
      '1000-01-01T00:00:00.000Z',
      '1600-02-29T00:00:00.000Z',
      '1700-03-01T00:00:00.000Z',
      '1900-02-28T23:59:59.999Z',
      '1900-03-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '1970-01-01T00:00:00.000Z',
      '2000-02-29T00:00:00.001Z',
      '2024-12-31T23:59:59.999Z',
      '2026-11-26T09:08:11.232Z',
      '2100-02-28T00:00:00.000Z',
      '2100-03-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const iso of edges) assert.equal(isoInstant(new Date(iso)), iso);
  });

  test('for any instant in years 0–9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN, max: MAX }), (ms) => {
        const date = new Date(ms);
        assert.equal(isoInstant(date), date.toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  test('outside years 0–9999 it is toISOString itself, an invalid date included', () => {
    for (const ms of [MIN - 1, MAX + 1, -8.64e15, 8.64e15]) {
      assert.equal(isoInstant(new Date(ms)), new Date(ms).toISOString());
    }
    assert.throws(() => isoInstant(new Date(NaN)), RangeError);
  });
});
