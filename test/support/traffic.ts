// Recorded-traffic fixtures for backtests: a few tenants whose stories are known (a volume spammer, a
// many-domains spammer, one that comes close without crossing, a forwarder, quiet ones), minute by minute.
import type { TenantsFile } from '../../services/backtest/tenants-file.js';
import type { MessageSubmitted, RelayPath } from '../../services/core/contracts.generated.js';
import { messageSubmitted, seededRandom } from './builders.js';

export interface TenantStory {
  readonly tenantId: string;
  readonly relayPath: RelayPath;
  /** Registered messages a minute. */
  readonly registered: number;
  /** Unregistered messages a minute, from `domains` distinct domains, from minute `from` on. */
  readonly unregistered: number;
  readonly domains: number;
  readonly from: number;
}

export const STORIES: readonly TenantStory[] = [
  // U reaches 500 about 17 minutes after minute 40 (30 a minute), U/T far above 0.25.
  { tenantId: 'volume', relayPath: 'ONPREM', registered: 10, unregistered: 30, domains: 20, from: 40 },
  // A new domain on every message: D >= 50 and U >= 100 about 9 minutes after minute 30.
  { tenantId: 'domains', relayPath: 'ONPREM', registered: 10, unregistered: 12, domains: 100_000, from: 30 },
  // 7 a minute for the whole run: U levels off at 420 (84% of 500), D at 30: close, never over.
  { tenantId: 'near', relayPath: 'ONPREM', registered: 10, unregistered: 7, domains: 30, from: 0 },
  // Forwarding is allowed (weight 0): never blocked however much.
  { tenantId: 'forwarder', relayPath: 'FORWARDED', registered: 5, unregistered: 40, domains: 500, from: 0 },
  { tenantId: 'quiet-1', relayPath: 'ONPREM', registered: 20, unregistered: 1, domains: 3, from: 0 },
  { tenantId: 'quiet-2', relayPath: 'APPLICATION', registered: 8, unregistered: 0, domains: 1, from: 0 },
];

export function tenantsOf(stories: readonly TenantStory[]): TenantsFile {
  return {
    tenants: stories.map((story, i) => ({
      tenantId: story.tenantId,
      acceptedDomains: [{ domain: `${story.tenantId}.example`, matchSubdomains: true }],
      connectors: [
        {
          connectorId: `${story.tenantId}-connector`,
          relayPath: story.relayPath,
          senderIpRanges: [`198.51.${i}.0/24`],
        },
      ],
    })),
  };
}

/** Every tenant's messages for `minutes` minutes from `start`, spread over each minute, in time order. */
export function trafficOf(
  stories: readonly TenantStory[],
  start: number,
  minutes: number,
  seed = 1,
): MessageSubmitted[] {
  const random = seededRandom(seed);
  const events: MessageSubmitted[] = [];
  let unique = 0;
  for (let minute = 0; minute < minutes; minute++) {
    for (const story of stories) {
      const spam = minute >= story.from ? story.unregistered : 0;
      for (let i = 0; i < story.registered + spam; i++) {
        const domain =
          i < story.registered
            ? `mail.${story.tenantId}.example`
            : `d${story.domains > 10_000 ? unique++ : Math.floor(random() * story.domains)}-${story.tenantId}.example`;
        events.push(
          messageSubmitted({
            tenantId: story.tenantId,
            occurredAt: start + minute * 60_000 + Math.floor(random() * 60_000),
            envelopeSenderDomain: domain,
            relayPath: story.relayPath,
            connectorId: `${story.tenantId}-connector`,
          }),
        );
      }
    }
  }
  return events.sort((a, b) => a.occurredAt - b.occurredAt);
}
