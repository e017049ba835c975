// Which tenant an SMTP client is, for a Postfix log backtest: the connectors of a tenants file (the live
// enforcer's resolveByAddress), or a plain mapping file for operators who have not configured connectors yet:
//
//   # address or CIDR    tenant    [relay path]   [connector id]
//   192.0.2.0/24          acme      ONPREM         acme-hq
//   2001:db8:5::/48       globex    APPLICATION
//
// The relay path defaults to ONPREM and the connector id to the range itself, so the evidence still says which
// client range carried the volume.
import { type RelayPath, RelayPathValues } from '../core/contracts.generated.js';
import type { TenantDirectory } from '../core/directory.js';
import { isRelayguardError, RelayguardError } from '../core/errors.js';
import { IpRangeIndex, parseIpAddress, parseIpRange } from '../core/ip-ranges.js';
import type { ClientResolver, ResolvedClient } from './postfix-log.js';

export function directoryResolver(directory: TenantDirectory): ClientResolver {
  return (address) => {
    const resolved = directory.resolveByAddress(address);
    return resolved
      ? {
          tenantId: resolved.tenantId,
          connectorId: resolved.connector.connectorId,
          relayPath: resolved.connector.relayPath,
        }
      : undefined;
  };
}

/** Parses a mapping file; errors name the file, the line and what to fix. */
export function parseClientMap(text: string, source: string): ClientResolver {
  const index = new IpRangeIndex<ResolvedClient>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${source}:${i + 1}`;
    const [range, tenantId, relayPath = 'ONPREM', connectorId, ...extra] = line.split(/\s+/);
    if (tenantId === undefined || extra.length > 0)
      throw new RelayguardError(
        'INVALID_FIELD',
        `${where}: expected "<address or CIDR> <tenant> [ONPREM|FORWARDED|APPLICATION] [connector id]"`,
        { field: 'clients' },
      );
    if (!(RelayPathValues as readonly string[]).includes(relayPath))
      throw new RelayguardError(
        'INVALID_FIELD',
        `${where}: relay path "${relayPath.slice(0, 20)}" must be one of ${RelayPathValues.join(', ')}`,
        { field: 'relayPath' },
      );
    let parsed: ReturnType<typeof parseIpRange>;
    try {
      parsed = parseIpRange(range!, 'address');
    } catch (error) {
      if (isRelayguardError(error))
        throw new RelayguardError(error.code, `${where}: ${error.message}`, error);
      throw error;
    }
    if (index.get(parsed))
      throw new RelayguardError('INVALID_FIELD', `${where}: ${parsed.cidr} is mapped twice`, {
        field: 'address',
      });
    index.set(parsed, {
      tenantId,
      relayPath: relayPath as RelayPath,
      connectorId: connectorId ?? parsed.cidr,
    });
  });
  return (address) => index.lookup(parseIpAddress(address));
}
