// A tenant's page: status and the evidence of its block, the live window, connector review (disable/enable),
// accepted domains, policy, earlier blocks, and the unblock its token may do. Every part comes from the admin
// API; a part the API refuses shows the refusal in the API's words, and the rest of the page still renders.
// The parts are drawn by tenant-block.js, tenant-config.js, tenant-policy.js, tenant-history.js and
// tenant-unblock.js; this module loads them and runs the changes they offer.
import { api, path } from './api.js';
import { alertBox, errorMessage, h, replaceChildren } from './dom.js';
import { evidencePart, statusPart, warningList, windowPart } from './tenant-block.js';
import { connectorsPart, domainsPart } from './tenant-config.js';
import { auditPart, historyPart } from './tenant-history.js';
import { policyPart } from './tenant-policy.js';
import { unblockPart } from './tenant-unblock.js';

function section(id, title, ...children) {
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), children);
}

/** A part of the page from one API answer: its content, or the API's refusal. */
function part(settled, render) {
  return settled.status === 'fulfilled' ? render(settled.value) : alertBox(settled.reason);
}

export function tenantView({ view, session, announce }, tenantId) {
  let stopped = false;
  const message = h('div', { id: 'action-result', tabindex: -1 });
  const canWrite =
    session.role === 'operator' || (session.role === 'tenant-admin' && session.tenantId === tenantId);

  /**
   * Runs a change, reloads the page's data, then shows the API's answer either way: after the reload, so that
   * the forms a person sees next are the reloaded ones (nothing typed meanwhile is lost to a re-render). `done`
   * is what to announce on success, or a function of the API's answer that says it.
   */
  async function act(done, request) {
    let answer;
    try {
      const result = await request();
      // What succeeded: a sentence, or one drawn from the API's answer.
      const success = typeof done === 'function' ? done(result) : done;
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
