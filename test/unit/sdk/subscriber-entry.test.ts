// relayguard/subscriber is importable on its own: through package.json "exports", with its types (this file is
// type-checked against the entry point by `tsc`), loading the Kafka and Schema Registry adapters and the event
// contracts but none of the relay SDK, the services or their server dependencies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockChange, BlockSubscriberOptions, CurrentBlock } from 'relayguard/subscriber';
import { modulesLoadedBy, repoRelative } from '../../support/module-graph.js';

/** Type-checked by `tsc`: the entry point's types resolve through package.json "exports" alone. */
export type SubscriberEntryTypes = [BlockChange, BlockSubscriberOptions, CurrentBlock];

/** What a downstream service must never load by importing the subscriber. */
const FORBIDDEN = [
  /^services\/(scorer|enforcer|admin|app|cli|backtest)\//,
  /^services\/sdk\/(publisher|message|index)\.ts$/,
  /^services\/platform\/(config|metrics|http-server|bearer-auth)\.ts$/,
  /^services\/platform\/(redis|memory)\//,
  /^node_modules\/(fastify|@fastify|ioredis|prom-client|commander|cli-progress|tr46|zod)\//,
];

describe('relayguard/subscriber entry point', () => {
  it('loads the subscriber and its adapters, and nothing of the relay SDK or the services', async () => {
    const loaded = (await modulesLoadedBy('relayguard/subscriber', 'kafkaBlockSubscriber'))
      .map(repoRelative)
      .filter((path): path is string => path !== undefined);
    // The recorder saw the graph: the entry itself and the adapters it is meant to bring.
    for (const expected of [
      'services/sdk/subscriber/index.ts',
      'services/platform/kafka/kafka-event-log.ts',
      'services/platform/codec/registry-codec.ts',
    ]) {
      assert.ok(loaded.includes(expected), `${expected} was not loaded: ${loaded.join(', ')}`);
    }
    assert.ok(loaded.some((path) => path.startsWith('node_modules/kafkajs/')));
    const offending = loaded.filter((path) => FORBIDDEN.some((pattern) => pattern.test(path)));
    assert.deepEqual(offending, []);
  });

  it('relayguard/webhooks, the signature check for receivers, loads that module alone', async () => {
    const loaded = (await modulesLoadedBy('relayguard/webhooks', 'verifyWebhook'))
      .map(repoRelative)
      .filter((path): path is string => path !== undefined && !path.startsWith('node_modules/tsx/'));
    assert.deepEqual(loaded, ['services/sdk/webhook-signature.ts']);
  });

  it('tells a graph that pulls the relay SDK in (the check can fail)', async () => {
    const loaded = (await modulesLoadedBy('relayguard/sdk', 'MessagePublisher')).map(repoRelative);
    assert.ok(loaded.some((path) => path !== undefined && FORBIDDEN.some((pattern) => pattern.test(path))));
  });
});
