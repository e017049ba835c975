// A tenant's page: the policy in force, and other thresholds tried against the live window.
import { api, path } from './api.js';
import { alertBox, h, pageForm, replaceChildren, table, time } from './dom.js';
import { RULES } from './tenant-block.js';

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
  const form = pageForm(
    { id: 'policy-preview' },
    async () => {
      const query = new URLSearchParams(
        THRESHOLDS.map(([key]) => [key, form.elements[key].value.trim()]).filter(([, value]) => value !== ''),
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

export function policyPart(policy, tenantId) {
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
