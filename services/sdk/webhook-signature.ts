// The signature of relayguard's webhooks: HMAC-SHA256, keyed with the endpoint's secret, over
// `<timestamp>.<body>` (the timestamp in Unix seconds, the body exactly as sent), in the header
//
//   relayguard-signature: t=<timestamp>,v1=<hex digest>
//
// Signing the timestamp with the body lets a receiver refuse a replayed delivery: one whose timestamp is outside
// its tolerance (5 minutes by default) is refused, however valid its digest. Only node:crypto: a receiver imports
// this (relayguard/subscriber or relayguard/webhooks) without the rest of relayguard.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'relayguard-signature';
/** How far a delivery's timestamp may be from the receiver's clock, in seconds, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const digest = (secret: string, timestamp: number, body: string | Buffer) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');

/** The signature header's value for a body sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string | Buffer): string {
  return `t=${timestamp},v1=${digest(secret, timestamp, body)}`;
}

export interface WebhookVerification {
  /** The endpoint's secret. */
  readonly secret: string;
  /** The signature header's value as received. */
  readonly header: string | undefined;
  /** The raw body as received: not a re-serialized copy, whose bytes may differ. */
  readonly body: string | Buffer;
  readonly toleranceSeconds?: number;
  /** The receiver's clock, epoch milliseconds; Date.now() by default. */
  readonly now?: number;
}

export type WebhookVerdict =
  | { readonly valid: true; readonly timestamp: number }
  | { readonly valid: false; readonly reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

/** Whether the delivery is relayguard's, unaltered and recent. Never throws for bad input. */
export function verifyWebhook(verification: WebhookVerification): WebhookVerdict {
  const { secret, header, body } = verification;
  if (!header) return { valid: false, reason: 'missing' };
  const fields = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const timestamp = Number(fields.get('t'));
  const signature = fields.get('v1') ?? '';
  if (!Number.isSafeInteger(timestamp) || !/^[0-9a-f]{64}$/.test(signature)) {
    return { valid: false, reason: 'malformed' };
  }
  const tolerance = verification.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((verification.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > tolerance) return { valid: false, reason: 'expired' };
  // Constant time: the comparison must not tell an attacker how many leading characters were right.
  const expected = Buffer.from(digest(secret, timestamp, body), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { valid: false, reason: 'mismatch' };
  return { valid: true, timestamp };
}
