// The window store is checked before the services that use it start, and only then: a Redis that refuses
// relayguard stops a scorer or an admin service at startup, while an enforcer, which never reads the windows,
// keeps answering relays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embeddedAdapters } from '../../../services/app/adapters.js';
import { type ServiceName, startRuntime } from '../../../services/app/runtime.js';
import { RelayguardError } from '../../../services/core/errors.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { loadConfig } from '../../../services/platform/config.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { Metrics } from '../../../services/platform/metrics.js';

test('the store is verified before a scorer or an admin service starts, never for an enforcer alone', async () => {
  const refused = new RelayguardError('INVALID_CONFIG', 'REDIS_URL: Redis refused the user and password', {
    field: 'REDIS_URL',
  });
  const start = (services: ServiceName[]) => {
    const config = loadConfig({});
    const adapters = embeddedAdapters(config, new ManualClock(0));
    let verified = 0;
    const store = Object.assign(adapters.store, {
      verify: async () => {
        verified++;
        throw refused;
      },
    });
    return {
      started: startRuntime(config, {
        services,
        logger: silentLogger,
        adapters: { ...adapters, store },
        metrics: new Metrics({ processMetrics: false }),
      }),
      verified: () => verified,
    };
  };
  for (const services of [['scorer'], ['admin'], ['scorer', 'enforcer', 'admin']] as ServiceName[][]) {
    const { started, verified } = start(services);
    await assert.rejects(started, refused, services.join('+'));
    assert.equal(verified(), 1);
  }
  const enforcer = start(['enforcer']);
  const runtime = await enforcer.started;
  assert.equal(enforcer.verified(), 0);
  await runtime.stop();
});
