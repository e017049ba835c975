// What other thresholds would decide for a tenant's live window, beside what the thresholds in force decide: the
// console's policy preview. The core's own rule (`evaluate`) decides both, over the window's counters as they
// stand; the minutes before the window's start are gone, so nothing older can be replayed here (that is what
// `relayguard backtest` does over recorded traffic).
import type { BlockReason, Thresholds } from '../../core/contracts.generated.js';
import { evaluate, type WindowCounts } from '../../core/policy.js';

export interface ThresholdDecision {
  readonly thresholds: Thresholds;
  /** The rule that would fire, or null. */
  readonly decision: BlockReason | null;
}

export function previewThresholds(
  counters: WindowCounts,
  inForce: Thresholds,
  candidate: Partial<Thresholds>,
): { counters: WindowCounts; inForce: ThresholdDecision; candidate: ThresholdDecision } {
  const thresholds = { ...inForce, ...candidate };
  return {
    counters,
    inForce: { thresholds: inForce, decision: evaluate(inForce, counters) },
    candidate: { thresholds, decision: evaluate(thresholds, counters) },
  };
}
