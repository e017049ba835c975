// A tenant's page: connector review (disable or enable a connector) and the accepted domains with their
// verification.
import { api, path } from './api.js';
import { h, pageForm, table, time } from './dom.js';

export function connectorsPart(review, connectors, canWrite, act) {
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
      [
        entry.configured ? (entry.enabled ? 'enabled' : 'disabled') : 'not configured',
        entry.blocked ? h('strong', { class: 'blocked-connector' }, ', blocked') : '',
      ],
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

export function domainsPart(domains, tenantId, canWrite, act) {
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
  const register = pageForm(
    { id: 'register-domain' },
    (form) => {
      const domain = form.elements.domain.value.trim();
      act(`Registered ${domain}.`, () =>
        api('PUT', path`/tenants/${tenantId}/accepted-domains/${domain}`, {
          matchSubdomains: form.elements.matchSubdomains.checked,
        }),
      );
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
