// The fault-matrix rows of "a lifted block stays lifted" (docs/guarantees.md) that need a scorer caught in the
// act: it has published a block and has not yet flushed the window that holds it when it is SIGKILLed, or frozen
// (SIGSTOP) while another member takes its partitions. The operator lifts the block meanwhile; a scorer then
// replays the partition from its last commit — the lifted block's evidence first — and must neither count an
// event twice nor re-impose the block.
//
// The fault is placed, not hoped for: the scorer starts behind a backlog (the first 60% of the load and then
// BACKLOG of the blocked tenant's own mail in its partition) with a 60 s commit interval, so it flushes only when
// that partition reaches its end; and it is killed or frozen as soon as it logs the block, which it does once the
// block is acknowledged. The row then checks that the fault happened — the tenant's window in Redis does not hold
// the block's triggering event — and FAILS when it did not, rather than passing without it.
import { Topics } from '../../services/core/topics.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { messageSubmitted } from '../support/builders.js';
import { withKafkaAdmin } from '../support/kafka-broker.js';
import { waitFor } from '../support/tether.js';
import {
  type ChaosStack,
  caughtUp,
  compare,
  isExact,
  lastLines,
  NOTHING_COMPARED,
  produce,
  realKafka,
  reference,
  type ServiceProcess,
  unblockTime,
  type Workload,
  workload,
} from './harness.js';
import { onChaosStack, type ScenarioResult, sleep, UNBLOCK_SETTLE_MS } from './scenarios.js';

/** The spammer whose block is caught between publish and flush. */
const TENANT = 't00';
/** The blocked tenant's own mail queued behind its block, in its partition: more than a few fetches' worth. */
export const BACKLOG = 20_000;
/** Log message of a block the scorer published (services/scorer/scorer.ts, #publishBlocks). */
const BLOCK_LOGGED = 'tenant blocked from sending from unregistered domains';
/** What a scorer whose window changed under it reports (services/scorer/scorer.ts, conflictError). */
const FENCED = 'a window changed under this scorer';
/** kafkajs's log line of a (re)join, with the member's assignment. */
const JOINED = 'Consumer has joined the group';

export type CaughtScorer = 'killed' | 'frozen';

/**
 * The workload with BACKLOG messages of TENANT from its registered domain inserted after the first 60%, all at the
 * time of the last event before them (no event is late), and the unblock of TENANT right after them.
 */
function withBacklog(events: number, seed: number): { load: Workload; unblockAfter: number } {
  const base = workload(events, seed);
  const cut = Math.round((events * 0.6) / 500) * 500;
  const at = base.events[cut - 1]!.occurredAt;
  const backlog = Array.from({ length: BACKLOG }, (_, i) =>
    messageSubmitted({
      eventId: `chaos-${seed}-backlog-${i}`,
      tenantId: TENANT,
      occurredAt: at,
      envelopeSenderDomain: `mail.${TENANT}.example`,
      connectorId: `${TENANT}-onprem`,
    }),
  );
  return {
    load: {
      tenants: base.tenants,
      events: [...base.events.slice(0, cut), ...backlog, ...base.events.slice(cut)],
    },
    unblockAfter: cut + BACKLOG,
  };
}

const ROW_NAMES: Record<CaughtScorer, string> = {
  killed: `scorer SIGKILLed between a block's publish and its flush (${BACKLOG.toLocaleString('en')} events behind), unblock, restarted`,
  frozen: 'zombie scorer: frozen after a block before its flush, partitions taken over, unblock, resumed',
};

/** One row: `how` the first scorer is caught after publishing TENANT's block. */
export async function runCaughtScorer(how: CaughtScorer, events = 10_000, seed = 1): Promise<ScenarioResult> {
  const { load, unblockAfter } = withBacklog(events, seed);
  const ref = reference(load, [{ tenantId: TENANT, afterEvents: unblockAfter }]);
  return onChaosStack(
    load.tenants,
    async (stack, services) => {
      const started = Date.now();
      // The backlog, with no scorer running yet.
      await produce(stack, load.events.slice(0, unblockAfter), 20_000);
      const first = services.add('scorer', {
        RELAYGUARD_SCORER_COMMIT_INTERVAL_MS: '60000',
        RELAYGUARD_LOG_LEVEL: 'info',
      });
      const blockLogged = first.logged((entry) => entry.msg === BLOCK_LOGGED && entry.tenantId === TENANT);
      await first.start();
      const trigger = await blockLogged;
      if (how === 'killed') await first.kill();
      else first.freeze(true);

      const missed = await faultMissed(stack, trigger);
      if (missed) return notHappened(ROW_NAMES[how], Date.now() - started, missed);
      const details = [
        `caught after publishing ${String(trigger.blockId)} (its trigger at offset ${String(trigger.offset)})`,
      ];

      await stack.unblock(TENANT, unblockTime(load, unblockAfter));
      const healed = Date.now();
      const second = services.add('scorer');
      await second.start();
      let recoveryMs = await caughtUp(stack, healed);
      if (how === 'frozen') {
        details.push(...(await resumeZombie(stack, first, trigger)));
        recoveryMs = Date.now() - healed;
      }

      await sleep(UNBLOCK_SETTLE_MS);
      const sent = unblockAfter + (await produce(stack, load.events.slice(unblockAfter), 1_500));
      await caughtUp(stack);
      const comparison = await compare(stack, load, ref);
      return {
        fault: ROW_NAMES[how],
        sent,
        recoveryMs,
        ...comparison,
        details: [...comparison.details, ...details],
        ok: isExact(comparison),
      };
    },
    // The zombie row on three real brokers: the mock cluster cannot describe the group the zombie must rejoin.
    how === 'frozen' ? { realKafka: true } : undefined,
  );
}

/**
 * Why the fault did not happen, or undefined when it did: the block is on the topic (logged after its publish
 * was acknowledged) and the tenant's window in Redis does not hold the event that triggered it (no flush since).
 */
async function faultMissed(stack: ChaosStack, trigger: Record<string, unknown>): Promise<string | undefined> {
  const stored = (await stack.adapters.store.load([TENANT])).get(TENANT);
  const mark = stored?.window.watermark;
  if (mark && mark.partition === trigger.partition && BigInt(mark.offset) >= BigInt(String(trigger.offset)))
    return `the window of ${TENANT} was flushed up to offset ${mark.offset}, past the block's trigger at ${String(trigger.offset)}, before the scorer was caught`;
  return undefined;
}

/**
 * The frozen scorer resumes once the member that took its partitions has committed everything, with its stale
 * window and the rest of its batch in hand; it must find its windows changed (fenced) and rejoin the group. Its
 * save is refused wherever it comes: at its rejoin, for the partitions it lost (revoke), or at its write-behind
 * flush — overdue at once when it was frozen past its commit interval, or later when the group hands the blocked
 * tenant's partition back to it (a partition two members claim is dealt afresh). Both log the refusal. Redis
 * shows it too: the tenant's window is still the new owner's, never the zombie's from before the unblock.
 */
async function resumeZombie(
  stack: ChaosStack,
  zombie: ServiceProcess,
  trigger: Record<string, unknown>,
): Promise<string[]> {
  const taken = await storedMark(stack);
  if (
    !taken ||
    taken.partition !== trigger.partition ||
    BigInt(taken.offset) <= BigInt(String(trigger.offset))
  )
    throw new Error(
      `the new owner did not save ${TENANT}'s window past the block's trigger at ${String(trigger.offset)} before the zombie resumed: the fault did not happen`,
    );
  // Generous bounds: on two busy cores the zombie may take minutes to rejoin and try its save.
  const fenced = zombie.logged((entry) => JSON.stringify(entry).includes(FENCED), 240_000);
  // The scorer's own group: the process's directory readers join groups of their own too.
  const rejoined = zombie.logged((entry) => entry.msg === JOINED && entry.groupId === SCORER_GROUP, 240_000);
  zombie.freeze(false);
  await withKafkaAdmin(realKafka(stack), (admin) =>
    waitFor(
      async () => {
        const [described] = (await admin.describeGroups([SCORER_GROUP])).groups;
        return described?.state === 'Stable' && described.members.length === 2;
      },
      { timeoutMs: 180_000, description: 'the zombie back in the scorer group beside the new owner' },
    ),
  );
  const assigned = await rejoined.then(
    (entry) =>
      (entry.memberAssignment as Record<string, number[]> | undefined)?.[Topics.messageSubmitted] ?? [],
    () => undefined,
  );
  const refused = await fenced.then(
    (entry) => `resumed: its stale window refused (${String(entry.msg)})`,
    () => undefined,
  );
  if (!refused)
    throw new Error(
      `the resumed zombie never found its window changed: the fault did not happen; its last lines: ${lastLines(zombie.output, []).join(' | ')}`,
    );
  const after = await storedMark(stack);
  if (!after || after.partition !== taken.partition || BigInt(after.offset) < BigInt(taken.offset))
    throw new Error(
      `${TENANT}'s window went back from offset ${taken.offset} to ${after?.offset ?? 'none'} after the zombie resumed: its stale window was saved`,
    );
  await caughtUp(stack);
  const rejoin = assigned
    ? `rejoined with partitions ${assigned.join(', ') || 'none'} (${TENANT}'s partition ${String(trigger.partition)} ${assigned.includes(Number(trigger.partition)) ? 'handed back to it' : 'kept by the new owner'})`
    : 'its rejoin not logged';
  return [
    `taken over: ${TENANT}'s window saved by the new owner up to offset ${taken.offset}, unchanged by the zombie`,
    rejoin,
    refused,
  ];
}

/** Where TENANT's window in Redis was last fed from. */
async function storedMark(stack: ChaosStack) {
  return (await stack.adapters.store.load([TENANT])).get(TENANT)?.window.watermark;
}

function notHappened(fault: string, recoveryMs: number, why: string): Omit<ScenarioResult, 'unplannedExits'> {
  return {
    ...NOTHING_COMPARED,
    fault: `${fault}: the fault did not happen`,
    sent: 0,
    recoveryMs,
    details: [why],
    ok: false,
  };
}
