// The admin API client. The token lives in this module's memory only: never in a URL, a cookie, localStorage or
// sessionStorage. It travels in the Authorization header, which a browser never adds by itself, so another site
// cannot make an authenticated request on the person's behalf (no CSRF token is needed: there is no ambient
// credential to abuse), and the API sends no CORS headers, so another origin cannot read the answers either.

let token = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error ?? `HTTP_${status}`;
    this.checks = body?.checks ?? null;
  }
}

export function signIn(value) {
  token = value;
}

export function signOut() {
  token = null;
}

/** `/tenants/${id}/status` with every interpolated value URL-encoded. */
export function path(strings, ...values) {
  return strings.reduce(
    (out, part, i) => out + part + (i < values.length ? encodeURIComponent(values[i]) : ''),
    '',
  );
}

export async function api(method, route, body) {
  if (token === null) throw new ApiError(401, { error: 'UNAUTHENTICATED', message: 'sign in first' });
  const headers = { accept: 'application/json', authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/v1${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await response.text();
  let data;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = { error: `HTTP_${response.status}`, message: text.slice(0, 200) };
  }
  if (response.status === 401 && token !== null) {
    // The token was revoked or the service restarted with other tokens: nothing more can be read with it.
    token = null;
    dispatchEvent(new CustomEvent('relayguard:token-refused'));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
