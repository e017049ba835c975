// A tenant's page: its earlier blocks and its audit trail.
import { definitions, h, table, time } from './dom.js';

export function historyPart(history, status) {
  const earlier = history.blockTimes.filter((at) => at !== status.block?.blockedAt);
  const lift = history.lastUnblock;
  return [
    lift === null
      ? h('p', { class: 'empty' }, 'No block of this tenant was lifted yet.')
      : definitions([
          ['Last lift', time(lift.unblockedAt)],
          ['Block', lift.blockId],
          ['By', `${lift.actor} (${lift.source === 'OPERATOR' ? 'operator' : 'self-service'})`],
          ['Ticket', lift.ticket ?? '—'],
          lift.probationUntil !== null && ['Probation until', time(lift.probationUntil)],
        ]),
    table(
      'Earlier blocks (30 days)',
      ['Blocked at'],
      earlier.map((at) => [time(at)]),
      'No earlier block in the last 30 days.',
    ),
  ];
}

/** A long detail (an unblock's warnings) folded after its start, so one record does not fill the page. */
function longText(text) {
  return text.length <= 160 ? text : h('details', null, h('summary', null, `${text.slice(0, 120)}…`), text);
}

export function auditPart(audit) {
  return [
    audit.caughtUp
      ? null
      : h('p', { class: 'muted' }, 'Still reading the audit topic: older records may be missing.'),
    table(
      'Recent changes, newest first',
      ['When', 'Who', 'Action', 'Target', 'Ticket', 'Details'],
      audit.entries.map((entry) => [
        time(entry.occurredAt),
        `${entry.actor} (${entry.role.toLowerCase().replace('_', '-')})`,
        entry.action,
        entry.target ?? '—',
        entry.ticket ?? '—',
        Object.keys(entry.details).length === 0
          ? ''
          : h(
              'dl',
              { class: 'details' },
              Object.entries(entry.details).map(([key, value]) => [
                h('dt', null, key),
                h('dd', null, longText(value)),
              ]),
            ),
      ]),
      'No change to this tenant is on record here.',
    ),
    audit.truncated
      ? h('p', { class: 'muted' }, 'Older records are in the audit topic (relayguard.audit.v1).')
      : null,
  ];
}
