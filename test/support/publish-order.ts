// What the relay SDK's publisher promises about order and loss, checked against what an event log holds: every
// message whose publish() resolved is in the log, and each tenant's events are in the log in the order of their
// publish() calls (a message whose send failed may be there too, if only its acknowledgement was lost).
import assert from 'node:assert/strict';

export interface PublishCall {
  readonly tenantId: string;
  readonly eventId: string;
  /** publish() resolved (true), rejected (false). */
  delivered?: boolean;
}

export function assertNoLossNoReorder(
  calls: readonly PublishCall[],
  logged: readonly { readonly tenantId: string; readonly eventId: string }[],
): void {
  for (const call of calls)
    assert.notEqual(call.delivered, undefined, `publish() of ${call.eventId} settled`);
  const inLog = new Set(logged.map((event) => event.eventId));
  for (const call of calls) {
    if (call.delivered)
      assert.ok(inLog.has(call.eventId), `${call.eventId} was delivered but is not in the log`);
  }
  for (const tenantId of new Set(calls.map((call) => call.tenantId))) {
    const order = calls.filter((call) => call.tenantId === tenantId).map((call) => call.eventId);
    let previous = -1;
    for (const event of logged.filter((e) => e.tenantId === tenantId)) {
      const at = order.indexOf(event.eventId);
      assert.ok(at > previous, `${event.eventId} is in the log after an event published later (or twice)`);
      previous = at;
    }
  }
}
