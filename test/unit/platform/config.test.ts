import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { productionAdapters } from '../../../services/app/adapters.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { loadConfig } from '../../../services/platform/config.js';
import { silentLogger } from '../../../services/platform/logger.js';

describe('configuration', () => {
  it('defaults to the embedded mode on loopback with the policy of DESIGN.md', () => {
    const config = loadConfig({});
    assert.equal(config.embedded, true);
    assert.equal(config.bindAddress, '127.0.0.1');
    assert.equal(config.policy.thresholds.minUnregistered, 500);
    assert.ok(Object.isFrozen(config));
  });

  it('freezes the whole configuration, every nested object and list', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'kafka:9092',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'relayguard',
      KAFKA_SASL_PASSWORD: 'secret',
      SCHEMA_REGISTRY_URL: 'http://user:pass@registry:8081',
      REDIS_URL: 'redis://redis:6379',
      REDIS_CLUSTER_NODES: 'redis-1:6379',
      RELAYGUARD_TOKENS: 'operator-token-0123456789:operator',
      RELAYGUARD_DNS_SERVERS: '192.0.2.53',
      RELAYGUARD_SPOOL_DIR: '/var/spool/relayguard',
      RELAYGUARD_WEBHOOKS: JSON.stringify([
        {
          id: 'billing',
          url: 'https://billing.example/hooks',
          secret: 'webhook-secret-0123456789',
          tenants: ['t1'],
        },
      ]),
    });
    const unfrozen: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (typeof value !== 'object' || value === null) return;
      if (!Object.isFrozen(value)) unfrozen.push(path);
      for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`);
    };
    walk(config, 'config');
    assert.deepEqual(unfrozen, []);
    assert.throws(() => {
      (config.policy.thresholds as { minUnregistered: number }).minUnregistered = 1;
    }, TypeError);
    assert.throws(() => (config.tokens as unknown[]).push({}), TypeError);
  });

  it('reads the Postfix variables under their old RELAYGUARD_POLICY_* names, with one warning line each', () => {
    const current = loadConfig({ RELAYGUARD_POSTFIX_PORT: '10041' });
    assert.equal(current.postfixPort, 10041);
    assert.deepEqual(current.warnings, []);
    const old = loadConfig({
      RELAYGUARD_POLICY_PORT: '10042',
      RELAYGUARD_POLICY_MAX_CONNECTIONS: '7',
      RELAYGUARD_POLICY_IDLE_TIMEOUT_SECONDS: '8',
      RELAYGUARD_POLICY_REQUEST_TIMEOUT_SECONDS: '9',
      RELAYGUARD_POLICY_ALLOWED_CLIENTS: '192.0.2.0/24',
    });
    assert.equal(old.postfixPort, 10042);
    assert.deepEqual(
      { ...old.postfixService, allowedClients: old.postfixService.allowedClients.map((range) => range.cidr) },
      { maxConnections: 7, idleTimeoutMs: 8_000, requestTimeoutMs: 9_000, allowedClients: ['192.0.2.0/24'] },
    );
    assert.deepEqual(old.warnings, [
      'RELAYGUARD_POLICY_PORT is deprecated: rename it RELAYGUARD_POSTFIX_PORT',
      'RELAYGUARD_POLICY_MAX_CONNECTIONS is deprecated: rename it RELAYGUARD_POSTFIX_MAX_CONNECTIONS',
      'RELAYGUARD_POLICY_IDLE_TIMEOUT_SECONDS is deprecated: rename it RELAYGUARD_POSTFIX_IDLE_TIMEOUT_SECONDS',
      'RELAYGUARD_POLICY_REQUEST_TIMEOUT_SECONDS is deprecated: rename it RELAYGUARD_POSTFIX_REQUEST_TIMEOUT_SECONDS',
      'RELAYGUARD_POLICY_ALLOWED_CLIENTS is deprecated: rename it RELAYGUARD_POSTFIX_ALLOWED_CLIENTS',
    ]);
    // Both names: the new one wins, and the old one is named as ignored.
    const both = loadConfig({ RELAYGUARD_POLICY_PORT: '10043', RELAYGUARD_POSTFIX_PORT: '10044' });
    assert.equal(both.postfixPort, 10044);
    assert.deepEqual(both.warnings, [
      'RELAYGUARD_POLICY_PORT is ignored: RELAYGUARD_POSTFIX_PORT, its new name, is set too; unset RELAYGUARD_POLICY_PORT',
    ]);
    // A bad value is reported under the name it was set as.
    assert.throws(
      () => loadConfig({ RELAYGUARD_POLICY_PORT: 'abc' }),
      (error) => {
        assert.ok(isRelayguardError(error));
        assert.equal(error.field, 'RELAYGUARD_POLICY_PORT');
        assert.match(error.message, /^ {2}RELAYGUARD_POLICY_PORT: must be a whole number from 0 to 65535/m);
        return true;
      },
    );
  });

  it('reads the block scope: auto by default, tenant or connector when set, anything else named', () => {
    assert.equal(loadConfig({}).policy.blockScope, 'auto');
    for (const scope of ['tenant', 'connector', 'auto'] as const) {
      assert.equal(loadConfig({ RELAYGUARD_BLOCK_SCOPE: scope }).policy.blockScope, scope);
    }
    assert.throws(
      () => loadConfig({ RELAYGUARD_BLOCK_SCOPE: 'connectors' }),
      (error) => {
        assert.ok(isRelayguardError(error) && error.code === 'INVALID_CONFIG');
        assert.match(error.message, /^ {2}RELAYGUARD_BLOCK_SCOPE: must be tenant, connector or auto$/m);
        return true;
      },
    );
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

  it('reads numbers strictly: blank or non-numeric is refused with the range, never read as 0', () => {
    const refused = [
      [
        'RELAYGUARD_HTTP_PORT',
        ' ',
        /RELAYGUARD_HTTP_PORT: must be a whole number from 0 to 65535 \(0 picks a free port\), not blank/,
      ],
      [
        'RELAYGUARD_POSTFIX_PORT',
        'abc',
        /RELAYGUARD_POSTFIX_PORT: must be a whole number from 0 to 65535 .*, not "abc"/,
      ],
      [
        'RELAYGUARD_MIN_UNREGISTERED_RATIO',
        '',
        /RELAYGUARD_MIN_UNREGISTERED_RATIO: must be a number from 0 to 1, not blank/,
      ],
      ['RELAYGUARD_PARTITIONS', '0', /RELAYGUARD_PARTITIONS: must be a whole number 1 or more, not "0"/],
      [
        'KAFKA_SESSION_TIMEOUT_MS',
        '3e4',
        /KAFKA_SESSION_TIMEOUT_MS: must be a whole number from 6000 to 300000/,
      ],
      [
        'RELAYGUARD_HTTP_MAX_CONNECTIONS',
        '0',
        /RELAYGUARD_HTTP_MAX_CONNECTIONS: must be a whole number 1 or more/,
      ],
    ] as const;
    for (const [variable, value, message] of refused) {
      assert.throws(() => loadConfig({ [variable]: value }), message, `${variable}=${JSON.stringify(value)}`);
    }
    const read = loadConfig({ RELAYGUARD_HTTP_PORT: ' 0 ', RELAYGUARD_MIN_UNREGISTERED_RATIO: '0.3' });
    assert.equal(read.httpPort, 0);
    assert.equal(read.policy.thresholds.minUnregisteredRatio, 0.3);
  });

  it('checks values against each other once each is valid', () => {
    assert.throws(
      () => loadConfig({ RELAYGUARD_DISTINCT_DOMAIN_CAP: '10', RELAYGUARD_GRACE_MINUTES: '60' }),
      /RELAYGUARD_GRACE_MINUTES: must be less than RELAYGUARD_WINDOW_MINUTES[\s\S]*RELAYGUARD_DISTINCT_DOMAIN_CAP: must be at least/,
    );
    // The allowed clock skew lies strictly inside the grace period (the former default, 300 s, equalled it).
    assert.throws(
      () => loadConfig({ RELAYGUARD_MAX_CLOCK_SKEW_SECONDS: '300' }),
      /RELAYGUARD_MAX_CLOCK_SKEW_SECONDS: must be less than RELAYGUARD_GRACE_MINUTES/,
    );
    assert.ok(loadConfig({}).maxClockSkewMs < loadConfig({}).policy.graceMinutes * 60_000);
    // Node refuses a headers timeout longer than the request timeout when the server is created.
    assert.throws(
      () =>
        loadConfig({
          RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS: '60',
          RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS: '30',
        }),
      /RELAYGUARD_HTTP_HEADERS_TIMEOUT_SECONDS: must not exceed RELAYGUARD_HTTP_REQUEST_TIMEOUT_SECONDS/,
    );
  });

  it('reads the policy client allowlist: loopback by default, IPv4 and IPv6 ranges, bad ranges named', () => {
    const cidrs = (value?: string) =>
      loadConfig(
        value === undefined ? {} : { RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: value },
      ).postfixService.allowedClients.map((range) => range.cidr);
    assert.deepEqual(cidrs(), ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(cidrs(' 192.0.2.7/24, 2001:DB8:25::/64,198.51.100.9 '), [
      '192.0.2.0/24',
      '2001:db8:25::/64',
      '198.51.100.9/32',
    ]);
    for (const [value, message] of [
      [
        '192.0.2.0/24,10.0.0.0/33',
        /RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: entry 2: "10.0.0.0\/33" is not a CIDR range/,
      ],
      ['relays.example', /RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: entry 1: "relays.example" is not a CIDR range/],
      [' , ', /RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: list at least one CIDR range/],
    ] as const) {
      assert.throws(
        () => loadConfig({ RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: value }),
        (error) => {
          assert.ok(isRelayguardError(error) && error.code === 'INVALID_CONFIG');
          assert.equal(error.field, 'RELAYGUARD_POSTFIX_ALLOWED_CLIENTS');
          assert.match(error.message, message);
          return true;
        },
        value,
      );
    }
  });

  it('requires the Schema Registry with Kafka', () => {
    assert.throws(
      () => loadConfig({ KAFKA_BROKERS: 'localhost:9092' }),
      /SCHEMA_REGISTRY_URL: is required when KAFKA_BROKERS is set/,
    );
  });
});

describe('configuration of the production adapters', () => {
  const production = {
    KAFKA_BROKERS: 'kafka-1:9093,kafka-2:9093',
    SCHEMA_REGISTRY_URL: 'https://registry-user:registry-secret@registry.internal:8081/',
    REDIS_URL: 'rediss://default:redis-secret@127.0.0.1:1',
  };

  it('reads Kafka TLS and SASL, and splits the registry credentials off its URL', () => {
    const config = loadConfig({
      ...production,
      KAFKA_CLIENT_ID: 'relayguard-eu1',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'relayguard',
      KAFKA_SASL_PASSWORD: 'kafka-secret',
    });
    assert.equal(config.embedded, false);
    assert.deepEqual(config.kafka, {
      brokers: ['kafka-1:9093', 'kafka-2:9093'],
      clientId: 'relayguard-eu1',
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'relayguard', password: 'kafka-secret' },
      idempotent: true,
      sessionTimeoutMs: 30_000,
      fetchMaxWaitMs: 1_000,
      directoryFetchMaxWaitMs: 100,
    });
    assert.deepEqual(config.schemaRegistry, {
      url: 'https://registry.internal:8081',
      auth: { username: 'registry-user', password: 'registry-secret' },
    });
    assert.deepEqual(config.redis, {
      url: production.REDIS_URL,
      clusterNodes: [],
      waitReplicas: 0,
      waitTimeoutMs: 1_000,
    });
  });

  it('stops on invalid combinations, naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { ...production, KAFKA_SASL_MECHANISM: 'plain' },
        /KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM[\s\S]*KAFKA_SASL_PASSWORD: is required/,
      ],
      [
        { ...production, KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
        /KAFKA_SASL_MECHANISM: is required with/,
      ],
      [{ ...production, KAFKA_SASL_MECHANISM: 'gssapi' }, /KAFKA_SASL_MECHANISM: /],
      [{ ...production, KAFKA_SSL: 'yes' }, /KAFKA_SSL: must be true or false/],
      [{ ...production, KAFKA_IDEMPOTENT: 'no' }, /KAFKA_IDEMPOTENT: must be true or false/],
      [{ ...production, KAFKA_SESSION_TIMEOUT_MS: '1000' }, /KAFKA_SESSION_TIMEOUT_MS: /],
      [{ ...production, KAFKA_FETCH_MAX_WAIT_MS: '0' }, /KAFKA_FETCH_MAX_WAIT_MS: /],
      [{ ...production, KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS: 'soon' }, /KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS: /],
      [
        { ...production, REDIS_URL: 'http://127.0.0.1:6379' },
        /REDIS_URL: must start with redis:\/\/ or rediss:\/\//,
      ],
      [{ REDIS_URL: 'redis://127.0.0.1:6379' }, /KAFKA_BROKERS: is required when REDIS_URL is set/],
      [
        { ...production, REDIS_URL: '', REDIS_CLUSTER_NODES: 'r1:6379' },
        /REDIS_URL: is required with REDIS_CLUSTER_NODES/,
      ],
      [{ ...production, REDIS_CLUSTER_NODES: 'r1' }, /REDIS_CLUSTER_NODES: each entry must be host:port/],
      [{ ...production, REDIS_WAIT_REPLICAS: 'one' }, /REDIS_WAIT_REPLICAS: /],
      [{ ...production, REDIS_WAIT_REPLICAS: '-1' }, /REDIS_WAIT_REPLICAS: /],
      [{ ...production, REDIS_WAIT_TIMEOUT_MS: '0' }, /REDIS_WAIT_TIMEOUT_MS: /],
      [
        { ...production, SCHEMA_REGISTRY_URL: 'ftp://registry:8081' },
        /SCHEMA_REGISTRY_URL: must start with http:\/\/ or https:\/\//,
      ],
    ];
    for (const [env, expected] of cases) {
      assert.throws(() => loadConfig(env), expected, JSON.stringify(env));
    }
  });

  it('reads Redis Cluster seed nodes and the replicas a save waits for', () => {
    const config = loadConfig({
      ...production,
      REDIS_CLUSTER_NODES: 'r1:7000, r2:7001',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '250',
    });
    assert.deepEqual(config.redis?.clusterNodes, [
      { host: 'r1', port: 7000 },
      { host: 'r2', port: 7001 },
    ]);
    assert.equal(config.redis?.waitReplicas, 1);
    assert.equal(config.redis?.waitTimeoutMs, 250);
  });

  it('describes where each adapter points without a secret, and needs Redis to run the services', async () => {
    const config = loadConfig({
      ...production,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'kafka-secret',
      KAFKA_SSL: 'true',
    });
    const adapters = productionAdapters(config, silentLogger);
    try {
      const banner = Object.values(adapters.description).join('\n');
      assert.doesNotMatch(banner, /secret/);
      assert.match(
        adapters.description.log,
        /kafka-1:9093,kafka-2:9093 .*TLS, SASL plain, idempotent producer, acks=all/,
      );
      assert.equal(
        adapters.description.codec,
        'Schema Registry at https://registry.internal:8081 (basic auth)',
      );
      assert.equal(
        adapters.description.store,
        'Redis at rediss://***:***@127.0.0.1:1, TLS, saves acknowledged by the master alone',
      );
    } finally {
      await adapters.log.close();
      await adapters.store.close();
    }
    assert.throws(
      () => productionAdapters(loadConfig({ ...production, REDIS_URL: '' }), silentLogger),
      (error) => isRelayguardError(error) && error.code === 'INVALID_CONFIG' && error.field === 'REDIS_URL',
    );
  });
});
