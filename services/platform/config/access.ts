// Who may talk to relayguard: the API tokens (RELAYGUARD_TOKENS) and the relays the Postfix policy server answers
// (RELAYGUARD_POSTFIX_ALLOWED_CLIENTS).
import { z } from 'zod';
import { type IpRange, parseIpRange } from '../../core/ip-ranges.js';
import { isGuessableToken } from './token-strength.js';
import { ID_PATTERN, ID_RULE, MIN_TOKEN_LENGTH } from './values.js';

/** relay: asks for decisions (POST /v1/decisions) and nothing else; the others are the admin API's roles. */
export type TokenRole = 'operator' | 'reader' | 'tenant-admin' | 'relay';

export interface ApiToken {
  readonly token: string;
  readonly role: TokenRole;
  /** The tenant a tenant-admin token manages; null for the other roles. */
  readonly tenantId: string | null;
}

/** Loopback only, like the default bind address: a relay elsewhere must be listed. */
export const DEFAULT_POSTFIX_ALLOWED_CLIENTS = '127.0.0.0/8,::1/128';

// Messages name the entry by position only: a token must never appear in an error message or a log line.
export const tokensVariable = z.string().transform((value, ctx): ApiToken[] => {
  const tokens: ApiToken[] = [];
  const entries = value.trim() === '' ? [] : value.split(',');
  for (const [index, raw] of entries.entries()) {
    const entry = raw.trim();
    const problem = (message: string) =>
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: ${message}` });
    const [token = '', role = '', ...rest] = entry.split(':');
    const tenantId = rest.join(':');
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      problem(
        `the token must be at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. from \`openssl rand -hex 24\`)`,
      );
    } else if (isGuessableToken(token)) {
      problem(
        'the token is guessable (repeats, runs like abcd or 1234, or common words); use a random one (e.g. from `openssl rand -hex 24`)',
      );
    } else if (tokens.some((other) => other.token === token)) {
      problem('the same token appears twice');
    } else if ((role === 'operator' || role === 'reader' || role === 'relay') && rest.length === 0) {
      tokens.push({ token, role, tenantId: null });
    } else if (role === 'tenant-admin' && ID_PATTERN.test(tenantId)) {
      tokens.push({ token, role, tenantId });
    } else if (role === 'tenant-admin') {
      problem(`expected <token>:tenant-admin:<tenantId> with a tenant id of ${ID_RULE}`);
    } else {
      problem('expected <token>:operator, <token>:reader, <token>:relay or <token>:tenant-admin:<tenantId>');
    }
  }
  return tokens;
});

// The Postfix policy protocol has no authentication: the policy server answers only clients in these ranges.
export const allowedClients = z.string().transform((value, ctx): IpRange[] => {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'list at least one CIDR range of the relays (0.0.0.0/0,::/0 would allow every client)',
    });
  }
  const ranges: IpRange[] = [];
  for (const [index, entry] of entries.entries()) {
    try {
      ranges.push(parseIpRange(entry, `entry ${index + 1}`));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }
  return ranges;
});
