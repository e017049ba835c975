// The backtest fold: the same traffic always gives the same report, a report that equals what the live pipeline
// decided on that traffic; lower thresholds never block fewer tenants.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { wholeDirectory } from '../../../services/app/runtime.js';
import { Backtest, type NamedPolicy } from '../../../services/backtest/engine.js';
import { decodeEventLine, encodeEventLine } from '../../../services/backtest/event-lines.js';
import { MinuteHistory, volumeBeganMinute } from '../../../services/backtest/history.js';
import { eventLogSource } from '../../../services/backtest/log-source.js';
import { IN_FORCE, parsePolicySpec } from '../../../services/backtest/policies.js';
import { exportTenants, loadTenants } from '../../../services/backtest/tenants-file.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';
import type { TenantDirectory } from '../../../services/core/directory.js';
import { DEFAULT_POLICY, type Policy } from '../../../services/core/policy.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { OPERATOR, type PipelineDriver, startPipeline } from '../../support/pipeline-driver.js';
import { STORIES, type TenantStory, tenantsOf, trafficOf } from '../../support/traffic.js';

const START = Date.UTC(2026, 10, 28, 9);
const MINUTES = 120;
const SKEW_MS = 120_000;
const HALVED: Policy = {
  ...DEFAULT_POLICY,
  thresholds: {
    ...DEFAULT_POLICY.thresholds,
    minUnregistered: DEFAULT_POLICY.thresholds.minUnregistered / 2,
    minDistinctDomains: DEFAULT_POLICY.thresholds.minDistinctDomains / 2,
    minUnregisteredWithDistinct: DEFAULT_POLICY.thresholds.minUnregisteredWithDistinct / 2,
  },
};
const POLICIES: NamedPolicy[] = [
  { name: IN_FORCE, policy: DEFAULT_POLICY },
  { name: 'halved', policy: HALVED },
];

function run(directory: TenantDirectory, events: Iterable<MessageSubmitted>, policies = POLICIES) {
  const backtest = new Backtest(directory, policies);
  for (const event of events) backtest.add(event);
  return backtest;
}

describe('backtest', () => {
  const events = trafficOf(STORIES, START, MINUTES);
  const directory = loadTenants(tenantsOf(STORIES), 'tenants.json');

  describe('against the live pipeline on the same traffic', () => {
    let driver: PipelineDriver;
    before(async () => {
      driver = await startPipeline({}, START);
    });
    after(() => driver.stop());

    it('blocks the same tenants, with the same block ids, times and evidence', async () => {
      const admin = driver.runtime.admin!;
      for (const tenant of tenantsOf(STORIES).tenants) {
        for (const accepted of tenant.acceptedDomains ?? [])
          if (typeof accepted !== 'string')
            await admin.putAcceptedDomain(OPERATOR, tenant.tenantId, accepted.domain, true);
        for (const connector of tenant.connectors ?? [])
          await admin.putConnector(OPERATOR, tenant.tenantId, connector.connectorId, {
            relayPath: connector.relayPath,
            senderIpRanges: connector.senderIpRanges ?? [],
            enabled: true,
          });
      }
      driver.clock.set(START + MINUTES * 60_000);
      await driver.publish(events);
      await driver.settle();
      const live = (await driver.blockEvents())
        .filter((event) => event.kind === 'BLOCKED')
        .map((event) => ({
          tenantId: event.tenantId,
          blockId: event.blocked!.blockId,
          mode: event.blocked!.mode,
          blockedAt: event.occurredAt,
          reason: event.blocked!.reason,
          scope: event.blocked!.scope,
          connectorIds: event.blocked!.connectorIds,
          // Plain data: the Avro decoder gives records class prototypes.
          evidence: JSON.parse(JSON.stringify(event.blocked!.evidence)),
        }))
        .sort((a, b) => a.blockedAt - b.blockedAt);
      assert.deepEqual(
        live.map((b) => b.tenantId),
        ['domains', 'volume'],
        'the fixture blocks two tenants live',
      );

      // The tenants as the live directory holds them (connector creation times included).
      const recorded = loadTenants(exportTenants(wholeDirectory(driver.runtime)), 'exported');
      const report = run(recorded, events).report();
      const inForce = report.policies[0]!;
      assert.deepEqual(
        inForce.blocked.map(({ volumeBeganAt: _, afterVolumeBeganMs: __, ...decision }) => decision),
        live,
      );
    });
  });

  it('gives the same report on every run, and after a round trip through the JSON-lines file format', () => {
    const first = run(directory, events).report();
    const second = run(directory, events).report();
    assert.deepEqual(second, first);
    const replayed = events.map((event) => decodeEventLine(encodeEventLine(event))!);
    assert.deepEqual(run(directory, replayed).report(), first);
    assert.deepEqual(JSON.parse(JSON.stringify(first)), JSON.parse(JSON.stringify(second)));
  });

  it('says when the volume began, who came close, and how the candidates differ', () => {
    const report = run(directory, events).report();
    const [inForce, halved] = report.policies;
    const began = Object.fromEntries(inForce!.blocked.map((b) => [b.tenantId, b.volumeBeganAt]));
    assert.deepEqual(began, { volume: START + 40 * 60_000, domains: START + 30 * 60_000 });
    assert.deepEqual(
      inForce!.near.map((n) => [n.tenantId, n.closestRule]),
      [['near', 'VOLUME']],
    );
    assert.ok(inForce!.near[0]!.proximity >= 0.8 && inForce!.near[0]!.proximity < 1);
    assert.equal(report.events.scored, events.length);
    assert.equal(report.events.tenantsWithoutAcceptedDomains, 0);

    assert.deepEqual(halved!.comparedToInForce!.newlyBlocked, ['near']);
    assert.deepEqual(halved!.comparedToInForce!.noLongerBlocked, []);
    assert.deepEqual(halved!.comparedToInForce!.noLongerNear, ['near']);
    assert.ok(halved!.comparedToInForce!.blockedAtAnotherTime.every((moved) => moved.byMs < 0));
  });

  it('with halved thresholds blocks strictly more tenants on traffic with a close call', () => {
    const [inForce, halved] = run(directory, events).report().policies;
    const base = new Set(inForce!.blocked.map((b) => b.tenantId));
    const lower = new Set(halved!.blocked.map((b) => b.tenantId));
    assert.ok([...base].every((tenantId) => lower.has(tenantId)));
    assert.ok(lower.size > base.size);
  });

  it('with halved thresholds never blocks fewer tenants, nor later (property)', () => {
    const story = fc.record({
      relayPath: fc.constantFrom('ONPREM' as const, 'APPLICATION' as const, 'FORWARDED' as const),
      registered: fc.integer({ min: 0, max: 12 }),
      unregistered: fc.integer({ min: 0, max: 25 }),
      domains: fc.integer({ min: 1, max: 120 }),
      from: fc.integer({ min: 0, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(story, { minLength: 1, maxLength: 5 }), fc.integer(), (drawn, seed) => {
        const stories: TenantStory[] = drawn.map((s, i) => ({ ...s, tenantId: `t${i}` }));
        const traffic = trafficOf(stories, START, 70, seed);
        const [inForce, halved] = run(loadTenants(tenantsOf(stories), 'generated'), traffic).report()
          .policies;
        const lower = new Map(halved!.blocked.map((b) => [b.tenantId, b.blockedAt]));
        for (const blocked of inForce!.blocked) {
          const at = lower.get(blocked.tenantId);
          assert.ok(
            at !== undefined && at <= blocked.blockedAt,
            `${blocked.tenantId} must be blocked by halved too`,
          );
        }
      }),
      { numRuns: 40 },
    );
  });

  it('reads the message-submitted topic of an event log, without a group, and reports the same', async () => {
    // Written once the last event happened: no event is ahead of its record.
    const clock = new ManualClock(Math.max(...events.map((event) => event.occurredAt)));
    const log = new MemoryEventLog({ clock, partitions: 4 });
    const codec = new EmbeddedCodec();
    const records = await Promise.all(
      events.map(async (event) => ({
        key: event.tenantId,
        value: await codec.encode(Topics.messageSubmitted, event),
      })),
    );
    await log.publish(Topics.messageSubmitted, records);
    const source = eventLogSource(log, codec, { from: null, to: null }, 'memory log', SKEW_MS);
    const backtest = new Backtest(directory, POLICIES);
    for await (const batch of source.batches()) for (const event of batch) backtest.add(event);
    const fromLog = backtest.report();
    const fromFile = run(directory, events).report();
    assert.deepEqual(fromLog.policies, fromFile.policies);
    assert.deepEqual(source.progress(), { done: events.length, total: events.length, unit: 'records' });

    const ranged = eventLogSource(
      log,
      codec,
      { from: START, to: START + 30 * 60_000 },
      'memory log',
      SKEW_MS,
    );
    let kept = 0;
    for await (const batch of ranged.batches()) kept += batch.length;
    assert.equal(kept, events.filter((e) => e.occurredAt < START + 30 * 60_000).length);
    assert.equal(ranged.summary().details.outsideTimeRange, events.length - kept);

    // An event stamped further ahead of its record than the skew is refused, as the live scorer dead-letters it.
    const ahead = { ...events[0]!, occurredAt: clock.now() + SKEW_MS + 1 };
    await log.publish(Topics.messageSubmitted, [
      { key: ahead.tenantId, value: await codec.encode(Topics.messageSubmitted, ahead) },
    ]);
    const withAhead = eventLogSource(log, codec, { from: null, to: null }, 'memory log', SKEW_MS);
    let read = 0;
    for await (const batch of withAhead.batches()) read += batch.length;
    assert.equal(read, events.length);
    assert.equal(withAhead.summary().problems.FUTURE_EVENT?.count, 1);
    await log.close();
  });

  it('puts the start of a burst at its first elevated minute, over a steady trickle', () => {
    const trickle = Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const burst = [...trickle, 40, 0, 35, 50, 45];
    assert.equal(volumeBeganMinute(burst, 1_000, 60), 1_000 - 4);
    assert.equal(
      volumeBeganMinute(
        Array.from({ length: 120 }, () => 5),
        1_000,
        60,
      ),
      1_000 - 59,
    );
  });

  it('keeps per-minute history in a ring until kept, then every minute, late ones in their place', () => {
    const history = new MinuteHistory(4);
    for (const minute of [1, 2, 2, 3, 7, 8]) history.record(minute, 'unregistered');
    history.record(8, 'forwarded');
    history.record(8, 'registered');
    history.keep(8);
    // The ring held minutes 5..8 only.
    assert.deepEqual(history.perMinute(1, 8, 0), [0, 0, 0, 0, 0, 0, 1, 1]);
    history.record(10, 'unregistered');
    history.record(9, 'unregistered'); // late, within grace
    history.record(10, 'unregistered');
    assert.deepEqual(history.perMinute(7, 10, 0.5), [1, 1.5, 1, 2]);
    assert.deepEqual(history.slidingUnregistered(8, 10, 3, 0), [2, 3, 4]);
    assert.deepEqual(history.keptSpan(), { first: 7, last: 10 });
  });

  it('parses candidate policies from the command line and names the bad field', () => {
    const strict = parsePolicySpec(DEFAULT_POLICY, 'strict:minUnregistered=250,minDistinctDomains=25', 0);
    assert.equal(strict.name, 'strict');
    assert.deepEqual(strict.policy.thresholds, {
      ...DEFAULT_POLICY.thresholds,
      minUnregistered: 250,
      minDistinctDomains: 25,
    });
    assert.equal(parsePolicySpec(DEFAULT_POLICY, 'windowMinutes=30', 1).name, 'candidate-2');
    assert.throws(() => parsePolicySpec(DEFAULT_POLICY, 'x:minUnregistered=-1', 0), /"x": minUnregistered: /);
    assert.throws(
      () => parsePolicySpec(DEFAULT_POLICY, 'x:minUnregisterd=1', 0),
      /minUnregisterd: .*known: mode, minUnregistered/,
    );
    assert.throws(
      () => parsePolicySpec(DEFAULT_POLICY, 'x:graceMinutes=90', 0),
      /graceMinutes: must be less than windowMinutes/,
    );
  });
});
