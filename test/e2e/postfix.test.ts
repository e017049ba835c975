// A real Postfix from Debian, configured with deploy/postfix/main.cf, asks relayguard's policy server (embedded
// in this process, in front of the whole pipeline) about mail that swaks sends from different loopback
// addresses — each address is a different tenant's on-premises server. A tenant whose server relays
// unregistered-domain mail gets blocked; Postfix then rejects exactly its unregistered mail. Twice: on the
// embedded adapters, and on the production ones (events through a real Apache Kafka broker, in the
// Schema Registry's wire format, windows in a real Redis, the block back to the enforcer through Kafka).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { wholeDirectory } from '../../services/app/runtime.js';
import { PostfixLogParser } from '../../services/backtest/postfix-log.js';
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { readTopic } from '../support/enforcement.js';
import { type Postfix, postfixAvailable } from '../support/postfix.js';
import {
  firstServerTenant,
  type PostfixRelay,
  SPAM_BURST,
  startPostfixRelay,
} from '../support/postfix-relay.js';
import { waitFor } from '../support/tether.js';

const BLOCK_TEXT = 'Service unavailable. Client blocked from sending from unregistered domains';

const COMPROMISED = firstServerTenant('contoso');
const NEIGHBOUR = { tenantId: 'fabrikam', acceptedDomain: 'fabrikam.example', senderIpRange: '127.0.0.3/32' };

/** How events name the relay: Postfix's myhostname, sent as policy_context, beside the address it asks from. */
const relayName = (postfix: Postfix) => `${postfix.hostname}[127.0.0.1]`;

const unavailable = await postfixAvailable();

for (const adapters of ['embedded', 'production'] as const) {
  describe(`Postfix relay enforced by relayguard (${adapters} adapters)`, { skip: unavailable }, () => {
    let relay: PostfixRelay;
    /** Queue ids of the messages Postfix accepted, by the tenant that sent them (null: no tenant). */
    const accepted: { tenantId: string | null; queueId: string; senderDomain: string }[] = [];

    const send = async (clientAddress: string, from: string) => {
      const result = await relay.send(clientAddress, from);
      const tenantId =
        clientAddress === '127.0.0.2'
          ? COMPROMISED.tenantId
          : clientAddress === '127.0.0.3'
            ? NEIGHBOUR.tenantId
            : null;
      if (result.queueId)
        accepted.push({ tenantId, queueId: result.queueId, senderDomain: from.split('@')[1]! });
      return result;
    };

    before(async () => {
      relay = await startPostfixRelay({
        production: adapters === 'production',
        tenants: [COMPROMISED, NEIGHBOUR],
      });
    });
    after(() => relay?.stop());

    it('accepts the unregistered mail of a tenant under its threshold, then blocks the tenant', async () => {
      for (let i = 0; i < SPAM_BURST; i++) {
        const result = await send('127.0.0.2', `promo@offers${i}.spam.example`);
        assert.match(result.rcptReply, /^250 /, result.transcript);
        assert.ok(result.queueId, result.transcript);
      }
      await relay.harness.driver.settle();
      const block = await waitFor(
        () => wholeDirectory(relay.harness.driver.runtime).tenant(COMPROMISED.tenantId)?.block,
        {
          description: 'the compromised tenant to be blocked',
        },
      );
      assert.equal(block.mode, 'ENFORCE');
      assert.equal(block.evidence.unregistered, SPAM_BURST);
      assert.deepEqual(
        block.evidence.connectors.map((c) => c.connectorId),
        ['contoso-connector'],
      );
    });

    it("rejects the blocked tenant's unregistered mail with 550 5.7.750 and relayguard's text", async () => {
      for (const from of ['promo@offers-late.spam.example', 'x@[192.0.2.1]']) {
        const result = await send('127.0.0.2', from);
        // Postfix quotes a policy server's reject as "<recipient>: Recipient address rejected: <text>".
        assert.match(result.rcptReply, /^550 5\.7\.750 /, result.transcript);
        assert.ok(result.rcptReply.endsWith(`Recipient address rejected: ${BLOCK_TEXT}`), result.rcptReply);
        assert.equal(result.queueId, undefined, 'not accepted');
      }
      const log = await relay.postfix.readLog();
      assert.match(
        log,
        new RegExp(`reject: RCPT from unknown\\[127\\.0\\.0\\.2\\]: 550 5\\.7\\.750 .*${BLOCK_TEXT}`),
      );
    });

    it('accepts the blocked tenant registered-domain mail', async () => {
      for (const from of ['it@contoso.example', 'alerts@mail.contoso.example']) {
        const result = await send('127.0.0.2', from);
        assert.match(result.rcptReply, /^250 /, result.transcript);
        assert.ok(result.queueId, result.transcript);
      }
    });

    it("accepts other tenants' mail, and mail from clients that are no tenant's", async () => {
      for (const [client, from] of [
        ['127.0.0.3', 'newsletter@partner.example'],
        ['127.0.0.3', 'ceo@fabrikam.example'],
        ['127.0.0.9', 'promo@offers-late.spam.example'],
      ] as const) {
        const result = await send(client, from);
        assert.match(result.rcptReply, /^250 /, result.transcript);
        assert.ok(result.queueId, result.transcript);
      }
    });

    it('published one event per accepted message at END-OF-MESSAGE, exactly the ones the scorer counted', async () => {
      await relay.harness.driver.settle();
      const events = await readTopic(relay.harness.driver, Topics.messageSubmitted);
      const expected = accepted.filter((message) => message.tenantId !== null);
      assert.deepEqual(
        events.map((event) => [event.eventId, event.tenantId, event.envelopeSenderDomain]).sort(),
        expected
          .map((message) => [
            `${relayName(relay.postfix)}/${message.queueId}`,
            message.tenantId,
            message.senderDomain,
          ])
          .sort(),
      );
      for (const event of events) {
        assert.equal(event.queueId, event.eventId.split('/')[1]);
        assert.equal(event.relayHost, relayName(relay.postfix));
        assert.equal(event.recipientCount, 1);
        assert.ok(event.sizeBytes > 0);
        assert.equal(
          event.clientAddress,
          event.tenantId === COMPROMISED.tenantId ? '127.0.0.2' : '127.0.0.3',
        );
      }

      const admin = relay.harness.driver.runtime.admin!;
      for (const tenant of [COMPROMISED, NEIGHBOUR]) {
        const mine = events.filter((event) => event.tenantId === tenant.tenantId);
        const unregistered = mine.filter(
          (event) => !event.envelopeSenderDomain?.endsWith(tenant.acceptedDomain),
        );
        const { counters } = await admin.status(tenant.tenantId);
        assert.equal(counters.total, mine.length, `${tenant.tenantId}: T`);
        assert.equal(counters.unregistered, unregistered.length, `${tenant.tenantId}: U`);
      }

      // Postfix delivered (to its discard sink) exactly the messages it accepted. Its queue manager delivers after
      // the SMTP session ends, so the last delivery can reach the log a moment after the last reply.
      const delivered = (log: string, queueId: string) =>
        new RegExp(
          `${queueId}: to=<recipient@external\\.example>.*status=sent \\(relayguard test sink\\)`,
        ).test(log);
      await waitFor(
        async () => {
          const log = await relay.postfix.readLog();
          return accepted.every(({ queueId }) => delivered(log, queueId));
        },
        { timeoutMs: 30_000, description: 'every accepted message delivered to the sink in the mail log' },
      );
      const log = await relay.postfix.readLog();

      // The backtest reads the same messages out of Postfix's own log as the policy server published live.
      const enforcer = relay.harness.driver.runtime.enforcer!;
      const parser = new PostfixLogParser({
        resolve: (address) => {
          const client = enforcer.resolve({ clientAddress: address });
          return client?.connector
            ? {
                tenantId: client.tenantId,
                connectorId: client.connector.connectorId,
                relayPath: client.connector.relayPath,
              }
            : undefined;
        },
        year: new Date().getFullYear(),
        syslogZone: 'local',
      });
      const fromLog = log.split('\n').flatMap((line) => parser.line(line) ?? []);
      // Every field but what the log words differently: the host (the log names it by the first label of
      // myhostname, so ids are `<label>/<queue id>`; the enforcer adds the address Postfix asked from), the size (qmgr counts the queue file, with the Received:
      // header Postfix added) and the time (the log's clock is the real one, the pipeline's a test clock).
      const label = relay.postfix.hostname.split('.')[0]!;
      const fields = ({ sizeBytes: _, occurredAt: __, eventId, relayHost, ...event }: MessageSubmitted) => ({
        ...event,
        eventId: eventId.replace(`${relayName(relay.postfix)}/`, `${label}/`),
        relayHost: relayHost === relayName(relay.postfix) ? label : relayHost,
      });
      const byId = (a: MessageSubmitted, b: MessageSubmitted) => (a.eventId < b.eventId ? -1 : 1);
      const published = [...events].sort(byId);
      const parsed = fromLog.sort(byId);
      assert.deepEqual(parsed.map(fields), published.map(fields));
      parsed.forEach((event, i) => {
        assert.ok(
          event.sizeBytes >= published[i]!.sizeBytes,
          `${event.eventId}: the queue file holds the message`,
        );
      });
      const stats = parser.finish();
      assert.equal(stats.problems['unresolved-client'].count, 1, "127.0.0.9 is no tenant's");
    });
  });
}
