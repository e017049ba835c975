// A tenant's page: the unblock its token may do, an operator's with attestations and a ticket, or the tenant
// admin's self-service once the system's checks pass.
import { api, path } from './api.js';
import { h, pageForm } from './dom.js';

const ATTESTATIONS = [
  ['domainsRegistered', 'Every domain the tenant sends from is registered as an accepted domain'],
  ['connectorsReviewed', 'The connectors were reviewed and unknown ones removed or disabled'],
  ['serversSecured', "The tenant's on-premises servers were secured"],
];

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

/** A connector-scoped block's connectors, to lift some of them (none checked: the whole block); else null. */
function connectorChoice(block, prefix) {
  if (block?.scope !== 'CONNECTOR') return null;
  return h(
    'fieldset',
    null,
    h('legend', null, 'Lift only these connectors (none checked: the whole block)'),
    block.connectorIds.map((connectorId) =>
      h(
        'div',
        { class: 'check' },
        h('input', {
          type: 'checkbox',
          id: `${prefix}-lift-${connectorId}`,
          name: 'liftConnector',
          value: connectorId,
        }),
        h('label', { for: `${prefix}-lift-${connectorId}` }, `Lift connector ${connectorId}`),
      ),
    ),
  );
}

/** The body's connectorIds: the checked connectors, or undefined to lift the whole block. */
function connectorIdsOf(form) {
  const checked = [...form.querySelectorAll('input[name="liftConnector"]:checked')].map((box) => box.value);
  return checked.length > 0 ? checked : undefined;
}

/** What the answer of a lift says: the connectors lifted and what stays blocked, or the whole block lifted. */
function lifted(result, whole) {
  return result.remainingBlock
    ? `Lifted ${result.liftedConnectorIds.join(', ')}; still blocked: ${result.remainingBlock.connectorIds.join(', ')}.`
    : whole;
}

export function unblockPart(status, session, act) {
  if (!status.blocked)
    return h('p', { class: 'empty' }, 'The tenant is not blocked: there is nothing to lift.');
  if (session.role === 'operator') {
    const form = pageForm(
      { id: 'unblock-form' },
      () =>
        act(
          (result) => lifted(result, 'Block lifted.'),
          () =>
            api('POST', path`/tenants/${status.tenantId}/unblock`, {
              ticket: form.elements.ticket.value.trim() || undefined,
              attestations: attestationsOf(form),
              connectorIds: connectorIdsOf(form),
            }),
        ),
      h(
        'p',
        null,
        'Lift the block once the tenant proved its remediation. The API refuses a lift without all three attestations and a ticket.',
      ),
      connectorChoice(status.block, 'unblock'),
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
    const form = pageForm(
      {
        id: 'self-service-form',
        on: {
          change: () => {
            button.disabled = !(systemPasses && Object.values(attestationsOf(form)).every(Boolean));
          },
        },
      },
      () =>
        act(
          (result) => lifted(result, 'Block lifted: the tenant is on probation (halved thresholds).'),
          () =>
            api('POST', path`/tenants/${status.tenantId}/self-service-unblock`, {
              attestations: attestationsOf(form),
              connectorIds: connectorIdsOf(form),
            }),
        ),
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
      connectorChoice(status.block, 'self-service'),
      attestationFields('self-service'),
      button,
    );
    return form;
  }
  return h('p', { class: 'muted' }, 'A reader token can read only: an operator lifts blocks.');
}
