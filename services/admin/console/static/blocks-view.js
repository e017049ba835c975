// Blocked tenants: a live list (polled every few seconds while shown), filtered and sorted in the page.
import { api, path } from './api.js';
import { chart } from './chart.js';
import { ago, alertBox, h, replaceChildren, time } from './dom.js';

export const POLL_MS = 5_000;
/** Pages of 200 fetched at most: 2,000 blocked tenants is an incident, and the filter still finds them. */
const MAX_PAGES = 10;

const RULES = { VOLUME: 'volume (U and U/T)', DISTINCT_DOMAINS: 'distinct domains (D and U)' };

/** What a block refuses: the whole tenant, or its connectors named. */
function scopeOf(block) {
  return block.scope === 'CONNECTOR' ? `connectors ${block.connectorIds.join(', ')}` : 'whole tenant';
}

const COLUMNS = [
  { key: 'tenantId', label: 'Tenant', compare: (a, b) => a.tenantId.localeCompare(b.tenantId) },
  { key: 'blockedAt', label: 'Blocked since', compare: (a, b) => a.blockedAt - b.blockedAt },
  { key: 'scope', label: 'Scope', compare: (a, b) => scopeOf(a).localeCompare(scopeOf(b)) },
  { key: 'reason', label: 'Rule', compare: (a, b) => a.reason.localeCompare(b.reason) },
  { key: 'unregistered', label: 'U', compare: (a, b) => a.unregistered - b.unregistered },
  { key: 'total', label: 'T', compare: (a, b) => a.total - b.total },
  {
    key: 'distinctUnregisteredDomains',
    label: 'D',
    compare: (a, b) => a.distinctUnregisteredDomains - b.distinctUnregisteredDomains,
  },
  { key: 'probation', label: 'On probation', compare: (a, b) => Number(a.probation) - Number(b.probation) },
];

const HOUR_MS = 3_600_000;

/**
 * The tenants blocked now, by the hour their block was decided, over the last day (or the day up to the newest
 * block, when the relays' event time runs ahead of this browser's clock). Lifted blocks are not in the list.
 */
function blockRate(blocks, now) {
  const end = Math.floor(Math.max(now, ...blocks.map((block) => block.blockedAt)) / HOUR_MS) * HOUR_MS;
  const hours = Array.from({ length: 24 }, (_, i) => ({ at: end - (23 - i) * HOUR_MS }));
  const counts = hours.map(
    (hour) =>
      blocks.filter((block) => block.blockedAt >= hour.at && block.blockedAt < hour.at + HOUR_MS).length,
  );
  return chart({
    id: 'block-rate',
    title: 'Blocks in force, by the hour they were decided',
    description: 'How many of the tenants blocked now were blocked in each of the last 24 hours (UTC).',
    minutes: hours,
    bars: [{ label: 'tenants blocked in that hour, still blocked', className: 'u', values: counts }],
  });
}

async function fetchBlocks() {
  const blocks = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = cursor === null ? '?limit=200' : path`?limit=200&cursor=${cursor}`;
    const answer = await api('GET', `/blocks${query}`);
    blocks.push(...answer.blocks);
    cursor = answer.nextCursor;
    if (cursor === null) return { blocks, complete: true };
  }
  return { blocks, complete: false };
}

export function blocksView({ view, announce }) {
  const state = { blocks: null, complete: true, error: null, updatedAt: null, filter: '', rule: '' };
  let sort = { key: 'blockedAt', descending: true };
  let timer = null;
  let stopped = false;

  const filterInput = h('input', {
    id: 'blocks-filter',
    type: 'search',
    autocomplete: 'off',
    on: {
      input: (event) => {
        state.filter = event.target.value.trim().toLowerCase();
        renderTable();
      },
    },
  });
  const ruleSelect = h(
    'select',
    {
      id: 'blocks-rule',
      on: {
        change: (event) => {
          state.rule = event.target.value;
          renderTable();
        },
      },
    },
    h('option', { value: '' }, 'any rule'),
    Object.entries(RULES).map(([value, label]) => h('option', { value }, label)),
  );
  const tableHolder = h('div', { id: 'blocks-table' });
  const rateHolder = h('div', { class: 'rate' });
  const updated = h('p', { class: 'muted' });
  replaceChildren(
    view,
    h('h1', null, 'Blocked tenants'),
    h(
      'p',
      null,
      'Tenants blocked in enforce mode from sending from unregistered domains, newest first. Monitor-mode ' +
        "decisions are never enforced: a tenant's page shows them. The list refreshes every few seconds.",
    ),
    h(
      'form',
      { class: 'filters', on: { submit: (event) => event.preventDefault() } },
      h('label', { for: 'blocks-filter' }, 'Filter by tenant'),
      filterInput,
      h('label', { for: 'blocks-rule' }, 'Rule'),
      ruleSelect,
    ),
    updated,
    tableHolder,
    rateHolder,
  );

  function sortButton(column) {
    const active = sort.key === column.key;
    return h(
      'button',
      {
        type: 'button',
        class: 'sort',
        on: {
          click: () => {
            sort = { key: column.key, descending: active ? !sort.descending : column.key === 'blockedAt' };
            renderTable();
            document.querySelector(`[data-sort="${column.key}"] button`)?.focus();
          },
        },
      },
      column.label,
      active ? (sort.descending ? ' ▼' : ' ▲') : '',
    );
  }

  function renderTable() {
    if (state.error !== null) return replaceChildren(tableHolder, alertBox(state.error));
    if (state.blocks === null) return replaceChildren(tableHolder, h('p', { class: 'muted' }, 'Loading…'));
    const column = COLUMNS.find((candidate) => candidate.key === sort.key);
    const rows = state.blocks
      .filter((block) => block.tenantId.toLowerCase().includes(state.filter))
      .filter((block) => state.rule === '' || block.reason === state.rule)
      .sort((a, b) => (sort.descending ? -1 : 1) * column.compare(a, b));
    if (state.blocks.length === 0) {
      return replaceChildren(tableHolder, h('p', { class: 'empty' }, 'No tenant is blocked.'));
    }
    if (rows.length === 0) {
      return replaceChildren(
        tableHolder,
        h('p', { class: 'empty' }, 'No blocked tenant matches the filter.'),
      );
    }
    const now = Date.now();
    replaceChildren(
      tableHolder,
      h(
        'table',
        null,
        h('caption', null, `${rows.length} of ${state.blocks.length} blocked tenants`),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            COLUMNS.map((candidate) =>
              h(
                'th',
                {
                  scope: 'col',
                  'data-sort': candidate.key,
                  'aria-sort':
                    candidate.key === sort.key ? (sort.descending ? 'descending' : 'ascending') : 'none',
                },
                sortButton(candidate),
              ),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          rows.map((block) =>
            h(
              'tr',
              null,
              h(
                'td',
                null,
                h('a', { href: `#/tenants/${encodeURIComponent(block.tenantId)}` }, block.tenantId),
              ),
              h(
                'td',
                null,
                time(block.blockedAt),
                h('span', { class: 'muted' }, ` (${ago(block.blockedAt, now)})`),
              ),
              h('td', null, scopeOf(block)),
              h('td', null, RULES[block.reason] ?? block.reason),
              h('td', { class: 'number' }, block.unregistered),
              h('td', { class: 'number' }, block.total),
              h('td', { class: 'number' }, block.distinctUnregisteredDomains),
              h('td', null, block.probation ? 'yes' : 'no'),
            ),
          ),
        ),
      ),
      state.complete ? null : h('p', { class: 'muted' }, 'Only the newest 2,000 blocks are listed.'),
    );
  }

  async function refresh() {
    const before = state.blocks?.length;
    try {
      const { blocks, complete } = await fetchBlocks();
      state.blocks = blocks;
      state.complete = complete;
      state.error = null;
      state.updatedAt = Date.now();
    } catch (error) {
      state.error = error;
    }
    if (stopped) return;
    replaceChildren(updated, state.updatedAt === null ? '' : ['Updated ', time(state.updatedAt)]);
    renderTable();
    replaceChildren(rateHolder, state.blocks?.length ? blockRate(state.blocks, Date.now()) : null);
    if (state.blocks !== null && before !== undefined && before !== state.blocks.length) {
      announce(`${state.blocks.length} tenants blocked`);
    }
    timer = setTimeout(refresh, POLL_MS);
  }

  renderTable();
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
