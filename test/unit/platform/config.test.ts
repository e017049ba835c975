import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRelayguardError } from '../../../services/core/errors.js';
import { loadConfig } from '../../../services/platform/config.js';

describe('configuration', () => {
  it('defaults to the embedded mode on loopback with the policy of DESIGN.md', () => {
    const config = loadConfig({});
    assert.equal(config.embedded, true);
    assert.equal(config.bindAddress, '127.0.0.1');
    assert.equal(config.policy.thresholds.minUnregistered, 500);
    assert.ok(Object.isFrozen(config));
  });

  it('reports every problem at once, each with its variable', () => {
    assert.throws(
      () =>
        loadConfig({
          RELAYGUARD_HTTP_PORT: 'eighty',
          RELAYGUARD_MIN_UNREGISTERED_RATIO: '1.5',
          KAFKA_BROKERS: 'broker-without-port',
          RELAYGUARD_POLICY_MODE: 'LENIENT',
        }),
      (error) => {
        assert.ok(isRelayguardError(error) && error.code === 'INVALID_CONFIG');
        for (const variable of [
          'RELAYGUARD_HTTP_PORT',
          'RELAYGUARD_MIN_UNREGISTERED_RATIO',
          'KAFKA_BROKERS',
          'RELAYGUARD_POLICY_MODE',
        ]) {
          assert.match(error.message, new RegExp(`${variable}: `), variable);
        }
        return true;
      },
    );
  });

  it('checks values against each other once each is valid', () => {
    assert.throws(
      () => loadConfig({ RELAYGUARD_DISTINCT_DOMAIN_CAP: '10', RELAYGUARD_GRACE_MINUTES: '60' }),
      /RELAYGUARD_GRACE_MINUTES: must be less than RELAYGUARD_WINDOW_MINUTES[\s\S]*RELAYGUARD_DISTINCT_DOMAIN_CAP: must be at least/,
    );
  });

  it('requires the Schema Registry with Kafka', () => {
    assert.throws(
      () => loadConfig({ KAFKA_BROKERS: 'localhost:9092' }),
      /SCHEMA_REGISTRY_URL: is required when KAFKA_BROKERS is set/,
    );
  });
});
