// Fault-matrix rows on three real Apache Kafka KRaft nodes (combined controller+broker, replication 3,
// min.insync.replicas 2), for faults of the group and the quorum that librdkafka's mock cluster only imitates:
// the group coordinator's node killed while the group rebalances, the quorum's leader (the active controller)
// killed, and three scorer processes sharing the partitions with one killed. Each row checks that its fault
// happened as described, and does not complete when it did not.
import type { Admin } from 'kafkajs';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { type KafkaCluster, type KafkaNode, quorumLeader, withKafkaAdmin } from '../support/kafka-broker.js';
import { waitFor } from '../support/tether.js';
import { type ChaosStack, caughtUp, realKafka } from './harness.js';
import { type Scenario, sleep } from './scenarios.js';

/** offsets.topic.num.partitions of the test cluster (test/support/kafka-broker.ts). */
const OFFSETS_PARTITIONS = 5;
/** How long a killed node stays down: its leaderships move, and the ISR shrinks to two. */
const DOWN_MS = 10_000;

function nodeOf(cluster: KafkaCluster, id: number): KafkaNode {
  const node = cluster.nodes.find((candidate) => candidate.id === id);
  if (!node) throw new Error(`no node ${id} in the cluster`);
  return node;
}

/** Java's String.hashCode, which Kafka hashes a group id with. */
function javaHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * The group's coordinator: the leader of the __consumer_offsets partition the group id hashes to
 * (`Utils.abs(groupId.hashCode) % offsets.topic.num.partitions`, as Kafka's group coordinator places it).
 */
async function groupCoordinator(admin: Admin, groupId: string): Promise<number> {
  const hash = javaHashCode(groupId);
  const partition = (hash === -2147483648 ? 0 : Math.abs(hash)) % OFFSETS_PARTITIONS;
  const { topics } = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
  const leader = topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
  if (leader === undefined || leader < 0)
    throw new Error(`__consumer_offsets partition ${partition} has no leader`);
  return leader;
}

async function groupState(admin: Admin): Promise<{ state: string; members: number }> {
  const [group] = (await admin.describeGroups([SCORER_GROUP])).groups;
  return { state: group?.state ?? 'Unknown', members: group?.members.length ?? 0 };
}

/** Waits until the node is back in every ISR of relayguard's topics (the cluster whole again). */
async function isrWhole(admin: Admin, stack: ChaosStack): Promise<void> {
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith('relayguard.'));
  await waitFor(
    async () =>
      (await admin.fetchTopicMetadata({ topics })).topics.every((topic) =>
        topic.partitions.every((partition) => partition.isr.length === 3),
      ),
    { timeoutMs: 60_000, description: `every ISR back to three (${stack.env.KAFKA_BROKERS})` },
  );
}

/**
 * A second scorer joins; while the group rebalances (PreparingRebalance or CompletingRebalance, seen by
 * DescribeGroups), the node coordinating the group is SIGKILLed: the members must find the new coordinator (the
 * __consumer_offsets partition's new leader) and finish the rebalance there. Restarted 10 s later.
 */
export const coordinatorKilledMidRebalance = (events = 15_000): Scenario => ({
  name: 'group coordinator SIGKILLed mid-rebalance, restarted (3 real brokers)',
  stack: { realKafka: true },
  events,
  async inject({ stack, services }) {
    const cluster = realKafka(stack);
    return withKafkaAdmin(cluster, async (admin) => {
      await sleep(2_000);
      const second = services.add('scorer');
      await second.start();
      await waitFor(
        async () => ['PreparingRebalance', 'CompletingRebalance'].includes((await groupState(admin)).state),
        { timeoutMs: 60_000, intervalMs: 10, description: 'the rebalance a second scorer starts' },
      );
      const victim = nodeOf(cluster, await groupCoordinator(admin, SCORER_GROUP));
      await victim.kill();
      await sleep(DOWN_MS);
      await victim.start();
      const healed = Date.now();
      await waitFor(
        async () => {
          const group = await groupState(admin);
          return group.state === 'Stable' && group.members === 2;
        },
        { timeoutMs: 60_000, description: 'the rebalance finished with both scorers' },
      );
      const recovered = await caughtUp(stack, healed);
      await second.stop();
      await isrWhole(admin, stack);
      return [recovered];
    });
  },
});

/**
 * The quorum's leader, the active controller, is SIGKILLed (in combined mode it is a broker too: its partitions'
 * leaders move as well); the row waits for another node to be elected leader (Admin.describeMetadataQuorum), keeps
 * the node down 10 s, and starts it again.
 */
export const controllerFailover = (events = 10_000): Scenario => ({
  name: 'KRaft active controller SIGKILLed, another elected, restarted (3 real brokers)',
  stack: { realKafka: true },
  events,
  async inject({ stack }) {
    const cluster = realKafka(stack);
    await sleep(2_000);
    const leader = await quorumLeader(cluster);
    const victim = nodeOf(cluster, leader);
    const killedAt = Date.now();
    await victim.kill();
    await waitFor(async () => (await quorumLeader(cluster)) !== leader, {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: `a controller other than node ${leader} elected`,
    });
    await sleep(Math.max(0, DOWN_MS - (Date.now() - killedAt)));
    await victim.start();
    const recovered = await caughtUp(stack);
    await withKafkaAdmin(cluster, (admin) => isrWhole(admin, stack));
    return [recovered];
  },
});

/**
 * Three scorer processes share the six partitions; once the group is stable with three members, one of them
 * (chosen by the row's seed) is SIGKILLed and left down: the group evicts it after the session timeout and the
 * other two take its partitions from its last commit.
 */
export const threeScorersOneKilled = (events = 15_000): Scenario => ({
  name: 'three scorers share the partitions, one SIGKILLed (3 real brokers)',
  stack: { realKafka: true },
  events,
  async inject({ stack, scorer, services, random }) {
    const cluster = realKafka(stack);
    const others = [services.add('scorer'), services.add('scorer')];
    await Promise.all(others.map((proc) => proc.start()));
    await Promise.all(others.map((proc) => proc.ready()));
    return withKafkaAdmin(cluster, async (admin) => {
      const stableWith = (members: number) =>
        waitFor(
          async () => {
            const group = await groupState(admin);
            return group.state === 'Stable' && group.members === members;
          },
          { timeoutMs: 60_000, description: `the scorer group stable with ${members} members` },
        );
      await stableWith(3);
      await sleep(2_000);
      const victim = [scorer, ...others][Math.floor(random() * 3)]!;
      await victim.kill();
      const killed = Date.now();
      await stableWith(2);
      return [await caughtUp(stack, killed)];
    });
  },
});
