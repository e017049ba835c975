// The example tenant notifier (examples/tenant-notifier) on the memory event log: live blocks and unblocks are
// notified once each, with the evidence; history and tenants without a contact are not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Notification, startTenantNotifier } from '../../../examples/tenant-notifier/notifier.js';
import { Topics } from '../../../services/core/topics.js';
import { systemClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { BlockSubscriber } from '../../../services/sdk/subscriber/index.js';
import { blockedEvent, blockRecords, reblockId, unblockedEvent } from '../../support/block-events.js';
import { waitFor } from '../../support/tether.js';

describe('example: tenant notifier', () => {
  it('notifies live blocks and unblocks once, with the evidence, and skips the history', async (t) => {
    const log = new MemoryEventLog({ clock: systemClock });
    const codec = new EmbeddedCodec();
    const publish = async (...events: Parameters<typeof blockRecords>[1]) =>
      log.publish(Topics.tenantBlocks, await blockRecords(codec, events));
    const subscriber = new BlockSubscriber({ log, codec });
    t.after(async () => {
      await subscriber.close();
      await log.close();
    });
    const sent: Notification[] = [];
    let failures = 1;
    startTenantNotifier({
      subscriber,
      contactOf: (tenantId) =>
        ({ contoso: 'it@contoso.example', fabrikam: 'ops@fabrikam.example' })[tenantId],
      send: async (notification) => {
        // The mail API fails once: the change is delivered again and notified then.
        if (failures-- > 0) throw new Error('mail API unavailable');
        sent.push(notification);
      },
    });

    await publish(blockedEvent('fabrikam', 'fabrikam#1'));
    await subscriber.start();
    await subscriber.ready;
    await publish(
      blockedEvent('contoso', 'contoso#1'),
      blockedEvent('contoso', 'contoso#1'),
      blockedEvent('tailspin', 'tailspin#1'),
      unblockedEvent('contoso', 'contoso#1'),
      blockedEvent('contoso', reblockId('contoso')),
    );
    await waitFor(() => subscriber.block('contoso')?.blockId === reblockId('contoso') && sent.length === 3, {
      description: 'three notifications',
    });
    assert.deepEqual(
      sent.map((notification) => [notification.to, notification.subject]),
      [
        ['it@contoso.example', 'contoso is blocked from sending from unregistered domains'],
        ['it@contoso.example', 'Mail from unregistered domains is flowing again for contoso'],
        ['it@contoso.example', 'contoso is blocked from sending from unregistered domains'],
      ],
    );
    assert.match(sent[0]!.text, /620 of 900 messages came from 12 domains/);
    assert.match(sent[0]!.text, /most from spam\.example/);
    assert.match(sent[1]!.text, /ticket SUP-42/);
  });
});
