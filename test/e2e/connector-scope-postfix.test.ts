// Connector-scoped blocks (issue #22) through a real Postfix on the production adapters (events through a real
// Apache Kafka broker in the Schema Registry's wire format, windows in a real Redis, blocks back to the enforcer
// through Kafka). A school relays through three connectors, each a loopback address: forwarding (students' mail
// forwarded to personal mailboxes, all of it from unregistered domains and allowed), its on-premises server, and a
// second on-premises server. The first server is compromised: its unregistered mail gets 550 5.7.750 while the
// forwarding keeps relaying. Then the spam moves to the second server: the block is widened to the school.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { wholeDirectory } from '../../services/app/runtime.js';
import type { TenantBlocked } from '../../services/core/contracts.generated.js';
import { metricValue } from '../support/enforcement.js';
import { OPERATOR } from '../support/pipeline-driver.js';
import { postfixAvailable } from '../support/postfix.js';
import {
  firstServerTenant,
  type PostfixRelay,
  SPAM_BURST,
  startPostfixRelay,
} from '../support/postfix-relay.js';
import { waitFor } from '../support/tether.js';

const SCHOOL = firstServerTenant('school');
/** The connectors, by the loopback address their relay sends from. */
const ONPREM = { connectorId: 'school-connector', address: '127.0.0.2' };
const FORWARDING = { connectorId: 'school-forwarding', address: '127.0.0.4' };
const ONPREM_2 = { connectorId: 'school-onprem-2', address: '127.0.0.5' };

const unavailable = await postfixAvailable();

describe('a connector-scoped block through Postfix (production adapters)', { skip: unavailable }, () => {
  let relay: PostfixRelay;

  const assertRelayed = async (clientAddress: string, from: string) => {
    const result = await relay.send(clientAddress, from);
    assert.match(result.rcptReply, /^250 /, result.transcript);
    assert.ok(result.queueId, result.transcript);
  };
  const assertRefused = async (clientAddress: string, from: string) => {
    const result = await relay.send(clientAddress, from);
    assert.match(result.rcptReply, /^550 5\.7\.750 /, result.transcript);
    assert.equal(result.queueId, undefined, 'not accepted');
  };
  const blockInForce = (predicate: (block: TenantBlocked) => boolean, description: string) =>
    waitFor(
      () => {
        const block = wholeDirectory(relay.harness.driver.runtime).tenant(SCHOOL.tenantId)?.block;
        return block && predicate(block) ? block : undefined;
      },
      { description },
    );

  before(async () => {
    relay = await startPostfixRelay({
      production: true,
      tenants: [SCHOOL],
      arrange: async (driver) => {
        for (const [{ connectorId, address }, relayPath] of [
          [FORWARDING, 'FORWARDED'],
          [ONPREM_2, 'ONPREM'],
        ] as const) {
          await driver.runtime.admin!.putConnector(OPERATOR, SCHOOL.tenantId, connectorId, {
            relayPath,
            senderIpRanges: [`${address}/32`],
            enabled: true,
          });
        }
      },
    });
  });
  after(() => relay?.stop());

  it('blocks only the compromised server: its unregistered mail gets 550 5.7.750, forwarding keeps relaying', async () => {
    for (let i = 0; i < 3; i++) await assertRelayed(FORWARDING.address, `student${i}@mailbox.example`);
    for (let i = 0; i < SPAM_BURST; i++) await assertRelayed(ONPREM.address, `promo@offers${i}.spam.example`);
    await relay.harness.driver.settle();
    const block = await blockInForce((b) => b.scope === 'CONNECTOR', 'the compromised server to be blocked');
    assert.deepEqual(block.connectorIds, [ONPREM.connectorId]);
    assert.match(block.scopeReason, /^connector school-connector carried 5 of 5 unregistered messages/);

    await assertRefused(ONPREM.address, 'promo@offers-late.spam.example');
    await assertRelayed(ONPREM.address, 'it@school.example');
    for (let i = 3; i < 6; i++) await assertRelayed(FORWARDING.address, `student${i}@mailbox.example`);
    await assertRelayed(ONPREM_2.address, 'promo@offers0.spam.example');
    const refusals = { stage: 'RCPT', scope: 'CONNECTOR' };
    assert.equal(await metricValue(relay.harness.driver, 'relayguard_block_refusals_total', refusals), 1);
  });

  it('widens the block to the school when the spam moves to its second server', async () => {
    const narrow = relay.harness.driver.runtime.directory.tenant(SCHOOL.tenantId)!.block!.blockId;
    for (let i = 1; i < SPAM_BURST; i++)
      await assertRelayed(ONPREM_2.address, `promo@offers${i}.spam.example`);
    await relay.harness.driver.settle();
    const wide = await blockInForce((b) => b.scope === 'TENANT', 'the block to be widened');
    assert.equal(wide.widenedFrom, narrow);
    assert.notEqual(wide.blockId, narrow);
    assert.match(wide.scopeReason, /^the flood moved/);

    await assertRefused(ONPREM_2.address, 'promo@offers-next.spam.example');
    await assertRefused(FORWARDING.address, 'student9@mailbox.example');
    await assertRelayed(FORWARDING.address, 'teacher@school.example');
  });
});
