// Building the page without HTML strings: every text goes in as a text node and every attribute through
// setAttribute, so nothing the API returns (a domain, a connector id, a ticket) is ever parsed as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Children may be nodes, strings, numbers, arrays of them, or null/undefined/false (left out). */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.append(child);
    else parent.append(document.createTextNode(String(child)));
  }
  return parent;
}

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (/^on/i.test(name)) {
      // Handlers go through `on`: an attribute handler would be inline script, which the CSP refuses anyway.
      throw new Error(`attribute ${name}: use { on: { event: handler } }`);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  return element;
}

/** An HTML element: h('a', { href: '#/blocks' }, 'Blocked tenants'). */
export function h(tag, attributes, ...children) {
  return append(setAttributes(document.createElement(tag), attributes), children);
}

/** An SVG element, the same way. */
export function s(tag, attributes, ...children) {
  return append(setAttributes(document.createElementNS(SVG_NS, tag), attributes), children);
}

/** A form the page handles: `submit(form)` runs instead of a navigation. Attributes as h's, `on` included. */
export function pageForm(attributes, submit, ...children) {
  const submitted = (event) => {
    event.preventDefault();
    return submit(event.target);
  };
  return h('form', { ...attributes, on: { ...attributes.on, submit: submitted } }, ...children);
}

/** A headed list in a `div` of `className`: `listTag` 'ol' where the order matters, else 'ul'. */
export function headedList(className, title, listTag, items) {
  return h(
    'div',
    { class: className },
    h('h3', null, title),
    h(
      listTag,
      null,
      items.map((item) => h('li', null, item)),
    ),
  );
}

export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Epoch ms as `2026-11-28 09:14 UTC` in a <time> element whose datetime is the exact instant. */
export function time(ms) {
  if (ms === null || ms === undefined) return '—';
  const iso = new Date(ms).toISOString();
  return h('time', { datetime: iso }, `${iso.slice(0, 16).replace('T', ' ')} UTC`);
}

/** How long ago, in words: `12 min ago`. */
export function ago(ms, now = Date.now()) {
  const minutes = Math.max(0, Math.round((now - ms) / 60_000));
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** A table with a caption, column headers and rows of cells; `empty` says what no rows means. */
export function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    null,
    h('caption', null, caption),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        headers.map((header) => h('th', { scope: 'col' }, header)),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((cells) =>
        h(
          'tr',
          null,
          cells.map((cell) => h('td', null, cell)),
        ),
      ),
    ),
  );
}

/** A refusal or failure of the API, in the API's own words: `403 FORBIDDEN: only an operator token may do this`. */
export function errorMessage(error) {
  if (error && typeof error.status === 'number') {
    return `${error.status} ${error.code}: ${error.message}`;
  }
  return `the console could not reach the admin API: ${error?.message ?? error}`;
}

export function alertBox(error) {
  return h('p', { class: 'error', role: 'alert' }, errorMessage(error));
}

/** A list of terms and their details; a falsy pair is left out. */
export function definitions(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(Boolean).map(([term, detail]) => [h('dt', null, term), h('dd', null, detail)]),
  );
}
