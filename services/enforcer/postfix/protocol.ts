// The Postfix policy delegation protocol (SMTPD_POLICY_README), as a pure incremental parser: bytes in,
// requests out. A request is `name=value` lines, each ended by a newline, and an empty line ends it; a
// connection carries many requests, a client may pipeline them, and TCP may cut them anywhere. No I/O here:
// the server feeds chunks as they arrive, so a request split one byte per packet parses the same as a whole one.
//
// Every byte held is bounded: a line longer than `maxAttributeBytes` or a request longer than
// `maxRequestBytes` fails at once, before more is buffered. After a failure the parser accepts nothing more:
// SMTPD_POLICY_README asks the server to log, send no reply and disconnect, so Postfix applies its
// `smtpd_policy_service_default_action`.

export interface PolicyLimits {
  /** Bytes of one request, every line and newline included. Postfix's requests are well under 2 KiB. */
  readonly maxRequestBytes: number;
  /** Attributes in one request. Postfix 3.7 sends 31. */
  readonly maxAttributes: number;
  /** Bytes of one `name=value` line. Postfix itself cuts lines at `line_length_limit` (2048). */
  readonly maxAttributeBytes: number;
}

export const DEFAULT_POLICY_LIMITS: PolicyLimits = Object.freeze({
  maxRequestBytes: 16 * 1024,
  maxAttributes: 100,
  maxAttributeBytes: 4096,
});

/** Why a connection was dropped; these are the values of the protocol-errors metric's `reason` label. */
export type ProtocolErrorReason =
  | 'malformed-line'
  | 'empty-request'
  | 'attribute-too-long'
  | 'too-many-attributes'
  | 'request-too-large'
  | 'invalid-request'
  | 'request-timeout'
  | 'connection-limit'
  | 'client-not-allowed'
  | 'internal-error';

export type PolicyRequest = ReadonlyMap<string, string>;

export type ParseResult =
  | { readonly kind: 'request'; readonly attributes: PolicyRequest }
  | { readonly kind: 'error'; readonly reason: ProtocolErrorReason; readonly detail: string };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const EQUALS = 0x3d;

/**
 * Where the `=` after a valid attribute name is, or -1. Names in SMTPD_POLICY_README are lower-case words joined
 * by underscores (`^[a-z][a-z0-9_]*$`); anything else is not Postfix talking. Checked on the bytes, before any
 * string is made.
 */
function nameEnd(bytes: Uint8Array, start: number, end: number): number {
  const first = bytes[start]!;
  if (first < 0x61 || first > 0x7a) return -1;
  for (let i = start + 1; i < end; i++) {
    const byte = bytes[i]!;
    if (byte === EQUALS) return i;
    const lower = byte >= 0x61 && byte <= 0x7a;
    const digit = byte >= 0x30 && byte <= 0x39;
    if (!lower && !digit && byte !== 0x5f) return -1;
  }
  return -1;
}

export class PolicyRequestParser {
  readonly #limits: PolicyLimits;
  /** Bytes of the line being received, not yet ended by a newline. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #attributes = new Map<string, string>();
  #requestBytes = 0;
  #failed = false;

  constructor(limits: PolicyLimits = DEFAULT_POLICY_LIMITS) {
    this.#limits = limits;
  }

  /** True between the first byte of a request and its empty line: the request timeout runs then. */
  get inRequest(): boolean {
    return this.#requestBytes > 0 || this.#partialBytes > 0;
  }

  /** Bytes held for the request being received (bounded by maxRequestBytes). */
  get bufferedBytes(): number {
    return this.#requestBytes + this.#partialBytes;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** Parses what arrived; returns the requests it completed, in order, and at most one error, last. */
  push(chunk: Uint8Array): ParseResult[] {
    return this.pushUpTo(chunk, Number.POSITIVE_INFINITY).results;
  }

  /**
   * Parses what arrived until `maxRequests` requests are complete, and says how many bytes it took: the caller
   * keeps the rest for later (a server that holds at most so many parsed requests per connection).
   */
  pushUpTo(chunk: Uint8Array, maxRequests: number): { results: ParseResult[]; consumed: number } {
    const results: ParseResult[] = [];
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (!this.#failed && start < bytes.length && results.length < maxRequests) {
      const end = bytes.indexOf(NEWLINE, start);
      if (end === -1) {
        this.#hold(bytes.subarray(start), results);
        start = bytes.length;
        break;
      }
      if (this.#partialBytes + (end - start) > this.#limits.maxAttributeBytes) {
        this.#fail(
          results,
          'attribute-too-long',
          `a line is longer than ${this.#limits.maxAttributeBytes} bytes`,
        );
      } else if (this.#partialBytes === 0) {
        // The common case: the whole line is in this chunk, parsed where it lies.
        this.#line(bytes, start, end, results);
      } else {
        const line = Buffer.concat([...this.#partial, bytes.subarray(start, end)]);
        this.#partial = [];
        this.#partialBytes = 0;
        this.#line(line, 0, line.length, results);
      }
      start = end + 1;
    }
    return { results, consumed: start };
  }

  #hold(rest: Uint8Array, results: ParseResult[]): void {
    if (this.#partialBytes + rest.length > this.#limits.maxAttributeBytes) {
      this.#fail(
        results,
        'attribute-too-long',
        `a line is longer than ${this.#limits.maxAttributeBytes} bytes`,
      );
      return;
    }
    // Copied: the caller's chunk may be a view into a buffer that is reused for the next read.
    this.#partial.push(Buffer.from(rest));
    this.#partialBytes += rest.length;
  }

  /** One complete line: bytes[start, end), its newline excluded. */
  #line(bytes: Buffer, start: number, end: number, results: ParseResult[]): void {
    this.#requestBytes += end - start + 1;
    // Postfix ends lines with a bare newline; a CR before it comes from hand-written clients, and is tolerated.
    const last = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    if (last === start) {
      if (this.#attributes.size === 0) {
        this.#fail(results, 'empty-request', 'an empty line before any attribute');
        return;
      }
      results.push({ kind: 'request', attributes: this.#attributes });
      this.#attributes = new Map();
      this.#requestBytes = 0;
      return;
    }
    if (this.#requestBytes > this.#limits.maxRequestBytes) {
      this.#fail(
        results,
        'request-too-large',
        `a request is longer than ${this.#limits.maxRequestBytes} bytes`,
      );
      return;
    }
    const equals = nameEnd(bytes, start, last);
    if (equals === -1) {
      this.#fail(results, 'malformed-line', 'a line is not name=value');
      return;
    }
    // One string per line; the name is ASCII, so its length in characters is its length in bytes.
    const text = bytes.toString('utf8', start, last);
    const name = text.slice(0, equals - start);
    // SMTPD_POLICY_README lets a server keep the first or the last value of a repeated attribute: the last.
    if (this.#attributes.size >= this.#limits.maxAttributes && !this.#attributes.has(name)) {
      this.#fail(
        results,
        'too-many-attributes',
        `a request has more than ${this.#limits.maxAttributes} attributes`,
      );
      return;
    }
    this.#attributes.set(name, text.slice(equals - start + 1));
  }

  #fail(results: ParseResult[], reason: ProtocolErrorReason, detail: string): void {
    this.#failed = true;
    this.#partial = [];
    this.#partialBytes = 0;
    this.#attributes = new Map();
    this.#requestBytes = 0;
    results.push({ kind: 'error', reason, detail });
  }
}

/** The reply to one request: `action=...` and the empty line that ends it. */
export function formatPolicyReply(action: string): string {
  if (/[\r\n]/.test(action)) throw new Error('a policy action cannot contain a line break');
  return `action=${action}\n\n`;
}

/**
 * The reply's bytes, encoded once per distinct action: a relay gets the same few answers (DUNNO, the block
 * reply) again and again. Bounded, though actions come from relayguard, not from the relay.
 */
const encodedReplies = new Map<string, Buffer>();
const ENCODED_REPLIES_CAP = 64;

export function encodePolicyReply(action: string): Buffer {
  let bytes = encodedReplies.get(action);
  if (bytes === undefined) {
    bytes = Buffer.from(formatPolicyReply(action));
    if (encodedReplies.size < ENCODED_REPLIES_CAP) encodedReplies.set(action, bytes);
  }
  return bytes;
}
