// The contract suites against the in-memory adapters of the embedded mode.
import { ManualClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import {
  MemoryEventLog,
  type MemoryEventLogOptions,
} from '../../services/platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../../services/platform/memory/memory-window-store.js';
import { eventLogContract } from './event-log.contract.js';
import { schemaCodecContract } from './schema-codec.contract.js';
import { windowStoreContract } from './window-store.contract.js';

/** One process holds the memory log: "another client" is the same log, as a restarted consumer would see it. */
function memoryLogFixture(options: { cleanup?: MemoryEventLogOptions['cleanup'] } = {}) {
  const log = new MemoryEventLog({ clock: new ManualClock(0), partitions: 3, ...options });
  return {
    log,
    createTopic: async () => {},
    connectAnother: async () => log,
    cleanup: () => log.close(),
  };
}

eventLogContract('memory', async () => memoryLogFixture());

// The log cleaning its topics up as the embedded mode has it do (services/app/adapters.ts), on the contract's own
// topics: a retention the contract's records stay within.
eventLogContract('memory, with a retention', async () =>
  memoryLogFixture({ cleanup: () => ({ kind: 'delete', maxAgeMs: 86_400_000, maxRecords: 10_000 }) }),
);

windowStoreContract('memory', async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 28));
  const store = new MemoryWindowStore({ clock, ttlMs: 65 * 60_000 });
  return {
    store,
    elapse: async (ms) => clock.advance(ms),
    cleanup: () => store.close(),
  };
});

schemaCodecContract('embedded', async () => ({ codec: new EmbeddedCodec(), cleanup: async () => {} }));
