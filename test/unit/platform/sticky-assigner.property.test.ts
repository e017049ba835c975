import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Assigner, AssignerProtocol, type Cluster, PartitionAssigners } from 'kafkajs';
import {
  type StickyMember,
  stickyAssignment,
  stickyPartitionAssigner,
} from '../../../services/platform/kafka/sticky-assigner.js';
import type { PartitionRef } from '../../../services/platform/ports.js';

const TOPIC = 'relayguard.message-submitted.v1';

type Owners = Map<number, string>;

function ownersOf(assignment: Map<string, Record<string, number[]>>, topic = TOPIC): Owners {
  const owners: Owners = new Map();
  for (const [memberId, topics] of assignment) {
    for (const partition of topics[topic] ?? []) {
      assert.ok(!owners.has(partition), `partition ${partition} assigned twice`);
      owners.set(partition, memberId);
    }
  }
  return owners;
}

function assertBalanced(assignment: Map<string, Record<string, number[]>>, partitions: number): void {
  const owners = ownersOf(assignment);
  assert.equal(owners.size, partitions, 'every partition has an owner');
  const counts = [...assignment.values()].map((topics) => topics[TOPIC]?.length ?? 0);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `unbalanced: ${counts.join(', ')}`);
}

/** One rebalance: each member says what it owned after the previous one (a joining member says nothing). */
function rebalance(partitions: number, previous: Owners, members: readonly string[]) {
  const claims: StickyMember[] = members.map((memberId) => ({
    memberId,
    topics: [TOPIC],
    previous: {
      [TOPIC]: [...previous].filter(([, owner]) => owner === memberId).map(([partition]) => partition),
    },
  }));
  return stickyAssignment({ [TOPIC]: Array.from({ length: partitions }, (_, i) => i) }, claims);
}

const membership = fc.record({
  partitions: fc.integer({ min: 1, max: 64 }),
  initial: fc.integer({ min: 1, max: 8 }),
  changes: fc.array(fc.oneof(fc.constant('join' as const), fc.nat({ max: 7 })), { maxLength: 20 }),
});

describe('sticky partition assigner', () => {
  it('balances within one partition whatever the members claim, and assigns every partition once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 20 }), {
          minLength: 1,
          maxLength: 9,
        }),
        (partitions, claims) => {
          const members = claims.map((claimed, i) => ({
            memberId: `m${i}`,
            topics: [TOPIC],
            previous: { [TOPIC]: claimed },
          }));
          const topics = { [TOPIC]: Array.from({ length: partitions }, (_, i) => i) };
          const assignment = stickyAssignment(topics, members);
          if (partitions > 0) assertBalanced(assignment, partitions);
          assert.deepEqual(stickyAssignment(topics, [...members].reverse()), assignment, 'deterministic');
        },
      ),
    );
  });

  it('over any membership history: a leaving member moves only its partitions, a joining one takes only its share', () => {
    fc.assert(
      fc.property(membership, ({ partitions, initial, changes }) => {
        let next = initial;
        let members = Array.from({ length: initial }, (_, i) => `m${i}`);
        let owners = ownersOf(rebalance(partitions, new Map(), members));
        for (const change of changes) {
          const before = owners;
          if (change === 'join') {
            const joined = `m${next++}`;
            members = [...members, joined];
            const assignment = rebalance(partitions, before, members);
            assertBalanced(assignment, partitions);
            owners = ownersOf(assignment);
            const moved = [...owners].filter(([partition, owner]) => before.get(partition) !== owner);
            assert.ok(
              moved.every(([, owner]) => owner === joined),
              'only the joining member gains',
            );
            assert.equal(moved.length, Math.floor(partitions / members.length), 'it takes only its share');
          } else {
            if (members.length === 1) continue;
            const left = members[change % members.length]!;
            members = members.filter((member) => member !== left);
            const assignment = rebalance(partitions, before, members);
            assertBalanced(assignment, partitions);
            owners = ownersOf(assignment);
            for (const [partition, owner] of before) {
              if (owner !== left) assert.equal(owners.get(partition), owner, `partition ${partition} moved`);
            }
          }
        }
      }),
    );
  });

  it('ignores claims on partitions that no longer exist and claims two members make', () => {
    const assignment = stickyAssignment({ [TOPIC]: [0, 1, 2, 3] }, [
      { memberId: 'a', topics: [TOPIC], previous: { [TOPIC]: [0, 1, 9] } },
      { memberId: 'b', topics: [TOPIC], previous: { [TOPIC]: [1, 2] } },
    ]);
    assert.deepEqual(assignment.get('a'), { [TOPIC]: [0, 1] });
    assert.deepEqual(assignment.get('b'), { [TOPIC]: [2, 3] });
  });
});

/** The kafkajs group protocol without a broker: each member's assigner, the leader's assign(), the decoding. */
class Group {
  readonly #partitions: number;
  readonly #members = new Map<string, { assigner: Assigner; owned: PartitionRef[] }>();
  readonly #makeAssigner: (owned: () => PartitionRef[]) => Assigner;

  constructor(partitions: number, sticky: boolean) {
    this.#partitions = partitions;
    const cluster = {
      findTopicPartitionMetadata: () =>
        Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })),
    } as unknown as Cluster;
    this.#makeAssigner = (owned) =>
      (sticky ? stickyPartitionAssigner(owned) : PartitionAssigners.roundRobin)({
        cluster,
        groupId: 'scorers',
        logger: undefined as never,
      });
  }

  join(memberId: string): void {
    const member = { owned: [] as PartitionRef[], assigner: undefined as unknown as Assigner };
    member.assigner = this.#makeAssigner(() => member.owned);
    this.#members.set(memberId, member);
  }

  leave(memberId: string): void {
    this.#members.delete(memberId);
  }

  async rebalance(): Promise<Owners> {
    const members = [...this.#members].map(([memberId, { assigner }]) => ({
      memberId,
      memberMetadata: assigner.protocol({ topics: [TOPIC] }).metadata,
    }));
    const leader = this.#members.values().next().value!.assigner;
    const owners: Owners = new Map();
    for (const { memberId, memberAssignment } of await leader.assign({ members, topics: [TOPIC] })) {
      const partitions = AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment[TOPIC] ?? [];
      this.#members.get(memberId)!.owned = partitions.map((partition) => ({ topic: TOPIC, partition }));
      for (const partition of partitions) owners.set(partition, memberId);
    }
    assert.equal(owners.size, this.#partitions);
    return owners;
  }
}

describe('sticky partition assigner through the kafkajs group protocol', () => {
  const restartMovesOnlyItsPartitions = async (sticky: boolean) => {
    const group = new Group(24, sticky);
    for (const member of ['scorer-a', 'scorer-b', 'scorer-c']) group.join(member);
    const before = await group.rebalance();
    // scorer-b restarts: it leaves the group (kafkajs sends LeaveGroup on disconnect), and the new process joins
    // under a new member id (the broker hands out a fresh one) with nothing to claim.
    group.leave('scorer-b');
    await group.rebalance();
    group.join('scorer-d');
    const after = await group.rebalance();
    const moved = [...before].filter(([partition, owner]) => after.get(partition) !== owner);
    return { before, after, moved };
  };

  it('a scorer restart moves only the restarted scorer partitions, and back to it', async () => {
    const { before, after, moved } = await restartMovesOnlyItsPartitions(true);
    assert.equal(moved.length, 8);
    for (const [partition, owner] of moved) {
      assert.equal(owner, 'scorer-b');
      assert.equal(after.get(partition), 'scorer-d');
    }
    assert.equal([...before.values()].filter((owner) => owner === 'scorer-b').length, 8);
  });

  it('kafkajs round robin, the default, moves partitions of scorers that never restarted', async () => {
    const { moved } = await restartMovesOnlyItsPartitions(false);
    assert.ok(
      moved.some(([, owner]) => owner !== 'scorer-b'),
      'round robin moved only the restarted member partitions',
    );
  });

  it('a member whose metadata cannot be read claims nothing and is still assigned its share', async () => {
    const cluster = {
      findTopicPartitionMetadata: () => [0, 1, 2, 3].map((partitionId) => ({ partitionId })),
    } as unknown as Cluster;
    const assigner = stickyPartitionAssigner(() => [])({ cluster, groupId: 'g', logger: undefined as never });
    const garbage = AssignerProtocol.MemberMetadata.encode({
      version: 1,
      topics: [TOPIC],
      userData: Buffer.from('{not json'),
    });
    const assignment = await assigner.assign({
      members: [
        { memberId: 'a', memberMetadata: garbage },
        { memberId: 'b', memberMetadata: assigner.protocol({ topics: [TOPIC] }).metadata },
      ],
      topics: [TOPIC],
    });
    const sizes = assignment.map(
      ({ memberAssignment }) =>
        AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment[TOPIC]?.length,
    );
    assert.deepEqual(sizes, [2, 2]);
  });
});
