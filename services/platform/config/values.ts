// How one environment variable is read: numbers, ports, flags, URLs and lists, each with a message that says
// what the variable must be.
import { z } from 'zod';

/**
 * A number in plain decimal digits within a range. Not z.coerce: it reads "" and " " as 0 (a random port for
 * RELAYGUARD_HTTP_PORT=" ") and reports "abc" as "expected number, received NaN".
 */
export function numeric(
  fallback: number,
  rule: { min: number; max?: number; fraction?: boolean; note?: string },
) {
  const pattern = rule.fraction ? /^\d+(\.\d+)?$/ : /^\d+$/;
  const range = rule.max === undefined ? `${rule.min} or more` : `from ${rule.min} to ${rule.max}`;
  const kind = rule.fraction ? 'a number' : 'a whole number';
  return z
    .string()
    .trim()
    .refine(
      (value) =>
        pattern.test(value) &&
        Number(value) >= rule.min &&
        (rule.max === undefined || Number(value) <= rule.max),
      {
        error: (issue) =>
          `must be ${kind} ${range}${rule.note ?? ''}, not ${issue.input === '' ? 'blank (unset it for the default)' : `"${issue.input}"`}`,
      },
    )
    .transform(Number)
    .default(fallback);
}
export const port = (fallback: number) =>
  numeric(fallback, { min: 0, max: 65535, note: ' (0 picks a free port)' });
export const positiveInt = (fallback: number, max?: number) => numeric(fallback, { min: 1, max });

/** Tenant and connector ids: what a URL path segment, a Kafka key part and a log field can carry unescaped. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ID_RULE = '1-128 letters, digits, dots, underscores or hyphens, starting with a letter or digit';

/** Short enough to type, long enough that guessing one is hopeless. */
export const MIN_TOKEN_LENGTH = 16;

export const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(z.url().optional())
  .optional();
export const hostPortList = z
  .string()
  .trim()
  .transform((value) => (value === '' ? [] : value.split(',').map((entry) => entry.trim())))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each entry must be host:port')))
  .default([]);
/** Resolver addresses as node's dns.setServers takes them: IPv4 or [IPv6], each with an optional :port. */
export const dnsServerList = z
  .string()
  .trim()
  .transform((value) => (value === '' ? [] : value.split(',').map((entry) => entry.trim())))
  .pipe(
    z.array(
      z
        .string()
        .regex(
          /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/,
          'each entry must be an IP address, with an optional port: 192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53',
        ),
    ),
  )
  .default([]);
export const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');
export const optionalText = z
  .string()
  .transform((value) => (value === '' ? undefined : value))
  .optional();
