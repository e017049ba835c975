// The TXT resolver that domain verification asks: node's c-ares resolver, pointed at the configured servers
// (RELAYGUARD_DNS_SERVERS) or the system's, with a bounded timeout and number of tries.
import { Resolver } from 'node:dns/promises';
import { RelayguardError } from '../core/errors.js';
import type { TxtResolver } from './ports.js';

export interface DnsOptions {
  /** `host` or `host:port` (`[v6]:port`); empty for the system's resolvers. */
  readonly servers: readonly string[];
  readonly timeoutMs: number;
  readonly tries: number;
}

/** Answers that mean "no such record" rather than "no answer": the name or its TXT records do not exist. */
const ABSENT = new Set(['ENODATA', 'ENOTFOUND']);

export function dnsTxtResolver(options: DnsOptions): TxtResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);
  return {
    async resolveTxt(name) {
      try {
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'unknown';
        if (ABSENT.has(code)) return [];
        throw new RelayguardError('DNS_UNAVAILABLE', `DNS lookup of ${name} failed (${code})`, {
          cause: error,
        });
      }
    },
  };
}
