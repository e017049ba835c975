// RELAYGUARD_WEBHOOKS: the endpoints block events are posted to.
import { z } from 'zod';
import { ID_PATTERN, ID_RULE, MIN_TOKEN_LENGTH } from './values.js';

/** A webhook endpoint (RELAYGUARD_WEBHOOKS): where block events are posted, signed with its secret. */
export interface WebhookEndpoint {
  /** Names the endpoint in metrics, logs and dead letters (never its URL's credentials or its secret). */
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  readonly events: readonly ('blocked' | 'unblocked')[];
  /** Only these tenants' events; every tenant's when absent. */
  readonly tenants: readonly string[] | undefined;
}

/** An endpoint id, here and in the admin API: it names the endpoint in metric labels, logs and dead letters. */
export const ENDPOINT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const ENDPOINT_ID_RULE = '1-63 lower-case letters, digits or hyphens';

const webhookEntry = z.object({
  id: z.string().regex(ENDPOINT_ID_PATTERN, `id: ${ENDPOINT_ID_RULE}`),
  url: z.url({ protocol: /^https?$/, error: 'url: must be an http:// or https:// URL' }),
  // Messages never echo the value: it is a secret.
  secret: z.string().min(MIN_TOKEN_LENGTH, {
    error: `secret: at least ${MIN_TOKEN_LENGTH} characters (e.g. from \`openssl rand -hex 32\`)`,
  }),
  events: z
    .array(z.enum(['blocked', 'unblocked']))
    .min(1)
    .default(['blocked', 'unblocked']),
  tenants: z
    .array(z.string().regex(ID_PATTERN, `tenants: each ${ID_RULE}`))
    .min(1)
    .optional(),
});

// A JSON array, e.g. [{"id":"billing","url":"https://billing.example/hooks/relayguard","secret":"…"}].
export const webhooksVariable = z.string().transform((value, ctx): WebhookEndpoint[] => {
  if (value.trim() === '') return [];
  let entries: unknown;
  try {
    entries = JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {id, url, secret, events?, tenants?}' });
    return [];
  }
  if (!Array.isArray(entries)) {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {id, url, secret, events?, tenants?}' });
    return [];
  }
  const endpoints: WebhookEndpoint[] = [];
  for (const [index, entry] of entries.entries()) {
    const parsed = webhookEntry.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: ${issue.message}` });
      }
    } else if (endpoints.some((other) => other.id === parsed.data.id)) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: the id ${parsed.data.id} appears twice` });
    } else {
      endpoints.push({ ...parsed.data, tenants: parsed.data.tenants });
    }
  }
  return endpoints;
});
