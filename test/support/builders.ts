// Builders for events and fixtures: tests say only what matters to them.
import type { MessageSubmitted, RelayPath } from '../../services/core/contracts.generated.js';

let sequence = 0;

export function messageSubmitted(
  overrides: Partial<MessageSubmitted> & { tenantId: string; occurredAt: number },
): MessageSubmitted {
  sequence++;
  return {
    eventId: `evt-${sequence}`,
    envelopeSenderDomain: 'example.com',
    headerFromDomain: null,
    relayPath: 'ONPREM' satisfies RelayPath,
    connectorId: null,
    clientAddress: null,
    queueId: null,
    relayHost: null,
    recipientCount: 1,
    sizeBytes: 2048,
    ...overrides,
  };
}

/** A deterministic pseudo-random generator (mulberry32), so scenario tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomDomains(count: number, random: () => number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `spam${i}-${Math.floor(random() * 1e9).toString(36)}.example`,
  );
}
