// One attempt to post a CloudEvent to an endpoint: the destination check (SSRF), the signature, the request, and
// what its outcome means for the next attempt.
import type { WebhookEndpoint } from '../platform/config.js';
import type { Clock } from '../platform/ports.js';
import { SIGNATURE_HEADER, signWebhook } from '../sdk/webhook-signature.js';
import { CLOUDEVENTS_CONTENT_TYPE, type WebhookPayload } from './cloud-event.js';
import { errorCode, refusedDestination } from './destination.js';

export type Attempt =
  | { readonly outcome: 'delivered' }
  | { readonly outcome: 'retry' | 'refused'; readonly reason: string };

export interface AttemptOptions {
  /** Loopback, private and link-local destinations allowed (RELAYGUARD_WEBHOOK_ALLOW_PRIVATE). */
  readonly allowPrivate: boolean;
  /** Signature timestamps. */
  readonly clock: Clock;
  /** How long the request may take. */
  readonly timeoutMs: number;
  /** Aborted when the deliverer closes: the request ends and the caller's delivery is left for later. */
  readonly closing: AbortSignal;
}

export async function attemptDelivery(
  endpoint: WebhookEndpoint,
  payload: WebhookPayload,
  options: AttemptOptions,
): Promise<Attempt> {
  if (!options.allowPrivate) {
    let refused: string | null;
    try {
      refused = await refusedDestination(endpoint.url);
    } catch (error) {
      return { outcome: 'retry', reason: `resolving the host failed: ${errorCode(error)}` };
    }
    if (refused) return { outcome: 'refused', reason: `destination refused: ${refused}` };
  }
  const timestamp = Math.floor(options.clock.now() / 1000);
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': CLOUDEVENTS_CONTENT_TYPE,
        'idempotency-key': payload.id,
        'user-agent': 'relayguard-webhooks',
        [SIGNATURE_HEADER]: signWebhook(endpoint.secret, timestamp, payload.body),
      },
      body: payload.body,
      // A redirect could lead anywhere, past the destination check: it is a failure, not followed.
      redirect: 'manual',
      signal: AbortSignal.any([options.closing, AbortSignal.timeout(options.timeoutMs)]),
    });
    await response.body?.cancel();
  } catch (error) {
    if (options.closing.aborted) throw error;
    return { outcome: 'retry', reason: `request failed: ${errorCode(error)}` };
  }
  if (response.status >= 200 && response.status < 300) return { outcome: 'delivered' };
  const reason = `the receiver answered ${response.status}`;
  // A 4xx says the request itself is refused (a bad signature, an unknown route): trying again will not help.
  // 408 and 429 say try later.
  const refused = response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status);
  return { outcome: refused ? 'refused' : 'retry', reason };
}
