// `npm run chaos [-- --only <word>]`: the fault matrix against the real components of the test environment,
// with `relayguard scorer` (and `enforcer`) as separate OS processes under a supervisor that restarts one that
// exits on its own. Prints the table — fault, events sent, events counted, duplicates, lost, decisions wrong,
// windows differing, lifted blocks re-imposed, unplanned restarts, time to recover — and exits 1 when a fault was not survived.
import { parseArgs } from 'node:util';
import { NOTHING_COMPARED } from '../test/chaos/harness.js';
import { hotTenantFlood } from '../test/chaos/hot-tenant-rows.js';
import { runCaughtScorer } from '../test/chaos/lifted-block-rows.js';
import {
  controllerFailover,
  coordinatorKilledMidRebalance,
  threeScorersOneKilled,
} from '../test/chaos/real-broker-rows.js';
import { rebuildFromTime } from '../test/chaos/rebuild-rows.js';
import {
  brokerDownUp,
  chaosTable,
  clusterMasterKilled,
  clusterResharded,
  IncompleteScenario,
  latency,
  operatorUnblocks,
  realBrokerKilled,
  rebalance,
  redisConnectionCut,
  redisKilled,
  redisRestarted,
  requestErrors,
  runEnforcerRestart,
  runRebuild,
  runScenario,
  type ScenarioResult,
  scorerKilled,
} from '../test/chaos/scenarios.js';
import { stalledLeader } from '../test/chaos/stalled-leader-rows.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, events: { type: 'string' } } });
const scale = values.events ? Number(values.events) : undefined;
const runs: [string, () => Promise<ScenarioResult>][] = [
  ['sigkill', () => runScenario(scorerKilled(4, scale ?? 50_000))],
  ['enforcer', () => runEnforcerRestart()],
  ['broker', () => runScenario(brokerDownUp(scale))],
  ['real-broker', () => runScenario(realBrokerKilled(scale))],
  ['real-broker-coordinator', () => runScenario(coordinatorKilledMidRebalance(scale))],
  ['real-broker-controller', () => runScenario(controllerFailover(scale))],
  ['real-broker-three-scorers', () => runScenario(threeScorersOneKilled(scale))],
  ['errors', () => runScenario(requestErrors(scale))],
  ['redis-restart', () => runScenario(redisRestarted(scale))],
  ['redis-kill', () => runScenario(redisKilled(scale))],
  ['redis-kill-no-persistence', () => runScenario(redisKilled(scale, ['--appendonly', 'no', '--save', '']))],
  ['redis-cut', () => runScenario(redisConnectionCut(10, scale))],
  ['latency', () => runScenario(latency(scale))],
  ['rebalance', () => runScenario(rebalance(scale))],
  ['syncgroup-refused', () => runScenario(rebalance(scale, true))],
  ['rebuild', () => runRebuild(scale)],
  ['rebuild-1-node', () => rebuildFromTime(1, scale)],
  ['rebuild-3-nodes', () => rebuildFromTime(3, scale)],
  // --events: the flood's seconds.
  ['hot-tenant', () => hotTenantFlood(scale)],
  // --events: the seconds of each phase (quiet, leader stopped).
  ['stalled-leader', () => stalledLeader(scale && scale * 1_000)],
  ['unblock', () => runScenario(operatorUnblocks(scale))],
  ['unblock-kill-before-flush', () => runCaughtScorer('killed', scale)],
  ['unblock-zombie', () => runCaughtScorer('frozen', scale)],
  ['cluster-reshard', () => runScenario(clusterResharded(3, scale))],
  ['cluster-failover-wait-0', () => runScenario(clusterMasterKilled(0, scale))],
  ['cluster-failover-wait-1', () => runScenario(clusterMasterKilled(1, scale))],
];
const results: ScenarioResult[] = [];
for (const [key, run] of runs) {
  if (values.only && !key.includes(values.only)) continue;
  process.stderr.write(`chaos: ${key}...\n`);
  const started = Date.now();
  try {
    const result = await run();
    results.push(result);
    process.stderr.write(
      `chaos: ${key} ${result.ok ? 'survived' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
    for (const line of result.details.slice(0, 10)) process.stderr.write(`  ${line}\n`);
  } catch (error) {
    const cause = error instanceof IncompleteScenario ? error.cause : error;
    process.stderr.write(`chaos: ${key} could not complete: ${(cause as Error).stack}\n`);
    results.push({
      ...NOTHING_COMPARED,
      fault: `${key}: did not complete (${(error as Error).message.slice(0, 80)})`,
      sent: 0,
      unplannedExits: error instanceof IncompleteScenario ? error.unplannedExits : [],
      recoveryMs: Date.now() - started,
      ok: false,
    });
  }
}
process.stdout.write(`${chaosTable(results)}\n`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
