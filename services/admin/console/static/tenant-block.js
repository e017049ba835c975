// A tenant's page, its first parts: the status, the current block with its evidence, and the live window.
import { windowCharts } from './chart.js';
import { definitions, h, headedList, table, time } from './dom.js';

export const RULES = {
  VOLUME: 'volume rule: U and U/T at or above their thresholds',
  DISTINCT_DOMAINS: 'distinct-domains rule: D and U at or above their thresholds',
};

export function statusPart(status) {
  const { block } = status;
  const badge = status.blocked
    ? h(
        'p',
        { class: 'badge blocked' },
        block.scope === 'CONNECTOR'
          ? `Blocked on ${connectorList(block.connectorIds)}: mail from unregistered domains through ${block.connectorIds.length === 1 ? 'it' : 'them'} is refused (550 5.7.750); the tenant's other connectors keep relaying`
          : 'Blocked: mail from unregistered domains is refused (550 5.7.750)',
      )
    : block?.mode === 'MONITOR'
      ? h('p', { class: 'badge monitor' }, 'Monitor mode: would be blocked, not enforced')
      : h('p', { class: 'badge ok' }, 'Not blocked');
  return [
    badge,
    definitions([
      ['Mode', status.mode === 'ENFORCE' ? 'enforce' : 'monitor (decisions are never enforced)'],
      status.probationUntil !== null && ['On probation until', time(status.probationUntil)],
      [
        'Live window',
        `U ${status.counters.unregistered}, F ${status.counters.forwardedUnregistered}, ` +
          `T ${status.counters.total}, D ${status.counters.distinctUnregisteredDomains}`,
      ],
    ]),
  ];
}

export function evidencePart(status) {
  const { block } = status;
  if (block === null) return h('p', { class: 'empty' }, 'No current block: nothing to show as evidence.');
  const { evidence } = block;
  const thresholdRows = [
    ['U: unregistered messages', evidence.unregistered, evidence.thresholds.minUnregistered],
    [
      'U/T',
      evidence.total === 0 ? 0 : (evidence.unregistered / evidence.total).toFixed(2),
      evidence.thresholds.minUnregisteredRatio,
    ],
    [
      'D: distinct unregistered domains',
      evidence.distinctUnregisteredDomains,
      evidence.thresholds.minDistinctDomains,
    ],
    ['F: forwarded unregistered', evidence.forwardedUnregistered, '—'],
    ['T: all messages', evidence.total, '—'],
  ];
  return [
    definitions([
      ['Block', block.blockId],
      ['Blocked since', time(block.blockedAt)],
      ['Rule', RULES[block.reason] ?? block.reason],
      ['Mode', block.mode === 'ENFORCE' ? 'enforce' : 'monitor'],
      ['Window', [time(evidence.windowStart), ' to ', time(evidence.windowEnd)]],
      ['Policy version', block.policyVersion],
      block.probation && ['Probation', 'decided while on probation (halved thresholds)'],
      ['Scope', block.scope === 'CONNECTOR' ? connectorList(block.connectorIds) : 'the whole tenant'],
      block.scopeReason && ['Why this scope', block.scopeReason],
      block.widenedFrom && ['Widened from', block.widenedFrom],
      block.liftedConnectorIds.length > 0 && ['Lifted connectors', block.liftedConnectorIds.join(', ')],
    ]),
    status.remediation ? remedyList(status.remediation.remedies) : null,
    table('The counts when the block was decided', ['Count', 'Value', 'Threshold'], thresholdRows, ''),
    carriers(
      'Top unregistered sender domains',
      'Domain',
      evidence.topDomains.map((entry) => [entry.domain, entry.messages]),
      'The evidence names no domain.',
    ),
    carriers(
      'Connectors that carried them',
      'Connector',
      evidence.connectors.map((entry) => [entry.connectorId, entry.messages, entry.createdAt]),
      'The evidence names no connector.',
      'Created',
    ),
    status.remediation?.warnings.length ? warningList(status.remediation.warnings) : null,
  ];
}

/**
 * What carried unregistered mail, the block's evidence or the live window: a row a sender domain or connector
 * (`[name, messages, time?]`), with a time column when `timeHeader` names one.
 */
function carriers(caption, nameHeader, rows, empty, timeHeader) {
  return table(
    caption,
    [nameHeader, 'Messages', ...(timeHeader ? [timeHeader] : [])],
    rows.map(([name, messages, at]) => (timeHeader ? [name, messages, time(at)] : [name, messages])),
    empty,
  );
}

/** The window's carriers as `carriers` rows, with when each was last seen. */
function lastSeen(entries) {
  return entries.map((entry) => [entry.key, entry.messages, entry.lastSeenAt]);
}

function connectorList(connectorIds) {
  return `connector${connectorIds.length === 1 ? '' : 's'} ${connectorIds.join(', ')}`;
}

/** The steps out of the block, in order: disabling the culprit connectors comes first. */
function remedyList(remedies) {
  return headedList(
    'remedies',
    'Remedies, in order',
    'ol',
    remedies.map((remedy) => remedy.detail),
  );
}

/** What the system still sees as unremediated: on a blocked tenant's page, and in the answer of a lift. */
export function warningList(warnings) {
  return headedList('warnings', 'What the system still sees', 'ul', warnings);
}

export function windowPart(window, status, policy) {
  if (window.minutes.length === 0) {
    return h(
      'p',
      { class: 'empty' },
      'No live window: the tenant sent nothing in the last window, or a lift cleared it.',
    );
  }
  return [
    windowCharts(window, status.thresholds, policy?.effective.forwardedWeight ?? 0),
    h(
      'div',
      { class: 'columns' },
      carriers(
        'Unregistered sender domains in the window',
        'Domain',
        lastSeen(window.domains),
        'No unregistered domain in the window.',
        'Last seen',
      ),
      carriers(
        'Connectors that carried them',
        'Connector',
        lastSeen(window.connectors),
        'No connector carried unregistered mail in the window.',
        'Last seen',
      ),
    ),
  ];
}
