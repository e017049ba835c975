// The core's ISO 8601 formatting without Date: the same text as Date#toISOString wherever that gives one, and an
// event too far in the future for Date is poison like any other, not an unexpected error that stalls its partition.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isRelayguardError } from '../../../services/core/errors.js';
import { checkEventTime } from '../../../services/core/event-time.js';
import { isoUtc } from '../../../services/core/utc.js';

/** The range of times Date represents: ±100,000,000 days around the epoch. */
const DATE_LIMIT_MS = 8.64e15;

describe('isoUtc', () => {
  it('gives what Date#toISOString gives, over the whole range of Date', () => {
    fc.assert(
      fc.property(fc.integer({ min: -DATE_LIMIT_MS, max: DATE_LIMIT_MS }), (ms) => {
        assert.equal(isoUtc(ms), new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
    for (const ms of [0, -1, 951_782_400_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001])
      assert.equal(isoUtc(ms), new Date(ms).toISOString());
  });

  it('formats times beyond Date in the same form', () => {
    assert.equal(isoUtc(Number.MAX_SAFE_INTEGER), '+287396-10-12T08:59:00.991Z');
  });
});

describe('checkEventTime', () => {
  it('refuses an event time beyond what Date represents as FUTURE_EVENT (poison), naming it', () => {
    const recordTime = Date.UTC(2026, 11, 7);
    for (const occurredAt of [DATE_LIMIT_MS + 1, Number.MAX_SAFE_INTEGER]) {
      assert.throws(
        () => checkEventTime(occurredAt, recordTime, 60_000),
        (error: unknown) =>
          isRelayguardError(error) &&
          error.code === 'FUTURE_EVENT' &&
          !error.retryable &&
          error.message.includes(isoUtc(occurredAt)),
      );
    }
  });
});
