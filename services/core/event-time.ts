// Event-time bounds from the record, never from the clock of whoever reads it: an event is judged against the
// time its log record carries (the broker's append time on message-submitted), so live scoring, a scorer that
// lags by an hour, a backtest and rebuild-windows accept and refuse the same events.
import { RelayguardError } from './errors.js';
import { isoUtc } from './utc.js';

/**
 * Throws FUTURE_EVENT (poison) when the event claims a time further ahead of its record's time than the allowed
 * skew: a relay clock running ahead would otherwise move the tenant's stream time and make correct events late.
 */
export function checkEventTime(occurredAt: number, recordTime: number, maxSkewMs: number): void {
  if (occurredAt <= recordTime + maxSkewMs) return;
  throw new RelayguardError(
    'FUTURE_EVENT',
    `occurredAt: ${isoUtc(occurredAt)} is ahead of its record's log time ${isoUtc(recordTime)} by more than the allowed skew`,
    { field: 'occurredAt' },
  );
}
