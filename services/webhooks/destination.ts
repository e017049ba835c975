// Where a webhook may go. An endpoint's URL is configuration, but its host name resolves at delivery time, and a
// name that resolves to loopback, a private or link-local range (cloud metadata at 169.254.169.254) would let a
// webhook reach the deployment's own network (SSRF). Those are refused unless the operator allows them
// (RELAYGUARD_WEBHOOK_ALLOW_PRIVATE, for receivers inside the network).
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

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
