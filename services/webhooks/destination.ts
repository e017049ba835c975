// Where a webhook may go. An endpoint's URL is configuration, but its host name resolves at delivery time, and a
// name that resolves to loopback, a private or link-local range (cloud metadata at 169.254.169.254) would let a
// webhook reach the deployment's own network (SSRF). Those are refused unless the operator allows them
// (RELAYGUARD_WEBHOOK_ALLOW_PRIVATE, for receivers inside the network). The rule applies when each delivery is
// posted, and when an endpoint is registered through the admin API, so a refused URL is refused where it is typed.
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { RelayguardError } from '../core/errors.js';

/** ipaddr.js range names that are the public internet; everything else is someone's own network or reserved. */
const PUBLIC_RANGE = 'unicast';

/** Why the URL's destination is refused, or null when every address it resolves to is public. */
export async function refusedDestination(url: string): Promise<string | null> {
  const { hostname } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const addresses = ipaddr.isValid(host)
    ? [host]
    : (await lookup(host, { all: true })).map((entry) => entry.address);
  for (const address of addresses) {
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    }
    const range = parsed.range();
    if (range !== PUBLIC_RANGE) return `${host} resolves to ${address} (${range}), not a public address`;
  }
  return null;
}

/** An endpoint URL as the admin API accepts it; the errors name the field `url` and never quote the whole URL. */
export async function checkEndpointUrl(url: string, allowPrivate: boolean): Promise<void> {
  const invalid = (message: string) =>
    new RelayguardError('INVALID_FIELD', `url: ${message}`, { field: 'url' });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('not a URL; give an http:// or https:// URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw invalid('must be an http:// or https:// URL');
  // The URL is shown back when endpoints are listed; the signature is what authenticates a delivery.
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalid('no user or password in the URL; receivers check the signature instead');
  }
  if (allowPrivate) return;
  let refused: string | null;
  try {
    refused = await refusedDestination(url);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTFOUND' || code === 'ENODATA')
      throw invalid(`the host ${parsed.hostname} does not resolve`);
    throw new RelayguardError(
      'DNS_UNAVAILABLE',
      `url: resolving ${parsed.hostname} failed (${code}); retry`,
      {
        field: 'url',
        cause: error,
      },
    );
  }
  if (refused) {
    throw invalid(`${refused}; webhooks go to public addresses unless RELAYGUARD_WEBHOOK_ALLOW_PRIVATE=true`);
  }
}

/** A network error's code (ECONNREFUSED, ENOTFOUND, TimeoutError), never its message: it may quote the URL. */
export function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : ((error as Error).name ?? 'Error');
}
