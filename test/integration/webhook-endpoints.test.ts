// Webhook endpoints registered through the admin service, on the memory log with a real HTTP receiver on a
// loopback port: the deliverer (whose RELAYGUARD_WEBHOOKS is empty) posts to them as soon as they are registered,
// follows their changes and removal, and lets RELAYGUARD_WEBHOOKS take precedence; listing never shows a secret;
// every change is audited without it; the delivery log says where each delivery stands; replays deliver an
// endpoint's dead letters, or the changes since a time, again, in order per tenant.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { type Actor, ChangePublisher } from '../../services/admin/change-publisher.js';
import { startWebhookAdmin } from '../../services/admin/webhook-endpoints.js';
import type { AuditEvent, TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { isRelayguardError } from '../../services/core/errors.js';
import { Topics } from '../../services/core/topics.js';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import type { WebhookEndpoint } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { Metrics } from '../../services/platform/metrics.js';
import { WebhookDeliverer } from '../../services/webhooks/deliverer.js';
import { EndpointRegistry, startEndpointFeed } from '../../services/webhooks/endpoints.js';
import { blockedEvent, blockRecords, reblockId, unblockedEvent } from '../support/block-events.js';
import { cleanupStack, waitFor } from '../support/tether.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = `whsec-${randomUUID()}`;
const operator: Actor = { subject: 'op-anna', role: 'OPERATOR' };

async function harness(
  t: { after(fn: () => unknown): void },
  { allowPrivate = true, configured = [] as WebhookEndpoint[] } = {},
) {
  const defer = cleanupStack(t);
  const log = new MemoryEventLog({ clock: systemClock, partitions: 3 });
  defer(() => log.close());
  const codec = new EmbeddedCodec();
  const metrics = new Metrics({ processMetrics: false });
  const common = { log, codec, metrics, logger: silentLogger };
  const receiver = await startWebhookReceiver(SECRET);
  defer(() => receiver.stop());
  const withClock = { ...common, clock: systemClock, directory: new TenantDirectory() };
  const webhookAdmin = await startWebhookAdmin({
    ...withClock,
    publisher: new ChangePublisher(withClock),
    configured,
    allowPrivate,
  });
  defer(() => webhookAdmin.stop());
  await webhookAdmin.caughtUp;
  const { admin } = webhookAdmin;
  return {
    log,
    codec,
    receiver,
    admin,
    publish: async (...events: TenantBlockEvent[]) =>
      log.publish(Topics.tenantBlocks, await blockRecords(codec, events)),
    async deliverer(options: { endpoints?: WebhookEndpoint[]; maxAttempts?: number } = {}) {
      const deliverer = new WebhookDeliverer({
        ...common,
        endpoints: configured,
        allowPrivate,
        maxAttempts: 3,
        firstBackoffMs: 20,
        ...options,
      });
      defer(() => deliverer.close());
      await deliverer.start();
      return deliverer;
    },
    async audit(): Promise<AuditEvent[]> {
      return Promise.all(
        log.records(Topics.audit).map((record) => codec.decode(Topics.audit, record.value!)),
      );
    },
  };
}

const ids = (receiver: WebhookReceiver) =>
  receiver.received
    .filter((request) => request.status === 200)
    .map((request) => request.headers['idempotency-key']);

async function refusal(
  promise: Promise<unknown>,
): Promise<{ code: string; field?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isRelayguardError(error)) return { code: error.code, field: error.field, message: error.message };
    throw error;
  }
  assert.fail('the request was not refused');
}

describe('webhook endpoints registered through the admin service', () => {
  it('are delivered to once registered, follow their changes and removal, and are listed without the secret', async (t) => {
    const h = await harness(t);
    const deliverer = await h.deliverer();
    // The deliverer learns of each change from the topic, as a deliverer in another process would.
    const learned = (check: (endpoints: typeof deliverer.endpoints) => boolean, description: string) =>
      waitFor(() => check(deliverer.endpoints), { description: `the deliverer learning ${description}` });
    const created = await h.admin.create(operator, 'billing', { url: h.receiver.url, secret: SECRET });
    assert.deepEqual(
      { ...created, createdAt: 0, updatedAt: 0 },
      {
        id: 'billing',
        url: h.receiver.url,
        events: ['blocked', 'unblocked'],
        tenants: null,
        source: 'api',
        createdAt: 0,
        updatedAt: 0,
        updatedBy: 'op-anna',
      },
    );
    assert.ok(!JSON.stringify(h.admin.list()).includes(SECRET), 'the list shows the secret');
    await learned((endpoints) => endpoints.get('billing') !== undefined, 'the endpoint');
    await h.publish(blockedEvent('contoso', 'contoso#1'));
    await waitFor(() => ids(h.receiver).includes('contoso#1'), { description: 'the first delivery' });
    assert.ok(h.receiver.received.every((request) => request.verdict.valid));

    await h.admin.update(operator, 'billing', { tenants: ['fabrikam'], events: ['unblocked'] });
    await learned((endpoints) => endpoints.get('billing')?.tenants?.[0] === 'fabrikam', 'the update');
    const before = h.receiver.received.length;
    await h.publish(blockedEvent('contoso', 'contoso#2'), blockedEvent('fabrikam', 'fabrikam#1'));
    await h.publish(unblockedEvent('fabrikam', 'fabrikam#1'));
    await waitFor(() => ids(h.receiver).includes('fabrikam#1/unblock'), {
      description: 'the filtered unblock',
    });
    assert.deepEqual(
      h.receiver.received.slice(before).map((request) => request.headers['idempotency-key']),
      ['fabrikam#1/unblock'],
    );

    await h.admin.remove(operator, 'billing');
    assert.deepEqual(h.admin.list(), []);
    await h.admin.create(operator, 'sentinel', { url: h.receiver.url, secret: SECRET });
    await learned(
      (endpoints) => endpoints.get('billing') === undefined && endpoints.get('sentinel') !== undefined,
      'the removal',
    );
    const removedAt = h.receiver.received.length;
    await h.publish(blockedEvent('fabrikam', reblockId('fabrikam')));
    // The sentinel, registered after the removal, receives the change; the removed endpoint does not.
    await waitFor(() => h.receiver.received.length > removedAt, { description: 'the sentinel delivery' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(h.receiver.received.length, removedAt + 1);

    const audit = await h.audit();
    assert.deepEqual(
      audit.map((event) => [event.action, event.target, event.actor]),
      [
        ['webhook-endpoint.create', 'billing', 'op-anna'],
        ['webhook-endpoint.update', 'billing', 'op-anna'],
        ['webhook-endpoint.delete', 'billing', 'op-anna'],
        ['webhook-endpoint.create', 'sentinel', 'op-anna'],
      ],
    );
    assert.deepEqual(audit[1]!.details, {
      host: new URL(h.receiver.url).host,
      events: 'UNBLOCKED',
      tenants: 'fabrikam',
      changed: 'events,tenants',
    });
    assert.ok(!JSON.stringify(audit).includes(SECRET), 'the audit records carry the secret');
  });

  it('are materialized the same by a replica started later, compacted or not', async (t) => {
    const h = await harness(t);
    await h.admin.create(operator, 'billing', { url: h.receiver.url, secret: SECRET, tenants: ['contoso'] });
    await h.admin.create(operator, 'notify', { url: h.receiver.url, secret: SECRET, events: ['blocked'] });
    await h.admin.update(operator, 'notify', { url: `${h.receiver.url}/v2` });
    await h.admin.remove(operator, 'billing');
    const replicaOf = async (log: MemoryEventLog) => {
      const replica = new EndpointRegistry([]);
      const feed = await startEndpointFeed({
        log,
        codec: h.codec,
        metrics: new Metrics({ processMetrics: false }),
        logger: silentLogger,
        registry: replica,
      });
      t.after(() => feed.stop());
      await feed.caughtUp;
      return replica
        .all()
        .map((endpoint) => [endpoint.id, endpoint.url, endpoint.secret, endpoint.events, endpoint.tenants]);
    };
    const expected = [['notify', `${h.receiver.url}/v2`, SECRET, ['blocked'], undefined]];
    assert.deepEqual(await replicaOf(h.log), expected);

    // The removal ends in a tombstone: once compaction dropped the REMOVED event, the tombstone alone removes it.
    const records = h.log.records(Topics.webhookEndpoints);
    const latest = (key: string) => records.filter((record) => record.key === key).at(-1)!;
    assert.equal(latest('billing').value, null);
    const compacted = new MemoryEventLog({ clock: systemClock, partitions: 3 });
    t.after(() => compacted.close());
    const firstBilling = records.find((record) => record.key === 'billing')!;
    await compacted.publish(
      Topics.webhookEndpoints,
      [{ key: 'billing', value: firstBilling.value }, latest('billing'), latest('notify')].map((record) => ({
        key: record.key!,
        value: record.value,
      })),
    );
    assert.deepEqual(await replicaOf(compacted), expected);
  });

  it('refuse bad input in the API’s terms, private destinations, and ids taken or defined by RELAYGUARD_WEBHOOKS', async (t) => {
    const configured: WebhookEndpoint = {
      id: 'pinned',
      url: 'https://pinned.example/hook',
      secret: SECRET,
      events: ['blocked', 'unblocked'],
      tenants: undefined,
    };
    const h = await harness(t, { allowPrivate: false, configured: [configured] });
    // A public address: nothing is posted at registration, and no name lookup is needed.
    const input = { url: 'https://93.184.215.14/relayguard', secret: SECRET };
    assert.deepEqual(await refusal(h.admin.create(operator, 'loopback', { ...input, url: h.receiver.url })), {
      code: 'INVALID_FIELD',
      field: 'url',
      message:
        'url: 127.0.0.1 resolves to 127.0.0.1 (loopback), not a public address; webhooks go to public addresses unless RELAYGUARD_WEBHOOK_ALLOW_PRIVATE=true',
    });
    for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[::1]:8080/']) {
      assert.equal((await refusal(h.admin.create(operator, 'private', { ...input, url }))).field, 'url', url);
    }
    assert.match(
      (await refusal(h.admin.create(operator, 'ftp', { ...input, url: 'ftp://hooks.example/' }))).message,
      /http:\/\/ or https:\/\//,
    );
    assert.match(
      (await refusal(h.admin.create(operator, 'creds', { ...input, url: 'https://user:pw@hooks.example/' })))
        .message,
      /no user or password/,
    );
    const short = await refusal(h.admin.create(operator, 'short', { ...input, secret: 'abc' }));
    assert.deepEqual([short.code, short.field], ['INVALID_FIELD', 'secret']);
    assert.ok(!short.message.includes('abc'));
    assert.deepEqual(await refusal(h.admin.create(operator, 'pinned', input)), {
      code: 'ENDPOINT_CONFLICT',
      field: 'id',
      message:
        'webhook endpoint pinned is defined by RELAYGUARD_WEBHOOKS, which takes precedence: change it there, or register another id',
    });
    assert.equal((await refusal(h.admin.remove(operator, 'pinned'))).code, 'ENDPOINT_CONFLICT');
    assert.equal((await refusal(h.admin.update(operator, 'nowhere', { secret: SECRET }))).code, 'NOT_FOUND');
    assert.equal((await refusal(h.admin.remove(operator, 'nowhere'))).code, 'NOT_FOUND');
    // Nothing refused was published.
    assert.deepEqual(h.log.records(Topics.webhookEndpoints), []);
    assert.deepEqual(
      h.admin.list().map((view) => [view.id, view.source]),
      [['pinned', 'environment']],
    );
  });

  it('let RELAYGUARD_WEBHOOKS take precedence over a registered endpoint of the same id', async (t) => {
    const h = await harness(t);
    await h.admin.create(operator, 'billing', { url: `${h.receiver.url}/registered`, secret: SECRET });
    const pinned = {
      id: 'billing',
      url: `${h.receiver.url}/pinned`,
      secret: SECRET,
      events: ['blocked' as const],
      tenants: undefined,
    };
    await h.deliverer({ endpoints: [pinned] });
    await h.publish(blockedEvent('contoso', 'contoso#1'));
    await waitFor(() => h.receiver.received.length === 1, { description: 'the delivery' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(h.receiver.received.length, 1);
  });
});

describe('the webhook delivery log and replays', () => {
  it('show each delivery’s attempts, status and last error, and replay the dead letters in order', async (t) => {
    const h = await harness(t);
    await h.admin.create(operator, 'billing', { url: h.receiver.url, secret: SECRET });
    await h.deliverer({ maxAttempts: 2 });
    h.receiver.answer = () => 503;
    const events = [
      blockedEvent('contoso', 'contoso#1'),
      blockedEvent('fabrikam', 'fabrikam#1'),
      unblockedEvent('contoso', 'contoso#1'),
    ];
    await h.publish(...events);
    await waitFor(() => h.log.records(Topics.webhooksDlq).length === 3, {
      description: 'three dead letters',
    });
    await waitFor(() => h.admin.deliveries('billing', 10).deliveries.length === 3, {
      description: 'the log',
    });
    const page = h.admin.deliveries('billing', 10);
    assert.equal(page.caughtUp, true);
    assert.deepEqual(
      page.deliveries.map((d) => [d.eventId, d.status, d.attempts, d.lastError, d.replayId]).sort(),
      [
        ['contoso#1', 'DEAD_LETTERED', 2, 'the receiver answered 503', null],
        ['contoso#1/unblock', 'DEAD_LETTERED', 2, 'the receiver answered 503', null],
        ['fabrikam#1', 'DEAD_LETTERED', 2, 'the receiver answered 503', null],
      ],
    );

    h.receiver.answer = () => 200;
    const result = await h.admin.replay(operator, 'billing', {
      from: 'dead-letters',
      since: null,
      tenantId: null,
    });
    assert.equal(result.events, 3);
    await waitFor(() => ids(h.receiver).length === 3, { description: 'three replayed deliveries' });
    const contoso = ids(h.receiver).filter((id) => String(id).startsWith('contoso'));
    assert.deepEqual(contoso, ['contoso#1', 'contoso#1/unblock']);
    assert.ok(h.receiver.received.every((request) => request.verdict.valid));
    await waitFor(
      () => h.admin.deliveries('billing', 10).deliveries.filter((d) => d.status === 'DELIVERED').length === 3,
      { description: 'the replayed deliveries in the log' },
    );
    const replayed = h.admin.deliveries('billing', 10).deliveries.filter((d) => d.status === 'DELIVERED');
    assert.ok(replayed.every((d) => d.replayId === result.replayId && d.attempts === 1));
    const audit = (await h.audit()).at(-1)!;
    assert.deepEqual([audit.action, audit.target, audit.details.events], ['webhook.replay', 'billing', '3']);

    // One tenant's dead letters only.
    const one = await h.admin.replay(operator, 'billing', {
      from: 'dead-letters',
      since: null,
      tenantId: 'fabrikam',
    });
    assert.equal(one.events, 1);
  });

  it('replays the changes the endpoint receives since a time, as the deliverer delivered them', async (t) => {
    const h = await harness(t);
    const hour = 3_600_000;
    const at = Date.UTC(2026, 11, 1, 9);
    await h.publish(
      blockedEvent('contoso', 'contoso#1', { at }),
      blockedEvent('contoso', 'contoso#1', { at }), // a duplicate publish: delivered once
      blockedEvent('fabrikam', 'fabrikam#1', { at: at + hour }),
      unblockedEvent('fabrikam', 'fabrikam#1', { at: at + 2 * hour }),
      blockedEvent('tailspin', 'tailspin#1', { at: at + 3 * hour }),
    );
    // The endpoint is registered after the changes were delivered (to no endpoint): only a replay sends them.
    const deliverer = await h.deliverer();
    await deliverer.ready;
    await h.admin.create(operator, 'billing', {
      url: h.receiver.url,
      secret: SECRET,
      tenants: ['contoso', 'fabrikam'],
    });
    const result = await h.admin.replay(operator, 'billing', {
      from: 'block-events',
      since: at,
      tenantId: null,
    });
    assert.equal(result.events, 3);
    await waitFor(() => ids(h.receiver).length === 3, { description: 'the replayed changes' });
    assert.deepEqual(ids(h.receiver).sort(), ['contoso#1', 'fabrikam#1', 'fabrikam#1/unblock']);
    assert.deepEqual(
      ids(h.receiver).filter((id) => String(id).startsWith('fabrikam')),
      ['fabrikam#1', 'fabrikam#1/unblock'],
    );

    const later = await h.admin.replay(operator, 'billing', {
      from: 'block-events',
      since: at + hour + 1,
      tenantId: null,
    });
    assert.equal(later.events, 1, 'only the unblock is at or after the time');
    assert.equal(
      (
        await refusal(
          h.admin.replay(operator, 'nowhere', { from: 'dead-letters', since: null, tenantId: null }),
        )
      ).code,
      'NOT_FOUND',
    );
  });
});
