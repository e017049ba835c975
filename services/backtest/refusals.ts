// What one policy's blocks would have refused in a backtest, as the enforcer decides (core/decision.ts): each
// message of a tenant under a block is asked about before it is scored, and a refused one is never counted (the
// relay would not have relayed it, so the scorer would never have seen it). A record that says which messages are
// spam (a simulation's: `"spam": true`) splits the refusals into legitimate mail refused and spam let through, and
// times each spamming tenant's block from its first spam message.
import type { ValidMessage } from '../core/classify.js';
import { type DecisionDirectory, decide } from '../core/decision.js';
import type { ActiveBlock } from '../core/directory.js';

/** A spamming tenant: from its first spam message to the block that refused its spam. */
export interface SpamBlock {
  readonly tenantId: string;
  readonly firstSpamAt: number;
  /** When the block that first refused its spam was decided; null when none did. */
  readonly blockedAt: number | null;
  /** blockedAt - firstSpamAt; null when no block refused its spam. */
  readonly timeToBlockMs: number | null;
}

export interface RefusalReport {
  /** Messages the policy's blocks refused. */
  readonly refused: number;
  /** Null unless the record says which messages are spam. */
  readonly legitimateRefused: number | null;
  readonly spamRefused: number | null;
  /** Spam the relays would have relayed: sent before a block, or through a connector no block covered. */
  readonly spamLetThrough: number | null;
  /** Each tenant that sent spam, in tenant order. */
  readonly spamTenants: readonly SpamBlock[];
}

/** A tenant's block in force in the run, and its spam so far. */
export interface RefusalTrack {
  block: ActiveBlock | null;
  firstSpamAt: number | null;
  spamBlockedAt: number | null;
}

export function refusalTrack(): RefusalTrack {
  return { block: null, firstSpamAt: null, spamBlockedAt: null };
}

export class Refusals {
  readonly #acceptedDomains: Pick<DecisionDirectory, 'acceptedDomain' | 'isRegistered'>;
  #refused = 0;
  #legitimateRefused = 0;
  #spamRefused = 0;
  #spamRelayed = 0;
  #labelled = false;

  constructor(acceptedDomains: Pick<DecisionDirectory, 'acceptedDomain' | 'isRegistered'>) {
    this.#acceptedDomains = acceptedDomains;
  }

  /** Whether the tenant's block in force refuses the message; counts it either way. */
  refuses(track: RefusalTrack, message: ValidMessage, spam: boolean | null): boolean {
    if (spam !== null) this.#labelled = true;
    if (spam === true) track.firstSpamAt ??= message.occurredAt;
    const refused =
      track.block !== null &&
      decide(this.#directory(track), message.tenantId, message.senderDomain, message.connectorId).action ===
        'REJECT';
    if (refused) {
      this.#refused++;
      if (spam === false) this.#legitimateRefused++;
      if (spam === true) {
        this.#spamRefused++;
        track.spamBlockedAt ??= track.block!.blockedAt;
      }
    } else if (spam === true) this.#spamRelayed++;
    return refused;
  }

  /** What a decision reads: the backtest's accepted domains, and the tenant's block in this run. */
  #directory(track: RefusalTrack): DecisionDirectory {
    const domains = this.#acceptedDomains;
    return {
      acceptedDomain: (tenantId, domain) => domains.acceptedDomain(tenantId, domain),
      ...(domains.isRegistered && {
        isRegistered: (tenantId, domain) => domains.isRegistered!(tenantId, domain),
      }),
      tenant: () => track,
    };
  }

  report(tracks: ReadonlyMap<string, RefusalTrack>): RefusalReport {
    const labelled = this.#labelled;
    const spamTenants: SpamBlock[] = [];
    for (const [tenantId, track] of [...tracks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (track.firstSpamAt === null) continue;
      const blockedAt = track.spamBlockedAt;
      spamTenants.push({
        tenantId,
        firstSpamAt: track.firstSpamAt,
        blockedAt,
        timeToBlockMs: blockedAt === null ? null : blockedAt - track.firstSpamAt,
      });
    }
    return {
      refused: this.#refused,
      legitimateRefused: labelled ? this.#legitimateRefused : null,
      spamRefused: labelled ? this.#spamRefused : null,
      spamLetThrough: labelled ? this.#spamRelayed : null,
      spamTenants,
    };
  }
}
