// A scorer alone holds the directory slice of its own partitions (services/core/directory-slice.ts): the tenants
// keyed to the partitions it was handed, loaded from their assignment on (or at the first batch of a partition
// whose assignment it was not told of), never scored before, dropped when the partitions are revoked; and it scores a tenant whose partition came to it in a rebalance as the whole directory would,
// including a domain another tenant, held by no slice of this scorer, verified first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenantId } from '../../../bench/workload.js';
import { embeddedAdapters } from '../../../services/app/adapters.js';
import { startRuntime } from '../../../services/app/runtime.js';
import type { DirectoryEvent } from '../../../services/core/directory.js';
import { DirectorySlice } from '../../../services/core/directory-slice.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { loadConfig } from '../../../services/platform/config.js';
import { keyPartition } from '../../../services/platform/key-partition.js';
import { silentLogger } from '../../../services/platform/logger.js';
import type { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import type { RecordBatch } from '../../../services/platform/ports.js';
import type { Scorer } from '../../../services/scorer/scorer.js';
import { messageSubmitted } from '../../support/builders.js';
import { START } from '../../support/episode-driver.js';
import { fleet, publish } from '../../support/snapshot-scenario.js';
import { waitFor } from '../../support/tether.js';

const PARTITIONS = 6;
const TENANTS = 120;
const codec = new EmbeddedCodec();
const partitionOf = keyPartition(PARTITIONS);

/** `domain` accepted by `tenant`: verified at `verifiedAt`, or legacy (accepted before verification existed). */
function accepted(tenant: string, domain: string, verifiedAt: number | null): DirectoryEvent {
  return {
    kind: 'accepted-domain',
    event: {
      eventId: `d-${tenant}-${domain}`,
      tenantId: tenant,
      domain,
      change: 'ADDED',
      matchSubdomains: false,
      verification: verifiedAt === null ? null : { method: 'OPERATOR', verifiedAt, actor: 'admin' },
      verificationToken: '',
      occurredAt: START - 3_600_000,
      actor: 'admin',
    },
  };
}

/** One batch of `partition` holding the tenant's mail from these sender domains, a second apart. */
async function mailBatch(
  partition: number,
  tenant: string,
  domains: readonly string[],
): Promise<RecordBatch> {
  const records = await Promise.all(
    domains.map(async (domain, i) => ({
      key: tenant,
      value: await codec.encode(
        Topics.messageSubmitted,
        messageSubmitted({
          tenantId: tenant,
          occurredAt: START + i * 1_000,
          envelopeSenderDomain: domain,
          connectorId: 'onprem-1',
        }),
      ),
      headers: {},
      partition,
      offset: String(i),
      timestamp: START + i * 1_000,
    })),
  );
  return { topic: Topics.messageSubmitted, partition, records, lag: 0 };
}

/** Hands the batch over until the scorer takes it (refused while tenants are loaded); how often it was refused. */
async function scoreWhenLoaded(scorer: Scorer, batch: RecordBatch): Promise<number> {
  let refused = 0;
  await waitFor(
    () =>
      scorer.handleBatch(batch).then(
        () => true,
        (error: unknown) => {
          if (!isRelayguardError(error) || error.code !== 'DIRECTORY_BEHIND') throw error;
          refused++;
          return false;
        },
      ),
    { timeoutMs: 10_000, description: `partition ${batch.partition} scored` },
  );
  return refused;
}

/** A scorer alone on the embedded adapters, the directory holding the fleet's tenants and `changes`. */
async function scorerAlone(changes: readonly DirectoryEvent[] = []) {
  const config = loadConfig({ RELAYGUARD_PARTITIONS: String(PARTITIONS) });
  const clock = new ManualClock(START);
  const adapters = embeddedAdapters(config, clock);
  await publish(adapters.log, [...fleet(0, TENANTS), ...changes]);
  const runtime = await startRuntime(config, { services: ['scorer'], logger: silentLogger, clock, adapters });
  return { runtime, log: adapters.log as MemoryEventLog };
}

describe('scorer: the directory slice of its own partitions', () => {
  it('holds the tenants of the partitions handed to it, loaded first; after a rebalance scores a moved tenant', async () => {
    const tenants = Array.from({ length: TENANTS }, (_, i) => tenantId(i));
    const first = tenants[1]!;
    // Not one the fleet blocked already (one in ten).
    const moved = tenants.find((tenant, i) => i % 10 !== 0 && partitionOf(tenant) !== partitionOf(first))!;
    const owner = tenants.find((tenant) => ![first, moved].map(partitionOf).includes(partitionOf(tenant)))!;
    // The moved tenant's legacy domain, verified earlier by a tenant of a partition this scorer never holds.
    const { runtime, log } = await scorerAlone([
      accepted(moved, 'shared.example', null),
      accepted(owner, 'shared.example', START - 86_400_000),
    ]);
    try {
      await runtime.ready;
      const scorer = runtime.scorer!;
      const held = () => tenants.filter((tenant) => runtime.directory.tenant(tenant) !== undefined);
      const score = (batch: RecordBatch) => scoreWhenLoaded(scorer, batch);

      // The memory log's only member is assigned every partition when it subscribes: their tenants are loaded
      // from then on, before any of their batches comes.
      await waitFor(() => held().length === TENANTS, {
        timeoutMs: 10_000,
        description: 'the tenants of the partitions assigned, with no batch of theirs yet',
      });
      const refused = await score(await mailBatch(partitionOf(first), first, [`${first}.example`]));
      assert.equal(refused, 0, 'the first batch of an assigned partition finds its tenants loaded');
      const others = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p !== partitionOf(first));
      await scorer.revoke(others);
      const ofFirst = tenants.filter((tenant) => partitionOf(tenant) === partitionOf(first));
      assert.deepEqual(held(), ofFirst, 'the tenants of the one partition left, and no other');
      assert.ok(ofFirst.length < (2 * TENANTS) / PARTITIONS, `${ofFirst.length}: about 1/${PARTITIONS}`);

      // The rebalance: the partition goes to another scorer, the moved tenant's comes here, its first batch
      // before its assignment is announced: it waits for the tenants its partition lacks.
      await scorer.revoke([partitionOf(first)]);
      assert.deepEqual(held(), [], 'a revoked partition leaves nothing held');
      const spam = Array.from({ length: 150 }, (_, i) => `offer${i % 75}.example`);
      const registered = Array.from({ length: 50 }, () => `${moved}.example`);
      const shared = Array.from({ length: 10 }, () => 'shared.example');
      const waited = await score(
        await mailBatch(partitionOf(moved), moved, [...registered, ...shared, ...spam]),
      );
      assert.ok(waited >= 1, 'the batch of a partition not loaded waited for its tenants');
      assert.ok(runtime.directory.tenant(moved), 'the moved tenant is held');

      const blocks = await Promise.all(
        log
          .records(Topics.tenantBlocks)
          .filter((record) => record.key === moved && record.value !== null)
          .map((record) => codec.decode(Topics.tenantBlocks, record.value!)),
      );
      const evidence = blocks.find((block) => block.kind === 'BLOCKED')?.blocked?.evidence;
      assert.ok(evidence, 'the moved tenant is blocked');
      assert.equal(
        evidence.total - evidence.unregistered,
        registered.length,
        'its own domain counts as registered; shared.example, owned by another tenant, does not',
      );
    } finally {
      await runtime.stop();
    }
  });
  it('loads by name a tenant found in a partition its key does not map to, before scoring it', async () => {
    const tenants = Array.from({ length: TENANTS }, (_, i) => tenantId(i));
    const here = tenants[1]!;
    const stray = tenants.find((tenant, i) => i % 10 !== 0 && partitionOf(tenant) !== partitionOf(here))!;
    const { runtime, log } = await scorerAlone();
    try {
      await runtime.ready;
      const scorer = runtime.scorer!;
      await waitFor(() => runtime.directory.tenant(stray) !== undefined, {
        timeoutMs: 10_000,
        description: 'the partitions assigned loaded',
      });
      await scorer.revoke(
        Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p !== partitionOf(here)),
      );
      assert.equal(runtime.directory.tenant(stray), undefined, 'its own partition went to another scorer');
      const refused = await scoreWhenLoaded(
        scorer,
        await mailBatch(partitionOf(here), stray, [`${stray}.example`]),
      );
      assert.ok(refused >= 1, 'its batch waited for it');
      assert.ok(runtime.directory.tenant(stray), 'held by name');
      const deadLettered = log.records(Topics.messageSubmittedDlq);
      assert.equal(deadLettered.length, 0, 'not dead-lettered as unknown');
    } finally {
      await runtime.stop();
    }
  });

  it('knows no tenant whose records are still being loaded', () => {
    const slice = new DirectorySlice(partitionOf);
    const tenant = tenantId(3);
    const loading = { partitions: new Set([partitionOf(tenant)]), tenants: new Map<string, number>() };
    const into = slice.loadInto(loading);
    into.apply(accepted(tenant, `${tenant}.example`, START - 1_000));
    assert.equal(slice.tenant(tenant), undefined, 'its connectors may come next: not scored yet');
    slice.hold(loading);
    assert.ok(slice.tenant(tenant), 'held once loaded');
  });
});
