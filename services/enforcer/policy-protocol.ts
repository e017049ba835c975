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
  | 'internal-error';

export type PolicyRequest = ReadonlyMap<string, string>;

export type ParseResult =
  | { readonly kind: 'request'; readonly attributes: PolicyRequest }
  | { readonly kind: 'error'; readonly reason: ProtocolErrorReason; readonly detail: string };

const NEWLINE = 0x0a;
// Attribute names in SMTPD_POLICY_README are lower-case words joined by underscores; anything else is not
// Postfix talking.
const NAME = /^[a-z][a-z0-9_]*$/;

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
    const results: ParseResult[] = [];
    let start = 0;
    while (!this.#failed && start < chunk.length) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) {
        this.#hold(chunk.subarray(start), results);
        break;
      }
      const line = this.#takeLine(chunk.subarray(start, end));
      start = end + 1;
      if (line === undefined) {
        this.#fail(
          results,
          'attribute-too-long',
          `a line is longer than ${this.#limits.maxAttributeBytes} bytes`,
        );
      } else {
        const request = this.#line(line, results);
        if (request) results.push({ kind: 'request', attributes: request });
      }
    }
    return results;
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

  /** The complete line (without its newline), or undefined when it is over the line limit. */
  #takeLine(tail: Uint8Array): Buffer | undefined {
    if (this.#partialBytes + tail.length > this.#limits.maxAttributeBytes) return undefined;
    const line = this.#partialBytes === 0 ? Buffer.from(tail) : Buffer.concat([...this.#partial, tail]);
    this.#partial = [];
    this.#partialBytes = 0;
    return line;
  }

  #line(bytes: Buffer, results: ParseResult[]): PolicyRequest | undefined {
    this.#requestBytes += bytes.length + 1;
    // Postfix ends lines with a bare newline; a CR before it comes from hand-written clients, and is tolerated.
    const text = bytes.toString('utf8').replace(/\r$/, '');
    if (text === '') {
      if (this.#attributes.size === 0) {
        this.#fail(results, 'empty-request', 'an empty line before any attribute');
        return undefined;
      }
      const request = this.#attributes;
      this.#attributes = new Map();
      this.#requestBytes = 0;
      return request;
    }
    if (this.#requestBytes > this.#limits.maxRequestBytes) {
      this.#fail(
        results,
        'request-too-large',
        `a request is longer than ${this.#limits.maxRequestBytes} bytes`,
      );
      return undefined;
    }
    const equals = text.indexOf('=');
    const name = equals === -1 ? text : text.slice(0, equals);
    if (equals === -1 || !NAME.test(name)) {
      this.#fail(results, 'malformed-line', 'a line is not name=value');
      return undefined;
    }
    // SMTPD_POLICY_README lets a server keep the first or the last value of a repeated attribute: the last.
    if (this.#attributes.size >= this.#limits.maxAttributes && !this.#attributes.has(name)) {
      this.#fail(
        results,
        'too-many-attributes',
        `a request has more than ${this.#limits.maxAttributes} attributes`,
      );
      return undefined;
    }
    this.#attributes.set(name, text.slice(equals + 1));
    return undefined;
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
