// The contract suites against the in-memory adapters of the embedded mode.
import { embeddedAdapters } from '../../services/app/adapters.js';
import { ManualClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { loadConfig } from '../../services/platform/config.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../../services/platform/memory/memory-window-store.js';
import { eventLogContract } from './event-log.contract.js';
import { schemaCodecContract } from './schema-codec.contract.js';
import { windowStoreContract } from './window-store.contract.js';

eventLogContract('memory', async () => {
  const log = new MemoryEventLog({ clock: new ManualClock(0), partitions: 3 });
  return {
    log,
    createTopic: async () => {},
    // One process holds the memory log: "another client" is the same log, as a restarted consumer would see it.
    connectAnother: async () => log,
    cleanup: () => log.close(),
  };
});

// The same log as the embedded mode runs it, cleaning its topics up (services/app/adapters.ts).
eventLogContract('memory, cleaned up as in embedded mode', async () => {
  const log = embeddedAdapters(loadConfig({ RELAYGUARD_PARTITIONS: '3' }), new ManualClock(0)).log;
  return {
    log,
    createTopic: async () => {},
    connectAnother: async () => log,
    cleanup: () => log.close(),
  };
});

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
