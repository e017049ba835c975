// A tenant's page: status and the evidence of its block, the live window, connector review (disable/enable),
// accepted domains, policy, earlier blocks, and the unblock its token may do. Every part comes from the admin
// API; a part the API refuses shows the refusal in the API's words, and the rest of the page still renders.
import { api, path } from './api.js';
import { windowCharts } from './chart.js';
import { alertBox, errorMessage, h, replaceChildren, table, time } from './dom.js';

const RULES = {
  VOLUME: 'volume rule: U and U/T at or above their thresholds',
  DISTINCT_DOMAINS: 'distinct-domains rule: D and U at or above their thresholds',
};

const ATTESTATIONS = [
  ['domainsRegistered', 'Every domain the tenant sends from is registered as an accepted domain'],
  ['connectorsReviewed', 'The connectors were reviewed and unknown ones removed or disabled'],
  ['serversSecured', "The tenant's on-premises servers were secured"],
];

function section(id, title, ...children) {
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), children);
}

/** A part of the page from one API answer: its content, or the API's refusal. */
function part(settled, render) {
  return settled.status === 'fulfilled' ? render(settled.value) : alertBox(settled.reason);
}

function definitions(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(Boolean).map(([term, detail]) => [h('dt', null, term), h('dd', null, detail)]),
  );
}

function statusPart(status) {
  const { block } = status;
  const badge = status.blocked
    ? h('p', { class: 'badge blocked' }, 'Blocked: mail from unregistered domains is refused (550 5.7.750)')
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

function evidencePart(status) {
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
    ]),
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

/** What the system still sees as unremediated: on a blocked tenant's page, and in the answer of a lift. */
function warningList(warnings) {
  return h(
    'div',
    { class: 'warnings' },
    h('h3', null, 'What the system still sees'),
    h(
      'ul',
      null,
      warnings.map((warning) => h('li', null, warning)),
    ),
  );
}

function windowPart(window, status, policy) {
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

function connectorsPart(review, connectors, canWrite, act) {
  if (review.connectors.length === 0) return h('p', { class: 'empty' }, 'The tenant has no connector.');
  const configured = new Map(connectors.connectors.map((connector) => [connector.connectorId, connector]));
  const rows = review.connectors.map((entry) => {
    const connector = configured.get(entry.connectorId);
    const toggle =
      canWrite && connector
        ? h(
            'button',
            {
              type: 'button',
              class: connector.enabled ? 'danger' : '',
              on: {
                click: () =>
                  act(
                    `${connector.enabled ? 'Disabled' : 'Enabled'} connector ${connector.connectorId}.`,
                    () =>
                      api('PUT', path`/tenants/${connector.tenantId}/connectors/${connector.connectorId}`, {
                        relayPath: connector.relayPath,
                        senderIpRanges: connector.senderIpRanges,
                        tlsCertificateDomain: connector.tlsCertificateDomain,
                        enabled: !connector.enabled,
                      }),
                  ),
              },
            },
            `${connector.enabled ? 'Disable' : 'Enable'} ${connector.connectorId}`,
          )
        : null;
    return [
      entry.connectorId,
      entry.configured ? (entry.enabled ? 'enabled' : 'disabled') : 'not configured',
      entry.relayPath ?? '—',
      connector
        ? [
            connector.senderIpRanges.join(', '),
            connector.tlsCertificateDomain ? ` cert ${connector.tlsCertificateDomain}` : '',
          ]
        : '—',
      entry.createdAt === null ? '—' : [time(entry.createdAt), ` by ${entry.createdBy}`],
      `${entry.unregisteredMessages.evidence} / ${entry.unregisteredMessages.window}`,
      String(entry.score),
      entry.reasons.length === 0
        ? 'nothing unusual'
        : h(
            'ul',
            { class: 'reasons' },
            entry.reasons.map((reason) => h('li', null, reason.detail)),
          ),
      toggle,
    ];
  });
  return table(
    'Most unusual first',
    [
      'Connector',
      'State',
      'Relay path',
      'Identified by',
      'Created',
      'U evidence / window',
      'Score',
      'Reasons',
      canWrite ? 'Action' : '',
    ],
    rows,
    '',
  );
}

/** A domain's verification as the API reports it (a domain counts as registered once verified). */
function verificationOf(verification) {
  if (verification.status === 'verified') {
    return [
      `verified (${verification.method === 'DNS_TXT' ? 'DNS TXT' : 'by an operator'}) `,
      time(verification.verifiedAt),
    ];
  }
  if (verification.status === 'legacy') return 'legacy: accepted before verification, counts as registered';
  return `pending: publish TXT ${verification.txtRecord.name} "${verification.txtRecord.value}"`;
}

function domainsPart(domains, tenantId, canWrite, act) {
  const entries = domains.acceptedDomains;
  // Shown where the API reports verification (docs/admin-api.md); older servers do not.
  const verified = entries.some((entry) => entry.verification);
  const remove = (entry) =>
    h(
      'button',
      {
        type: 'button',
        on: {
          click: () =>
            act(`Unregistered ${entry.domain}.`, () =>
              api('DELETE', path`/tenants/${tenantId}/accepted-domains/${entry.domain}`),
            ),
        },
      },
      `Unregister ${entry.domain}`,
    );
  const register = h(
    'form',
    {
      id: 'register-domain',
      on: {
        submit: (event) => {
          event.preventDefault();
          const form = event.target;
          const domain = form.elements.domain.value.trim();
          act(`Registered ${domain}.`, () =>
            api('PUT', path`/tenants/${tenantId}/accepted-domains/${domain}`, {
              matchSubdomains: form.elements.matchSubdomains.checked,
            }),
          );
        },
      },
    },
    h('label', { for: 'register-domain-name' }, 'Domain'),
    h('input', {
      id: 'register-domain-name',
      name: 'domain',
      required: true,
      autocomplete: 'off',
      spellcheck: 'false',
    }),
    h('input', { id: 'register-domain-subdomains', name: 'matchSubdomains', type: 'checkbox' }),
    h('label', { for: 'register-domain-subdomains' }, 'Subdomains too'),
    h('button', { type: 'submit' }, 'Register'),
  );
  return [
    table(
      'Accepted (registered) domains',
      [
        'Domain',
        'Unicode',
        'Subdomains',
        verified ? 'Verification' : null,
        'Added',
        canWrite ? 'Action' : null,
      ].filter(Boolean),
      entries.map((entry) =>
        [
          entry.domain,
          entry.unicode === entry.domain ? '' : entry.unicode,
          entry.matchSubdomains ? 'included' : 'not included',
          verified ? (entry.verification ? verificationOf(entry.verification) : '—') : null,
          time(entry.addedAt),
          canWrite ? remove(entry) : null,
        ].filter((cell) => cell !== null),
      ),
      'The tenant has no accepted domain: all its mail counts as unregistered.',
    ),
    canWrite ? register : null,
  ];
}

/** The policy's thresholds: key, label, and the step of its input in the preview form. */
const THRESHOLDS = [
  ['minUnregistered', 'U (volume rule)', 1],
  ['minUnregisteredRatio', 'U/T (volume rule)', 0.01],
  ['minDistinctDomains', 'D (distinct-domains rule)', 1],
  ['minUnregisteredWithDistinct', 'U (distinct-domains rule)', 1],
];

const decisionText = (decision) =>
  decision === null ? 'would not block' : `would block: ${RULES[decision] ?? decision}`;

/** Other thresholds tried against the live window, beside those in force (GET .../policy/preview). */
function previewForm(tenantId, inForce) {
  const answer = h('div', { id: 'policy-preview-answer', role: 'status' });
  const form = h(
    'form',
    {
      id: 'policy-preview',
      on: {
        submit: async (event) => {
          event.preventDefault();
          const query = new URLSearchParams(
            THRESHOLDS.map(([key]) => [key, form.elements[key].value.trim()]).filter(
              ([, value]) => value !== '',
            ),
          );
          try {
            const preview = await api('GET', `${path`/tenants/${tenantId}/policy/preview`}?${query}`);
            const { counters } = preview;
            replaceChildren(
              answer,
              h(
                'p',
                null,
                `Live window: U ${counters.unregistered}, T ${counters.total}, D ${counters.distinctUnregisteredDomains}. `,
                `Thresholds in force: ${decisionText(preview.inForce.decision)}. `,
                `These thresholds: ${decisionText(preview.candidate.decision)}.`,
              ),
            );
          } catch (error) {
            replaceChildren(answer, alertBox(error));
          }
        },
      },
    },
    h(
      'fieldset',
      null,
      h('legend', null, 'Try other thresholds on the live window'),
      THRESHOLDS.map(([key, label, step]) =>
        h(
          'div',
          { class: 'check' },
          h('label', { for: `preview-${key}` }, label),
          h('input', { id: `preview-${key}`, name: key, type: 'number', min: 0, step, value: inForce[key] }),
        ),
      ),
    ),
    h('button', { type: 'submit' }, 'Preview'),
  );
  return [form, answer];
}

function policyPart(policy, tenantId) {
  const { effective, global, overrides } = policy;
  const rows = [
    ['Mode', effective.mode, global.mode, overrides.mode ?? ''],
    ...THRESHOLDS.map(([key, label]) => [
      label,
      effective.thresholds[key],
      global.thresholds[key],
      overrides[key] ?? '',
    ]),
    ['Forwarded weight', effective.forwardedWeight, global.forwardedWeight, overrides.forwardedWeight ?? ''],
  ];
  return [
    table('Thresholds', ['Setting', 'In force', 'Global', "Tenant's override"], rows, ''),
    effective.probationUntil
      ? h('p', null, 'Halved on probation until ', time(effective.probationUntil), '.')
      : null,
    previewForm(tenantId, effective.thresholds),
  ];
}

function historyPart(history, status) {
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

function auditPart(audit) {
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

function attestationFields(prefix) {
  return h(
    'fieldset',
    null,
    h('legend', null, 'Attestations'),
    ATTESTATIONS.map(([key, label]) =>
      h(
        'div',
        { class: 'check' },
        h('input', { type: 'checkbox', id: `${prefix}-${key}`, name: key }),
        h('label', { for: `${prefix}-${key}` }, label),
      ),
    ),
  );
}

function attestationsOf(form) {
  return Object.fromEntries(ATTESTATIONS.map(([key]) => [key, form.elements[key].checked]));
}

function unblockPart(status, session, act) {
  if (!status.blocked)
    return h('p', { class: 'empty' }, 'The tenant is not blocked: there is nothing to lift.');
  if (session.role === 'operator') {
    const form = h(
      'form',
      {
        id: 'unblock-form',
        on: {
          submit: (event) => {
            event.preventDefault();
            act('Block lifted.', () =>
              api('POST', path`/tenants/${status.tenantId}/unblock`, {
                ticket: form.elements.ticket.value.trim() || undefined,
                attestations: attestationsOf(form),
              }),
            );
          },
        },
      },
      h(
        'p',
        null,
        'Lift the block once the tenant proved its remediation. The API refuses a lift without all three attestations and a ticket.',
      ),
      attestationFields('unblock'),
      h('label', { for: 'unblock-ticket' }, 'Support ticket'),
      h('input', { id: 'unblock-ticket', name: 'ticket', maxlength: 128, autocomplete: 'off' }),
      h('button', { type: 'submit', class: 'primary' }, 'Lift the block'),
    );
    return form;
  }
  if (session.role === 'tenant-admin') {
    const checks = status.remediation?.selfServiceChecks ?? [];
    const systemPasses = checks.every((check) => check.passed);
    const button = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Lift the block myself');
    const form = h(
      'form',
      {
        id: 'self-service-form',
        on: {
          change: () => {
            button.disabled = !(systemPasses && Object.values(attestationsOf(form)).every(Boolean));
          },
          submit: (event) => {
            event.preventDefault();
            act('Block lifted: the tenant is on probation (halved thresholds).', () =>
              api('POST', path`/tenants/${status.tenantId}/self-service-unblock`, {
                attestations: attestationsOf(form),
              }),
            );
          },
        },
      },
      h(
        'p',
        null,
        "A tenant's first block in 30 days can be lifted here once the system's own checks pass; an operator lifts any other.",
      ),
      h(
        'ul',
        { class: 'checks' },
        checks.map((check) =>
          h(
            'li',
            { class: check.passed ? 'passed' : 'failed' },
            check.passed ? 'Passed: ' : 'Not yet: ',
            check.detail,
          ),
        ),
      ),
      attestationFields('self-service'),
      button,
    );
    return form;
  }
  return h('p', { class: 'muted' }, 'A reader token can read only: an operator lifts blocks.');
}

export function tenantView({ view, session, announce }, tenantId) {
  let stopped = false;
  const message = h('div', { id: 'action-result', tabindex: -1 });
  const canWrite =
    session.role === 'operator' || (session.role === 'tenant-admin' && session.tenantId === tenantId);

  /**
   * Runs a change, reloads the page's data, then shows the API's answer either way: after the reload, so that
   * the forms a person sees next are the reloaded ones (nothing typed meanwhile is lost to a re-render).
   */
  async function act(success, request) {
    let answer;
    try {
      const result = await request();
      const warnings = result?.warnings ?? [];
      answer = [
        h('div', { class: 'notice', role: 'status' }, success),
        warnings.length ? warningList(warnings) : null,
      ];
      announce(success);
    } catch (error) {
      answer = h(
        'div',
        { class: 'error', role: 'alert' },
        errorMessage(error),
        error.checks?.length
          ? h(
              'ul',
              null,
              error.checks.map((check) =>
                h('li', null, `${check.passed ? 'passed' : 'failed'}: ${check.detail}`),
              ),
            )
          : null,
      );
    }
    if (stopped) return;
    await load();
    replaceChildren(message, answer);
    // The button that was pressed is gone with the reload: keyboard focus goes to what it answered.
    message.focus();
  }

  async function load() {
    const get = (route) => api('GET', route);
    const [status, window, history, domains, connectors, review, policy, audit] = await Promise.allSettled([
      get(path`/tenants/${tenantId}/status`),
      get(path`/tenants/${tenantId}/window`),
      get(path`/tenants/${tenantId}/history`),
      get(path`/tenants/${tenantId}/accepted-domains`),
      get(path`/tenants/${tenantId}/connectors`),
      get(path`/tenants/${tenantId}/connectors/review`),
      get(path`/tenants/${tenantId}/policy`),
      get(path`/tenants/${tenantId}/audit`),
    ]);
    if (stopped) return;
    const title = h('h1', null, `Tenant ${tenantId}`);
    if (status.status === 'rejected') return replaceChildren(view, title, alertBox(status.reason));
    const current = status.value;
    const policyValue = policy.status === 'fulfilled' ? policy.value : null;
    replaceChildren(
      view,
      title,
      statusPart(current),
      message,
      section('evidence-title', 'Current block and its evidence', evidencePart(current)),
      section('unblock-title', 'Unblock', unblockPart(current, session, act)),
      section(
        'window-title',
        'Live window',
        part(window, (value) => windowPart(value, current, policyValue)),
      ),
      section(
        'connectors-title',
        'Connector review',
        review.status === 'fulfilled' && connectors.status === 'fulfilled'
          ? connectorsPart(review.value, connectors.value, canWrite, act)
          : alertBox(review.reason ?? connectors.reason),
      ),
      section(
        'domains-title',
        'Accepted domains',
        part(domains, (value) => domainsPart(value, tenantId, canWrite, act)),
      ),
      section(
        'policy-title',
        'Policy',
        part(policy, (value) => policyPart(value, tenantId)),
      ),
      section(
        'history-title',
        'Earlier blocks',
        part(history, (value) => historyPart(value, current)),
      ),
      section('audit-title', 'Audit trail', part(audit, auditPart)),
    );
  }

  replaceChildren(view, h('h1', null, `Tenant ${tenantId}`), h('p', { class: 'muted' }, 'Loading…'));
  void load();
  return () => {
    stopped = true;
  };
}
