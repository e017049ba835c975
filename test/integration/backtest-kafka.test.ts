// `relayguard backtest --kafka` on a real Apache Kafka broker (its own: the topic name is relayguard's) and the
// Schema Registry double: the topic read without a consumer group, within a time range, reports what the same
// events report from a file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { encodeEventLine } from '../../services/backtest/event-lines.js';
import { type BacktestOptions, runBacktest } from '../../services/cli/commands/backtest.js';
import { Topics } from '../../services/core/topics.js';
import { RegistryCodec } from '../../services/platform/codec/registry-codec.js';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../../services/platform/logger.js';
import { type KafkaCluster, startKafkaCluster } from '../support/kafka-broker.js';
import { kafkaEnv } from '../support/production-stack.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { STORIES, tenantsOf, trafficOf } from '../support/traffic.js';

const START = Date.UTC(2026, 10, 28, 9);
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

describe('relayguard backtest --kafka', () => {
  let kafka: KafkaCluster;
  let registry: SchemaRegistryDouble;
  const dir = mkdtempSync(join(tmpdir(), 'relayguard-backtest-kafka-'));
  const events = trafficOf(STORIES, START, 90);

  before(async () => {
    [kafka, registry] = await Promise.all([startKafkaCluster(), startSchemaRegistry()]);
    await kafka.createTopic(Topics.messageSubmitted, 3, 1);
  });
  after(async () => {
    await kafka?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports on the topic what it reports on the same events from a file, within a time range', async () => {
    const config = loadConfig({
      ...kafkaEnv(kafka.bootstrapServers),
      SCHEMA_REGISTRY_URL: registry.url,
      RELAYGUARD_LOG_LEVEL: 'silent',
    });
    const log = new KafkaEventLog({ kafka: config.kafka!, logger: silentLogger, maxWaitTimeMs: 100 });
    const codec = new RegistryCodec(config.schemaRegistry!);
    const records = [];
    for (const event of events)
      records.push({ key: event.tenantId, value: await codec.encode(Topics.messageSubmitted, event) });
    await log.publish(Topics.messageSubmitted, records);
    await log.close();

    const tenants = join(dir, 'tenants.json');
    const file = join(dir, 'events.jsonl');
    writeFileSync(tenants, JSON.stringify(tenantsOf(STORIES)));
    writeFileSync(file, events.map(encodeEventLine).join('\n'));
    const options: BacktestOptions = {
      events: [],
      postfix: [],
      kafka: true,
      tenants,
      clients: undefined,
      year: 2026,
      syslogUtc: true,
      policy: ['halved:minUnregistered=250,minDistinctDomains=25,minUnregisteredWithDistinct=50'],
      policies: undefined,
      range: { from: null, to: null },
      json: true,
      html: undefined,
    };
    const fromTopic = await runBacktest(config, options, quiet);
    const fromFile = await runBacktest(config, { ...options, kafka: false, events: [file] }, quiet);
    assert.deepEqual(fromTopic.policies, fromFile.policies);
    assert.equal(fromTopic.events.scored, events.length);
    assert.deepEqual(
      fromTopic.policies[0]!.blocked.map((b) => b.tenantId),
      ['domains', 'volume'],
    );

    // A time range: only the first 45 minutes, which end before the volume spammer crosses its threshold.
    const ranged = await runBacktest(
      config,
      { ...options, range: { from: START, to: START + 45 * 60_000 } },
      quiet,
    );
    assert.equal(ranged.events.scored, events.filter((e) => e.occurredAt < START + 45 * 60_000).length);
    assert.equal(ranged.source.details.outsideTimeRange, events.length - ranged.events.scored);
    assert.deepEqual(
      ranged.policies[0]!.blocked.map((b) => b.tenantId),
      ['domains'],
    );
  });
});
