// Postfix mail logs into MessageSubmitted events. Postfix logs one message over several lines that share its
// queue id (Postfix's "Postfix logging" and "QSHAPE" documents):
//   postfix/smtpd[pid]:   4F9D2C0A1B: client=mail.example[192.0.2.10]
//   postfix/cleanup[pid]: 4F9D2C0A1B: message-id=<...>
//   postfix/qmgr[pid]:    4F9D2C0A1B: from=<alice@example.com>, size=2048, nrcpt=2 (queue active)
//   postfix/qmgr[pid]:    4F9D2C0A1B: removed
// The qmgr `from=` line is the moment the message entered the queue: the event is emitted then, with the client
// of the smtpd line resolved to a tenant and connector. Lines are framed by syslog (`Nov 28 09:00:01 host ...`,
// no year) or by Postfix's own maillog_file (RFC 3339 `2026-11-28T09:00:01.123456+00:00 host ...`).
// Malformed or partial input is counted by kind, never fatal.
import type { MessageSubmitted, RelayPath } from '../core/contracts.generated.js';
import { domainOfAddress, SENDERLESS, senderDomainOf } from '../core/domain-name.js';
import { isRelayguardError } from '../core/errors.js';

export interface ResolvedClient {
  readonly tenantId: string;
  readonly connectorId: string | null;
  readonly relayPath: RelayPath;
}

/** Finds the tenant of an SMTP client address; throws a RelayguardError for an address that is not one. */
export type ClientResolver = (address: string) => ResolvedClient | undefined;

export type PostfixProblem =
  /** Not a syslog or maillog_file line, or a smtpd/cleanup/qmgr line whose fields do not parse. */
  | 'malformed'
  /** A qmgr `from=` line whose queue id has no smtpd `client=` line in the log (local submission, log cut). */
  | 'no-client'
  /** A smtpd `client=` line never followed by a qmgr `from=` line (rejected at end of data, or log cut). */
  | 'no-qmgr'
  /** The client address belongs to no configured connector or mapping. */
  | 'unresolved-client'
  /**
   * An envelope sender without a usable domain: the event carries its stand-in domain (address-literal.invalid,
   * unparsable-sender.invalid), as the policy server's does, and it counts as unregistered.
   */
  | 'invalid-sender';

export const POSTFIX_PROBLEMS: readonly PostfixProblem[] = [
  'malformed',
  'no-client',
  'no-qmgr',
  'unresolved-client',
  'invalid-sender',
];

export interface PostfixLogOptions {
  readonly resolve: ClientResolver;
  /** Year of the first syslog-framed line (syslog timestamps carry none); later lines roll over at New Year. */
  readonly year: number;
  /** How syslog timestamps (which carry no zone) are read: the local zone (TZ) of this process, or UTC. */
  readonly syslogZone: 'local' | 'utc';
  /** A message whose qmgr line has not come this long after its smtpd line is given up as partial. */
  readonly horizonMs?: number;
}

export interface PostfixLogStats {
  readonly lines: number;
  /** smtpd, cleanup and qmgr lines about a queued message. */
  readonly used: number;
  readonly messages: number;
  /** Messages re-injected by a content filter (`orig_queue_id=`): the original was counted already. */
  readonly reinjected: number;
  readonly problems: Readonly<Record<PostfixProblem, { count: number; firstLine: number | null }>>;
  /** Client addresses that resolved to no tenant, most messages first (at most 10). */
  readonly unresolvedClients: readonly { readonly address: string; readonly messages: number }[];
}

interface Pending {
  /** Event time of the newest line about this message. */
  at: number;
  client: string | null;
  headerFromDomain: string | null;
  /** Emitted (or given up): a later qmgr line for it is a deferred message becoming active again. */
  done: boolean;
}

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
const DEFAULT_HORIZON_MS = 6 * 3_600_000;
const SWEEP_EVERY = 65_536;
const QUEUE_ID = /^[0-9A-Za-z]+$/;
const QMGR_FROM = /^from=<(.*)>, size=(\d+), nrcpt=(\d+)/;
const HEADER_FROM = /header From: (.*) from [^\s[]*\[[^\]]*\];/;

export class PostfixLogParser {
  readonly #options: PostfixLogOptions;
  readonly #horizonMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #resolved = new Map<string, ResolvedClient | null>();
  readonly #unresolved = new Map<string, number>();
  readonly #problems = Object.fromEntries(
    POSTFIX_PROBLEMS.map((problem) => [problem, { count: 0, firstLine: null as number | null }]),
  ) as Record<PostfixProblem, { count: number; firstLine: number | null }>;
  #lines = 0;
  #used = 0;
  #messages = 0;
  #reinjected = 0;
  #year: number;
  #lastMonth = -1;
  #now = 0;
  /** Epoch ms of the start of each local hour seen: Date's local-time arithmetic is slow and hours repeat. */
  readonly #hours = new Map<number, number>();

  constructor(options: PostfixLogOptions) {
    this.#options = options;
    this.#horizonMs = options.horizonMs ?? DEFAULT_HORIZON_MS;
    this.#year = options.year;
  }

  /** One log line (without its newline); returns the event it completes, if any. */
  line(text: string): MessageSubmitted | null {
    const lineNumber = ++this.#lines;
    if (lineNumber % SWEEP_EVERY === 0) this.#sweep(this.#now - this.#horizonMs);
    if (text.length === 0) return null;
    const frame = this.#frame(text);
    if (frame === null) return this.#problem('malformed', lineNumber);
    const { at, host, daemon, body } = frame;
    if (daemon !== 'smtpd' && daemon !== 'cleanup' && daemon !== 'qmgr') return null;
    const colon = body.indexOf(': ');
    if (colon === -1) return null;
    const queueId = body.slice(0, colon);
    if (queueId === 'NOQUEUE' || !QUEUE_ID.test(queueId)) return null;
    const rest = body.slice(colon + 2);
    if (at > this.#now) this.#now = at;
    const key = `${host} ${queueId}`;

    if (daemon === 'smtpd') {
      if (!rest.startsWith('client=')) return null;
      this.#used++;
      const open = rest.indexOf('[');
      const close = rest.indexOf(']', open);
      if (open === -1 || close === -1 || close === open + 1) return this.#problem('malformed', lineNumber);
      if (rest.includes(', orig_queue_id=')) {
        this.#reinjected++;
        this.#pending.set(key, { at, client: null, headerFromDomain: null, done: true });
        return null;
      }
      this.#pending.set(key, {
        at,
        client: rest.slice(open + 1, close),
        headerFromDomain: null,
        done: false,
      });
      return null;
    }

    if (daemon === 'cleanup') {
      const pending = this.#pending.get(key);
      if (rest.startsWith('message-id=')) {
        this.#used++;
        if (pending) pending.at = at;
      } else if (pending && rest.includes('header From: ')) {
        this.#used++;
        pending.headerFromDomain = headerFromDomain(rest);
      }
      return null;
    }

    if (rest === 'removed') {
      this.#used++;
      const pending = this.#pending.get(key);
      if (pending && !pending.done) this.#problem('no-qmgr', lineNumber);
      this.#pending.delete(key);
      return null;
    }
    const from = QMGR_FROM.exec(rest);
    if (from === null) return null;
    this.#used++;
    const pending = this.#pending.get(key);
    if (pending === undefined) {
      this.#pending.set(key, { at, client: null, headerFromDomain: null, done: true });
      return this.#problem('no-client', lineNumber);
    }
    if (pending.done) return null;
    pending.done = true;
    pending.at = at;
    const client = this.#resolve(pending.client!);
    if (client === undefined) return this.#problem('malformed', lineNumber);
    if (client === null) {
      this.#unresolved.set(pending.client!, (this.#unresolved.get(pending.client!) ?? 0) + 1);
      return this.#problem('unresolved-client', lineNumber);
    }
    this.#messages++;
    // As the policy server publishes it: an address literal or an unparsable sender under its stand-in domain.
    const envelopeSenderDomain = senderDomainOf(from[1]!, 'sender');
    if (
      envelopeSenderDomain === SENDERLESS.addressLiteral ||
      envelopeSenderDomain === SENDERLESS.unparsable
    ) {
      this.#problem('invalid-sender', lineNumber);
    }
    return {
      // The id the policy server gives the same message (services/sdk/message.ts): host and queue id.
      eventId: `${host}/${queueId}`,
      tenantId: client.tenantId,
      occurredAt: at,
      envelopeSenderDomain,
      headerFromDomain: pending.headerFromDomain,
      relayPath: client.relayPath,
      connectorId: client.connectorId,
      clientAddress: pending.client,
      queueId,
      relayHost: host,
      recipientCount: Number(from[3]),
      sizeBytes: Number(from[2]),
    };
  }

  /** Call at the end of the log: messages still waiting for their qmgr line are partial. */
  finish(): PostfixLogStats {
    this.#sweep(Number.POSITIVE_INFINITY);
    return {
      lines: this.#lines,
      used: this.#used,
      messages: this.#messages,
      reinjected: this.#reinjected,
      problems: structuredClone(this.#problems),
      unresolvedClients: [...this.#unresolved]
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, 10)
        .map(([address, messages]) => ({ address, messages })),
    };
  }

  #problem(problem: PostfixProblem, lineNumber: number | null): null {
    const entry = this.#problems[problem];
    entry.count++;
    entry.firstLine ??= lineNumber;
    return null;
  }

  /** Drops messages last seen before `before`; those never queued are partial. */
  #sweep(before: number): void {
    for (const [key, pending] of this.#pending) {
      if (pending.at >= before) continue;
      if (!pending.done) this.#problem('no-qmgr', null);
      this.#pending.delete(key);
    }
  }

  /** The tenant for a client address; null when none; undefined when the address is not an IP address. */
  #resolve(address: string): ResolvedClient | null | undefined {
    const cached = this.#resolved.get(address);
    if (cached !== undefined) return cached;
    let resolved: ResolvedClient | null;
    try {
      resolved = this.#options.resolve(address) ?? null;
    } catch (error) {
      if (isRelayguardError(error)) return undefined;
      throw error;
    }
    this.#resolved.set(address, resolved);
    return resolved;
  }

  /** Timestamp, host and program of a syslog or maillog_file line; null when it is neither. */
  #frame(text: string): { at: number; host: string; daemon: string; body: string } | null {
    let at: number;
    let end: number;
    if (text.charCodeAt(4) === 45 /* - */ && text.charCodeAt(10) === 84 /* T */) {
      end = text.indexOf(' ');
      at = end === -1 ? Number.NaN : Date.parse(text.slice(0, end));
    } else {
      end = 15;
      at = this.#syslogTime(text);
    }
    if (Number.isNaN(at) || text.charCodeAt(end) !== 32) return null;
    const hostEnd = text.indexOf(' ', end + 1);
    if (hostEnd === -1) return null;
    const programEnd = text.indexOf(': ', hostEnd + 1);
    if (programEnd === -1) return null;
    const bracket = text.indexOf('[', hostEnd + 1);
    const nameEnd = bracket !== -1 && bracket < programEnd ? bracket : programEnd;
    const slash = text.lastIndexOf('/', nameEnd);
    // Postfix programs are "<syslog_name>/<daemon>" (postfix/smtpd, postfix-out/qmgr, postfix/submission/smtpd).
    if (slash <= hostEnd) return { at, host: '', daemon: '', body: '' };
    return {
      at,
      host: text.slice(end + 1, hostEnd),
      daemon: text.slice(slash + 1, nameEnd),
      body: text.slice(programEnd + 2),
    };
  }

  /** `Nov 28 09:00:01` (day space-padded) in the configured zone; NaN when it is not one. */
  #syslogTime(text: string): number {
    const month = MONTHS.indexOf(text.slice(0, 3));
    if (month === -1 || month % 3 !== 0 || text.charCodeAt(3) !== 32) return Number.NaN;
    const day = digits(text, 4, 2);
    const hour = digits(text, 7, 2);
    const minute = digits(text, 10, 2);
    const second = digits(text, 13, 2);
    if (text.charCodeAt(9) !== 58 || text.charCodeAt(12) !== 58) return Number.NaN;
    if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return Number.NaN;
    const monthIndex = month / 3;
    // A log that runs past New Year goes from Dec back to Jan.
    if (this.#lastMonth === 11 && monthIndex === 0) this.#year++;
    this.#lastMonth = monthIndex;
    const hourKey = ((this.#year * 12 + monthIndex) * 32 + day) * 24 + hour;
    let hourStart = this.#hours.get(hourKey);
    if (hourStart === undefined) {
      hourStart =
        this.#options.syslogZone === 'utc'
          ? Date.UTC(this.#year, monthIndex, day, hour)
          : new Date(this.#year, monthIndex, day, hour).getTime();
      this.#hours.set(hourKey, hourStart);
    }
    return hourStart + minute * 60_000 + second * 1000;
  }
}

/** Two decimal digits at `at` (the first may be a space, as in syslog's day of month); NaN otherwise. */
function digits(text: string, at: number, length: 2): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const code = text.charCodeAt(i);
    if (code === 32 && i === at) continue;
    if (code < 48 || code > 57) return Number.NaN;
    value = value * 10 + (code - 48);
  }
  return value;
}

/** The domain of the address in a logged `header From:` value (header_checks INFO/WARN); null if none. */
function headerFromDomain(rest: string): string | null {
  const match = HEADER_FROM.exec(rest);
  if (match === null) return null;
  const value = match[1]!;
  const open = value.lastIndexOf('<');
  try {
    return domainOfAddress(
      open !== -1 ? value.slice(open, value.indexOf('>', open) + 1) : value,
      'headerFrom',
    );
  } catch (error) {
    if (isRelayguardError(error)) return null;
    throw error;
  }
}
