// A sticky partition assigner for kafkajs consumer groups. kafkajs ships only the eager round-robin assigner,
// which deals every partition out again on any membership change: one scorer restart moves nearly every
// partition, and every scorer reloads the windows of tenants it did not own. This one keeps each member's
// previous partitions (each member sends them in its join metadata, userData, as KIP-54's StickyAssignor does)
// and moves only what balance requires: a member that leaves gives up only its own partitions, a member that
// joins takes only its share, from the members above theirs. Each member lists its partitions oldest first and
// a member over its quota gives up the newest: after a restart (leave, then join again) the partitions the
// others took over in between go back to the restarted member, and theirs stay put. The protocol is still eager
// (every member stops during the rebalance), but what each member owns afterwards is what it owned before.
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';
import type { PartitionRef } from '../ports.js';

/** Partitions per topic. */
export type TopicPartitions = Readonly<Record<string, readonly number[]>>;

export interface StickyMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** What the member owned before this rebalance, as it says: per topic, the partitions it has owned longest first. */
  readonly previous: TopicPartitions;
}

export const STICKY_ASSIGNER_NAME = 'RelayguardStickyAssigner';
const VERSION = 1;

/**
 * Assigns every partition of each topic to one of its subscribed members, balanced per topic (member counts
 * differ by at most one) and moving as few partitions as that allows. A partition two members both claim (one
 * missed a rebalance and still names what it lost) is kept by neither and dealt out afresh. Deterministic:
 * the same input gives the same assignment on whichever member leads the group.
 */
export function stickyAssignment(
  partitionsByTopic: TopicPartitions,
  members: readonly StickyMember[],
): Map<string, Record<string, number[]>> {
  const result = new Map<string, Record<string, number[]>>(members.map(({ memberId }) => [memberId, {}]));
  for (const [topic, partitions] of Object.entries(partitionsByTopic)) {
    const subscribed = members.filter((member) => member.topics.includes(topic));
    if (subscribed.length === 0) continue;
    for (const [memberId, owned] of assignTopic(partitions, subscribed, topic)) {
      if (owned.length > 0) result.get(memberId)![topic] = owned;
    }
  }
  return result;
}

function assignTopic(
  partitions: readonly number[],
  members: readonly StickyMember[],
  topic: string,
): Map<string, number[]> {
  const exists = new Set(partitions);
  const claimants = new Map<number, number>();
  for (const member of members) {
    for (const partition of new Set(member.previous[topic] ?? [])) {
      claimants.set(partition, (claimants.get(partition) ?? 0) + 1);
    }
  }
  const claims = new Map(
    members.map((member) => [
      member.memberId,
      [...new Set(member.previous[topic] ?? [])].filter(
        (partition) => exists.has(partition) && claimants.get(partition) === 1,
      ),
    ]),
  );
  // The members that keep the most get the larger quotas, so nobody gives up a partition another must take.
  const order = [...members].sort(
    (a, b) =>
      claims.get(b.memberId)!.length - claims.get(a.memberId)!.length || compare(a.memberId, b.memberId),
  );
  const base = Math.floor(partitions.length / members.length);
  const larger = partitions.length % members.length;
  const owned = new Map<string, number[]>();
  const kept = new Set<number>();
  order.forEach((member, rank) => {
    const quota = base + (rank < larger ? 1 : 0);
    const keep = claims.get(member.memberId)!.slice(0, quota);
    for (const partition of keep) kept.add(partition);
    owned.set(member.memberId, keep);
  });
  const free = [...partitions].filter((partition) => !kept.has(partition)).sort((a, b) => a - b);
  order.forEach((member, rank) => {
    const quota = base + (rank < larger ? 1 : 0);
    const mine = owned.get(member.memberId)!;
    mine.push(...free.splice(0, quota - mine.length));
    mine.sort((a, b) => a - b);
  });
  return owned;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What a member's userData says it owned; anything unreadable claims nothing (the member is dealt afresh). */
export function decodePrevious(userData: Buffer | null | undefined): TopicPartitions {
  if (!userData || userData.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(userData.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const previous: Record<string, number[]> = {};
    for (const [topic, partitions] of Object.entries(parsed)) {
      if (Array.isArray(partitions) && partitions.every((p) => Number.isInteger(p) && p >= 0))
        previous[topic] = partitions as number[];
    }
    return previous;
  } catch {
    return {};
  }
}

/**
 * The kafkajs assigner, one per consumer. `owned` tells what this member owns now (the adapter's view after its
 * last join); it is sent with every join, longest owned first, so that whichever member leads can keep it.
 */
export function stickyPartitionAssigner(owned: () => Iterable<PartitionRef>): PartitionAssigner {
  // The join at which this member first reported each partition it still owns.
  const since = new Map<string, number>();
  let joins = 0;
  const byTenure = (): TopicPartitions => {
    joins++;
    const current = new Map([...owned()].map((ref) => [`${ref.topic}:${ref.partition}`, ref]));
    for (const key of since.keys()) if (!current.has(key)) since.delete(key);
    for (const key of current.keys()) if (!since.has(key)) since.set(key, joins);
    const previous: Record<string, number[]> = {};
    const oldestFirst = [...current].sort(
      ([a, x], [b, y]) => since.get(a)! - since.get(b)! || x.partition - y.partition,
    );
    for (const [, { topic, partition }] of oldestFirst) {
      previous[topic] ??= [];
      previous[topic].push(partition);
    }
    return previous;
  };
  return ({ cluster }) => ({
    name: STICKY_ASSIGNER_NAME,
    version: VERSION,
    async assign({ members, topics }) {
      const partitionsByTopic = Object.fromEntries(
        topics.map((topic) => [
          topic,
          cluster.findTopicPartitionMetadata(topic).map(({ partitionId }) => partitionId),
        ]),
      );
      const assignment = stickyAssignment(
        partitionsByTopic,
        members.map(({ memberId, memberMetadata }) => {
          const metadata = AssignerProtocol.MemberMetadata.decode(memberMetadata);
          return {
            memberId,
            topics: metadata?.topics ?? [],
            previous: decodePrevious(metadata?.userData),
          };
        }),
      );
      return [...assignment].map(([memberId, partitions]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: VERSION,
          assignment: partitions,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: STICKY_ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: Buffer.from(JSON.stringify(byTenure())),
        }),
      };
    },
  });
}
