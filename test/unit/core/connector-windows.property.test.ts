// Per-connector counts in a tenant's window (issue #22): each connector's U, F, T and D are exactly those of its
// messages still in the window, the connectors' counts add up to the tenant's, and connectors beyond the cap are
// counted under 'unknown'.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { MessageClass } from '../../../services/core/classify.js';
import { UNKNOWN_CONNECTOR } from '../../../services/core/connector-windows.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../../../services/core/policy.js';
import {
  addToWindow,
  emptyWindow,
  noChanges,
  resetWindow,
  type TenantWindow,
  windowCounts,
} from '../../../services/core/windows.js';

const T0 = Date.UTC(2026, 10, 28, 9);
const FIRST_MINUTE = T0 / MINUTE_MS;
/** Room for every named connector of CONNECTORS: the cap's own case is below. */
const SHAPE = { ...DEFAULT_POLICY, windowMinutes: 10, graceMinutes: 2, connectorCap: 4 };
const CONNECTORS = ['onprem-1', 'onprem-2', 'fwd', 'app', null] as const;
const CLASSES: readonly MessageClass[] = ['unregistered', 'forwarded', 'registered', 'unknown'];
const slot = () => ({ unregistered: 0, forwardedUnregistered: 0, total: 0, distinctUnregisteredDomains: 0 });

const messageFields = {
  /** Minutes after the previous message: time only moves forward, so no message is late. */
  gap: fc.constantFrom(0, 0, 0, 1, 1, 3, 12),
  connector: fc.nat(CONNECTORS.length - 1),
  messageClass: fc.constantFrom(...CLASSES),
  domain: fc.nat(6),
};
const message = fc.record(messageFields);
type Message = {
  readonly gap: number;
  readonly connector: number;
  readonly messageClass: MessageClass;
  readonly domain: number;
};

/**
 * Folds the messages (and a reset, when given) into a new window and checks each connector's U, F, T and D against
 * those of its messages still in the window, and that they sum to the tenant's.
 */
function checkConnectorCounts(messages: readonly Message[], resetMinute: number | null): void {
  const window = emptyWindow();
  let minute = 0;
  const counted: { minute: number; connector: string; messageClass: MessageClass; domain: string }[] = [];
  for (const m of messages) {
    minute += m.gap;
    const connectorId = CONNECTORS[m.connector]!;
    const messageClass = m.messageClass;
    const senderDomain = messageClass === 'unknown' ? null : `d${m.domain}.example`;
    const input = { occurredAt: T0 + minute * MINUTE_MS, senderDomain, connectorId };
    assert.equal(addToWindow(window, input, messageClass, SHAPE, 0, null), 'counted');
    counted.push({
      minute,
      connector: connectorId ?? UNKNOWN_CONNECTOR,
      messageClass,
      domain: `${senderDomain}`,
    });
  }
  let firstCounted = window.streamMinute === null ? 0 : minute - SHAPE.windowMinutes + 1;
  if (resetMinute !== null) {
    resetWindow(window, T0 + resetMinute * MINUTE_MS);
    firstCounted = Math.max(firstCounted, resetMinute + 1);
  }
  const inWindow = counted.filter((c) => c.minute >= firstCounted);
  for (const [connectorId, connector] of window.connectors) {
    const own = inWindow.filter((c) => c.connector === connectorId);
    assert.deepEqual(windowCounts(connector, 0, slot()), {
      unregistered: own.filter((c) => c.messageClass === 'unregistered').length,
      forwardedUnregistered: own.filter((c) => c.messageClass === 'forwarded').length,
      total: own.length,
      distinctUnregisteredDomains: new Set(
        own.filter((c) => c.messageClass === 'unregistered').map((c) => c.domain),
      ).size,
    });
    const minutes = (list: Iterable<number>) => [...new Set(list)].sort((a, b) => a - b);
    assert.deepEqual(minutes(connector.buckets.keys()), minutes(own.map((c) => FIRST_MINUTE + c.minute)));
  }
  const sums = [...window.connectors.values()].reduce(
    (sum, c) => ({
      unregistered: sum.unregistered + c.sums.unregistered,
      forwarded: sum.forwarded + c.sums.forwarded,
      total: sum.total + c.sums.total,
    }),
    { unregistered: 0, forwarded: 0, total: 0 },
  );
  assert.deepEqual(sums, window.sums);
  assert.equal(windowCounts(window, 0).total, inWindow.length);
}

/** Counts an unregistered message from spam.example into the window, at the minute, through the connector. */
const spamAdder = (window: TenantWindow, shape: typeof SHAPE) => (minute: number, connectorId: string) =>
  addToWindow(
    window,
    { occurredAt: T0 + minute * MINUTE_MS, senderDomain: 'spam.example', connectorId },
    'unregistered',
    shape,
    0,
    null,
  );

describe('ConnectorWindow: per-connector counts', () => {
  it("counts each connector's U, F, T and D of the messages still in the window, summing to the tenant's", () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 80 }), fc.option(fc.nat(40)), checkConnectorCounts),
      {
        numRuns: 400,
      },
    );
  });

  it("counts a window's only connector in the tenant's ring, and apart once a second one comes", () => {
    // Mostly one connector, so that windows of one connector slide, reset, and take a second one at any point.
    const mostlyOne = fc.record({ ...messageFields, connector: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1, 4) });
    fc.assert(
      fc.property(fc.array(mostlyOne, { maxLength: 80 }), fc.option(fc.nat(40)), checkConnectorCounts),
      {
        numRuns: 400,
      },
    );
  });

  it("shares the tenant's ring with its only connector until a second one is counted", () => {
    const window = emptyWindow();
    const add = spamAdder(window, SHAPE);
    for (const minute of [0, 1, 2, 9]) add(minute, 'a');
    const a = window.connectors.get('a')!;
    assert.ok(a.sharesCounts(window));
    // What leaves the shared ring is recorded as the connector's change too: a store drops its minutes 0 and 1.
    const changes = noChanges();
    resetWindow(window, T0 + MINUTE_MS, changes);
    assert.deepEqual([...changes.connectors], ['a']);
    assert.deepEqual(
      [...changes.minutes].sort((x, y) => x - y),
      [0, 1].map((minute) => FIRST_MINUTE + minute),
    );
    assert.deepEqual(a.sums, { unregistered: 2, forwarded: 0, total: 2 });
    add(12, 'b'); // minute 2 slides out of the 10-minute window, then 'a' takes its own copy of the ring
    assert.ok(!a.sharesCounts(window));
    add(13, 'a');
    add(20, 'b'); // minute 9 slides out
    assert.deepEqual(a.sums, { unregistered: 1, forwarded: 0, total: 1 });
    assert.deepEqual([...a.buckets.keys()], [FIRST_MINUTE + 13]);
    assert.deepEqual(window.connectors.get('b')!.sums, { unregistered: 2, forwarded: 0, total: 2 });
    assert.deepEqual(window.sums, { unregistered: 3, forwarded: 0, total: 3 });
  });

  it("counts connectors beyond the cap under 'unknown' until a tracked one's last minute slides out", () => {
    const window = emptyWindow();
    const add = spamAdder(window, { ...SHAPE, connectorCap: 3 });
    for (const connectorId of ['a', 'b', 'c', 'd']) add(0, connectorId);
    assert.deepEqual([...window.connectors.keys()].sort(), ['a', 'b', 'c', UNKNOWN_CONNECTOR]);
    for (const connectorId of ['a', 'b']) add(5, connectorId);
    add(10, 'd'); // minute 0 slid out: c left, d takes its place
    assert.deepEqual([...window.connectors.keys()].sort(), ['a', 'b', 'd']);
    assert.equal(window.connectors.get('d')!.sums.unregistered, 1);
  });
});
