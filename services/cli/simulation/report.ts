import { EVIDENCE_HEADERS, evidenceCells } from '../../backtest/describe.js';
import { renderTable } from '../table.js';
import type { PolicySimulationSummary } from './policy-target.js';
import type { SimulationSummary } from './run.js';

function minutes(ms: number): string {
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** How the compromised tenant's relays are answered now, and whether that and the rest are what was `expected`. */
function verdict(summary: SimulationSummary | PolicySimulationSummary, expected: string): string[] {
  return [
    'Relay answers for the compromised tenant now:',
    `  unregistered sender -> ${summary.relayAnswers.unregisteredSender}`,
    `  registered sender   -> ${summary.relayAnswers.registeredSender}`,
    ...('forwardedSender' in summary.relayAnswers && summary.relayAnswers.forwardedSender !== null
      ? [`  forwarded sender    -> ${summary.relayAnswers.forwardedSender} (its forwarding connector)`]
      : []),
    ...('secondServerSender' in summary.relayAnswers && summary.relayAnswers.secondServerSender !== null
      ? [
          `  unregistered sender -> ${summary.relayAnswers.secondServerSender} (its second server, where the spam moved)`,
        ]
      : []),
    '',
    summary.ok ? `Result: as expected - ${expected}` : 'Result: NOT as expected - see the table above.',
  ];
}

export function renderSimulationSummary(summary: SimulationSummary): string {
  const { tenants } = summary;
  const lines = [
    `Simulated ${summary.minutes} minutes of event time: ${tenants.ordinary} ordinary, ${tenants.forwarders} forwarding and ${tenants.compromised} compromised tenant(s), ${summary.messages.toLocaleString('en-US')} messages.`,
    `The compromise began at ${new Date(summary.compromiseStartedAt).toISOString()}.`,
    '',
  ];
  if (summary.blocked.length === 0) {
    lines.push('Blocked tenants: none');
  } else {
    lines.push('Blocked tenants:');
    lines.push(
      renderTable(
        ['tenant', 'kind', 'mode', 'scope', 'blocked at', 'after compromise', 'reason', ...EVIDENCE_HEADERS],
        summary.blocked.map(({ tenantId, kind, blockedAt, afterCompromiseMs, block }) => [
          tenantId,
          kind,
          block.mode,
          block.scope === 'CONNECTOR'
            ? block.connectorIds.join(', ')
            : block.widenedFrom === null
              ? 'tenant'
              : 'tenant (widened)',
          new Date(blockedAt).toISOString(),
          afterCompromiseMs === null ? '-' : minutes(afterCompromiseMs),
          block.reason,
          ...evidenceCells(block.evidence, { domains: 3 }),
        ]),
      ),
    );
  }
  lines.push(
    '',
    `Forwarding tenants blocked: ${summary.forwardersBlocked} of ${tenants.forwarders} (largest forwarded unregistered volume in a window: F = ${summary.maxForwarded}).`,
    `Refused by the relays: ${summary.refused.spam.toLocaleString('en-US')} spam and ${summary.refused.legitimate.toLocaleString('en-US')} legitimate messages.`,
    ...verdict(
      summary,
      summary.relayAnswers.secondServerSender === null
        ? 'the compromised tenant is blocked; forwarding and ordinary tenants are not.'
        : 'the compromised tenant is blocked, on the server its spam moved to too; forwarding and ordinary tenants are not.',
    ),
  );
  return lines.join('\n');
}

export function renderPolicySimulationSummary(summary: PolicySimulationSummary): string {
  const { tenants, replies } = summary;
  const seconds = summary.elapsedMs / 1000;
  const lines = [
    `Drove ${summary.target} with ${summary.minutes} fleet minutes: ${tenants.ordinary} ordinary, ${tenants.forwarders} forwarding and ${tenants.compromised} compromised tenant(s), ${summary.messages.toLocaleString('en-US')} messages.`,
    `${summary.requests.toLocaleString('en-US')} policy requests (RCPT, and END-OF-MESSAGE for each accepted message) in ${seconds.toFixed(1)} s: ${Math.round(summary.requests / seconds).toLocaleString('en-US')} requests/s.`,
    '',
    renderTable(
      ['tenants', 'accepted', 'rejected 550 5.7.750', 'other answers'],
      (['ordinary', 'forwarder', 'compromised'] as const).map((kind) => [
        kind,
        replies[kind].accepted.toLocaleString('en-US'),
        replies[kind].rejected.toLocaleString('en-US'),
        replies[kind].other.toLocaleString('en-US'),
      ]),
    ),
    '',
    summary.spamAcceptedBeforeBlock === null
      ? 'The compromised tenant was never rejected during the run.'
      : `The compromised tenant's spam was accepted ${summary.spamAcceptedBeforeBlock.toLocaleString('en-US')} times before the first rejection (the block's evidence, then the block reaching the enforcer).`,
    ...verdict(summary, "the compromised tenant's unregistered mail is rejected; nobody else's mail is."),
  ];
  return lines.join('\n');
}
