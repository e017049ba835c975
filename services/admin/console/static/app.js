// The console's shell: sign-in, the session's role, navigation and hash routing (#/blocks, #/tenants/<id>).
// Views return a function that stops what they run (the blocked list polls while it is shown).
import { ApiError, api, signIn, signOut } from './api.js';
import { blocksView } from './blocks-view.js';
import { errorMessage, h, pageForm, replaceChildren } from './dom.js';
import { tenantView } from './tenant-view.js';

const $ = (id) => document.getElementById(id);

/** { subject, role, tenantId } of the signed-in token, null when signed out. */
let session = null;
let stopView = () => {};

function announce(text) {
  $('announce').textContent = text;
}

function homeRoute() {
  return session.role === 'tenant-admin' ? `#/tenants/${encodeURIComponent(session.tenantId)}` : '#/blocks';
}

function renderNav() {
  const nav = $('nav');
  if (session === null) return replaceChildren(nav);
  const tenantAdmin = session.role === 'tenant-admin';
  const openTenant = pageForm(
    { class: 'open-tenant', role: 'search' },
    (form) => {
      const id = form.elements.tenant.value.trim();
      if (id !== '') location.hash = `#/tenants/${encodeURIComponent(id)}`;
    },
    h('label', { for: 'open-tenant-id' }, 'Tenant'),
    h('input', { id: 'open-tenant-id', name: 'tenant', autocomplete: 'off', spellcheck: 'false' }),
    h('button', { type: 'submit' }, 'Open'),
  );
  replaceChildren(
    nav,
    tenantAdmin
      ? h('a', { href: homeRoute() }, `Tenant ${session.tenantId}`)
      : [h('a', { href: '#/blocks' }, 'Blocked tenants'), openTenant],
  );
}

function route() {
  stopView();
  stopView = () => {};
  const view = $('view');
  if (session === null) return replaceChildren(view);
  const hash = location.hash;
  const tenant = /^#\/tenants\/([^/]+)$/.exec(hash);
  const context = { session, announce, view };
  if (tenant) {
    let tenantId;
    try {
      tenantId = decodeURIComponent(tenant[1]);
    } catch {
      return replaceChildren(view, h('p', { class: 'error', role: 'alert' }, 'not a tenant address'));
    }
    stopView = tenantView(context, tenantId);
  } else if (hash === '#/blocks' && session.role !== 'tenant-admin') {
    stopView = blocksView(context);
  } else {
    location.replace(homeRoute());
    return;
  }
  $('main').focus();
}

async function onSignIn(event) {
  event.preventDefault();
  const field = $('token');
  const error = $('sign-in-error');
  error.textContent = '';
  signIn(field.value.trim());
  field.value = '';
  try {
    session = await api('GET', '/session');
  } catch (failure) {
    signOut();
    error.textContent =
      failure instanceof ApiError && failure.status === 401
        ? 'That token is not accepted by the admin API.'
        : errorMessage(failure);
    return;
  }
  $('sign-in').hidden = true;
  $('sign-out').hidden = false;
  $('who').textContent =
    session.role === 'tenant-admin' ? `tenant-admin of ${session.tenantId}` : `${session.role}`;
  renderNav();
  if (location.hash.startsWith('#/')) route();
  else location.hash = homeRoute();
}

function onSignOut(reason = '') {
  signOut();
  session = null;
  stopView();
  stopView = () => {};
  $('sign-in').hidden = false;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  renderNav();
  replaceChildren($('view'));
  $('sign-in-error').textContent = reason;
  $('token').focus();
}

$('sign-in-form').addEventListener('submit', onSignIn);
$('sign-out').addEventListener('click', () => onSignOut());
window.addEventListener('relayguard:token-refused', () => {
  if (session !== null) onSignOut('The admin API no longer accepts this token: sign in again.');
});
window.addEventListener('hashchange', route);
