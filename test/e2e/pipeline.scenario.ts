// The whole-pipeline scenario: relay events in, block events out, relay answered. It runs on the embedded
// adapters (pipeline.test.ts) and on Kafka + Schema Registry + Redis (pipeline-production.test.ts), unchanged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MessageSubmitted, RelayPath } from '../../services/core/contracts.generated.js';
import { BLOCK_REPLY } from '../../services/core/decision.js';
import { messageSubmitted, randomDomains, seededRandom } from '../support/builders.js';
import { OPERATOR, type Pipeline } from '../support/pipeline-driver.js';

const REPLY_TEXT = '550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains';
const ATTESTED = { domainsRegistered: true, connectorsReviewed: true, serversSecured: true };

async function onboard(driver: Pipeline, tenantId: string, octet: number, relayPath: 'ONPREM' | 'FORWARDED') {
  const admin = driver.runtime.admin!;
  await admin.putAcceptedDomain(OPERATOR, tenantId, `${tenantId}.example`, true);
  await admin.putConnector(OPERATOR, tenantId, `${tenantId}-connector`, {
    relayPath,
    senderIpRanges: [`198.51.${octet}.0/24`],
    enabled: true,
  });
}

export function pipelineScenario(name: string, startPipeline: (start: number) => Promise<Pipeline>) {
  describe(`${name} pipeline`, () => {
    let driver: Pipeline;
    const start = Date.UTC(2026, 10, 28, 9);

    before(async () => {
      driver = await startPipeline(start);
    });
    after(() => driver.stop());

    /** Messages through the tenant's connector: the i-th of `count` at `at(i)`, its sender at `domainOf(i)`. */
    const messages = (
      tenantId: string,
      count: number,
      at: (i: number) => number,
      domainOf: (i: number) => string,
      relayPath: RelayPath = 'ONPREM',
    ) =>
      Array.from({ length: count }, (_, i) =>
        messageSubmitted({
          tenantId,
          occurredAt: at(i),
          envelopeSenderDomain: domainOf(i),
          relayPath,
          connectorId: `${tenantId}-connector`,
        }),
      );
    /** The i-th of `count` times spread evenly over the first `minutes` after the start. */
    const evenly = (count: number, minutes: number) => (i: number) =>
      start + Math.floor((i / count) * minutes * 60_000);
    /** Publishes the messages with the clock `minutes` after the start, and waits until they are scored. */
    const publishAt = async (minutes: number, events: MessageSubmitted[]) => {
      driver.clock.set(start + minutes * 60_000);
      await driver.publish(events);
      await driver.settle();
    };

    it('blocks a compromised tenant once, with evidence, and the enforcer rejects only its unregistered senders', async () => {
      await onboard(driver, 'acme', 1, 'ONPREM');
      const random = seededRandom(7);
      const domains = randomDomains(200, random);
      const events = messages(
        'acme',
        600,
        evenly(600, 10),
        () => domains[Math.floor(random() * domains.length)]!,
      );
      await publishAt(10, events);

      const blocks = (await driver.blockEvents()).filter((event) => event.tenantId === 'acme');
      assert.equal(blocks.length, 1, 'exactly one block event');
      const blocked = blocks[0]!.blocked!;
      assert.equal(blocks[0]!.kind, 'BLOCKED');
      assert.equal(blocked.mode, 'ENFORCE');
      const evidence = blocked.evidence;
      assert.ok(evidence.unregistered >= 100, `U = ${evidence.unregistered}`);
      assert.equal(evidence.forwardedUnregistered, 0);
      assert.equal(evidence.total, evidence.unregistered, 'every message so far was unregistered');
      assert.ok(evidence.distinctUnregisteredDomains >= 50, `D = ${evidence.distinctUnregisteredDomains}`);
      assert.equal(evidence.windowEnd - evidence.windowStart, 60 * 60_000);
      assert.ok(
        evidence.topDomains.length > 0 && evidence.topDomains.every((d) => domains.includes(d.domain)),
      );
      assert.deepEqual(
        evidence.connectors.map((c) => c.connectorId),
        ['acme-connector'],
      );
      assert.ok(evidence.connectors[0]!.createdAt !== null);

      const enforcer = driver.runtime.enforcer!;
      const rejected = enforcer.decide({ clientAddress: '198.51.1.25', sender: `bob@${domains[0]}` }, 'RCPT');
      assert.equal(rejected.action, 'REJECT');
      assert.equal(`${BLOCK_REPLY.code} ${BLOCK_REPLY.enhancedCode} ${BLOCK_REPLY.text}`, REPLY_TEXT);
      const accepted = enforcer.decide(
        { clientAddress: '198.51.1.25', sender: 'alice@mail.acme.example' },
        'RCPT',
      );
      assert.deepEqual(
        [accepted.action, 'reason' in accepted && accepted.reason],
        ['ACCEPT', 'registered-domain'],
      );
    });

    it('never blocks a tenant relaying 5,000 unregistered messages through a FORWARDED connector', async () => {
      await onboard(driver, 'forwarder', 2, 'FORWARDED');
      const random = seededRandom(11);
      const domains = randomDomains(500, random);
      await publishAt(
        30,
        messages('forwarder', 5000, evenly(5000, 30), (i) => domains[i % domains.length]!, 'FORWARDED'),
      );
      assert.equal((await driver.blockEvents()).filter((event) => event.tenantId === 'forwarder').length, 0);
      const status = await driver.runtime.admin!.status('forwarder');
      assert.equal(status.counters.forwardedUnregistered, 5000);
      assert.equal(status.counters.unregistered, 0);
    });

    it('never blocks below-threshold traffic', async () => {
      await onboard(driver, 'hybrid', 3, 'ONPREM');
      // 450 unregistered from 40 domains among 2,000 messages: under both rules (U < 500; D < 50).
      const partnerOrOwn = (i: number) => (i % 40 < 9 ? `partner${i % 40}.example` : 'hybrid.example');
      await publishAt(50, messages('hybrid', 2000, evenly(2000, 50), partnerOrOwn));
      const status = await driver.runtime.admin!.status('hybrid');
      assert.equal(status.counters.unregistered, 450);
      assert.equal(status.counters.distinctUnregisteredDomains, 9);
      assert.equal((await driver.blockEvents()).filter((event) => event.tenantId === 'hybrid').length, 0);
    });

    it('after an unblock does not block again without new evidence', async () => {
      const admin = driver.runtime.admin!;
      driver.clock.set(start + 11 * 60_000);
      const lifted = await admin.unblock(OPERATOR, 'acme', { ticket: 'SUP-1', attestations: ATTESTED });
      assert.ok(
        lifted.warnings.length > 0,
        'the evidence domains are still unregistered: the operator is warned',
      );
      await driver.settle();
      assert.equal(
        driver.runtime.enforcer!.decide({ clientAddress: '198.51.1.25', sender: 'x@spam0.example' }, 'RCPT')
          .action,
        'ACCEPT',
      );

      // A little more unregistered mail after the unblock is not enough: the old evidence was cleared.
      const trickle = messages(
        'acme',
        50,
        (i) => start + 12 * 60_000 + i * 1000,
        (i) => `late${i}.example`,
      );
      await publishAt(13, trickle);
      let acme = (await driver.blockEvents()).filter(
        (event) => event.tenantId === 'acme' && event.kind === 'BLOCKED',
      );
      assert.equal(acme.length, 1, 'no second block from old evidence');
      assert.equal((await admin.status('acme')).counters.unregistered, 50);

      // New evidence blocks again, under a new block id.
      const flood = messages(
        'acme',
        600,
        (i) => start + 20 * 60_000 + i * 500,
        (i) => `new${i % 100}.example`,
      );
      await publishAt(26, flood);
      acme = (await driver.blockEvents()).filter(
        (event) => event.tenantId === 'acme' && event.kind === 'BLOCKED',
      );
      assert.equal(acme.length, 2);
      assert.notEqual(acme[0]!.blocked!.blockId, acme[1]!.blocked!.blockId);
    });

    it('in monitor mode publishes the decision and enforces nothing', async () => {
      await onboard(driver, 'watched', 4, 'ONPREM');
      await driver.runtime.admin!.setPolicy(OPERATOR, 'watched', { mode: 'MONITOR' });
      await publishAt(
        10,
        messages(
          'watched',
          600,
          (i) => start + i * 600,
          (i) => `m${i % 120}.example`,
        ),
      );
      const blocks = (await driver.blockEvents()).filter((event) => event.tenantId === 'watched');
      assert.equal(blocks.length, 1);
      assert.equal(blocks[0]!.blocked!.mode, 'MONITOR');
      const answer = driver.runtime.enforcer!.decide(
        { clientAddress: '198.51.4.9', sender: 'x@m1.example' },
        'RCPT',
      );
      assert.deepEqual([answer.action, 'reason' in answer && answer.reason], ['ACCEPT', 'monitor-mode']);
      assert.equal((await driver.runtime.admin!.status('watched')).blocked, false);
    });
  });
}
