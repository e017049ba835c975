// One Postfix policy connection (SMTPD_POLICY_README): requests parsed ahead up to the pipelining cap, answered in
// order, an END-OF-MESSAGE answer holding the ones behind it; reading paused while requests, bytes or unread replies
// wait; a malformed request or an internal error dropped without a reply. Also the throttled log of refused
// connections the server writes. services/enforcer/postfix/server.ts accepts the connections.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { InvalidPolicyRequest, type PolicyHandler } from './handler.js';
import {
  encodePolicyReply,
  type PolicyRequest,
  PolicyRequestParser,
  type ProtocolErrorReason,
} from './protocol.js';

/** Enough for any relay that waits for each reply (Postfix does); a flood beyond it waits in the kernel. */
export const DEFAULT_MAX_PIPELINED = 32;

/** A scanner or a misconfigured relay retrying in a loop must not flood the log: one line per interval. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Logs refused connections at most once per interval, each line with how many were refused since the last one
 * (the metric counts every refusal).
 */
export function throttledRefusalLog(logger: Logger, reason: ProtocolErrorReason, message: string) {
  let lastLogged = -Infinity;
  let refusedSinceLog = 0;
  return (details: Record<string, unknown>): void => {
    refusedSinceLog++;
    const now = performance.now();
    if (now - lastLogged < REFUSAL_LOG_INTERVAL_MS) return;
    logger.warn({ reason, ...details, refused: refusedSinceLog }, message);
    lastLogged = now;
    refusedSinceLog = 0;
  };
}

export interface ConnectionContext {
  readonly handler: PolicyHandler;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxPipelined: number;
  readonly connections: Set<PolicyConnection>;
  closing: boolean;
}

export class PolicyConnection {
  readonly #socket: Socket;
  readonly #context: ConnectionContext;
  readonly #parser: PolicyRequestParser;
  readonly #queue: PolicyRequest[] = [];
  /** Bytes received and not parsed yet: the connection holds no more than maxPipelined parsed requests. */
  #unparsed: Buffer | undefined;
  readonly #relay: string;
  /** An END-OF-MESSAGE answer is waiting for the event log. */
  #busy = false;
  /** The last reply filled the socket's buffer: no more answers until it drains (a client that does not read). */
  #writeBlocked = false;
  /** The connection used its share of this turn of the event loop; the rest is answered in the next. */
  #yielded = false;
  #requestTimer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(socket: Socket, context: ConnectionContext) {
    this.#socket = socket;
    this.#context = context;
    this.#parser = new PolicyRequestParser();
    this.#relay = socket.remoteAddress ?? 'unknown';
    context.connections.add(this);
    context.metrics.policyConnections.inc();
    socket.setTimeout(context.idleTimeoutMs, () => this.#onIdle());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#writeBlocked = false;
      this.#pump();
    });
    socket.on('error', (error) =>
      context.logger.debug({ err: error, relay: this.#relay }, 'policy connection error'),
    );
    socket.on('close', () => {
      this.#done = true;
      clearTimeout(this.#requestTimer);
      context.connections.delete(this);
      context.metrics.policyConnections.dec();
    });
    if (context.closing) this.endWhenIdle();
  }

  get bufferedBytes(): number {
    return this.#parser.bufferedBytes + (this.#unparsed?.length ?? 0);
  }

  get queuedRequests(): number {
    return this.#queue.length;
  }

  get pendingReplyBytes(): number {
    return this.#socket.writableLength;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Ends the connection once the request in hand is answered (server shutdown). */
  endWhenIdle(): void {
    const idle = !this.#busy && this.#queue.length === 0 && this.#unparsed === undefined;
    if (idle && !this.#parser.inRequest) this.#socket.end();
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    this.#unparsed = this.#unparsed ? Buffer.concat([this.#unparsed, chunk]) : chunk;
    this.#pump();
  }

  /**
   * Parses held bytes until maxPipelined requests wait for answers: the cap holds per connection, however the
   * client's bytes are cut into reads. Returns how many requests it completed; false after a protocol error.
   */
  #parseAhead(): number | false {
    const room = this.#context.maxPipelined - this.#queue.length;
    if (this.#unparsed === undefined || room <= 0) return 0;
    const { results, consumed } = this.#parser.pushUpTo(this.#unparsed, room);
    this.#unparsed = consumed < this.#unparsed.length ? this.#unparsed.subarray(consumed) : undefined;
    for (const result of results) {
      if (result.kind === 'error') {
        this.#drop(result.reason, result.detail);
        return false;
      }
      this.#queue.push(result.attributes);
    }
    this.#armRequestTimer(results.length > 0);
    return results.length;
  }

  /** The request timer runs from the first unanswered byte of a request until the request is complete. */
  #armRequestTimer(completed: boolean): void {
    if (completed || !this.#parser.inRequest) {
      clearTimeout(this.#requestTimer);
      this.#requestTimer = undefined;
    }
    if (this.#parser.inRequest && this.#requestTimer === undefined) {
      this.#requestTimer = setTimeout(
        () =>
          this.#drop('request-timeout', `no complete request within ${this.#context.requestTimeoutMs} ms`),
        this.#context.requestTimeoutMs,
      );
    }
  }

  /**
   * Answers queued requests in order; an END-OF-MESSAGE answer holds the ones behind it until it is written.
   * Stops while the client does not read its replies, and after maxPipelined answers, so that one pipelining
   * client neither buffers replies without bound nor holds the event loop from every other relay.
   */
  #pump(): void {
    if (this.#yielded) return;
    // The replies to requests that arrived together leave in one write (a pipelining client); Postfix, one
    // request at a time, gets one write per reply either way.
    this.#socket.cork();
    try {
      this.#answer();
    } finally {
      this.#socket.uncork();
    }
    this.#flowControl();
    if (this.#context.closing) this.endWhenIdle();
  }

  #answer(): void {
    for (let answered = 0; !this.#busy && !this.#done && !this.#writeBlocked; answered++) {
      if (this.#queue.length === 0 && !this.#parseAhead()) return;
      if (answered === this.#context.maxPipelined) {
        this.#yielded = true;
        setImmediate(() => {
          this.#yielded = false;
          this.#pump();
        });
        return;
      }
      const request = this.#queue.shift()!;
      const started = performance.now();
      let answer: ReturnType<PolicyHandler['handle']>;
      try {
        answer = this.#context.handler.handle(request, this.#relay);
      } catch (error) {
        this.#fail(error, request);
        return;
      }
      const { stage, action } = answer;
      if (typeof action === 'string') {
        this.#reply(stage, action, started);
        continue;
      }
      this.#busy = true;
      action.then(
        (resolved) => {
          this.#busy = false;
          this.#reply(stage, resolved, started);
          this.#pump();
        },
        (error: unknown) => {
          this.#busy = false;
          this.#fail(error, request);
        },
      );
    }
  }

  #reply(stage: string, action: string, started: number): void {
    if (this.#done) return;
    if (!this.#socket.write(encodePolicyReply(action))) this.#writeBlocked = true;
    const { metrics } = this.#context;
    metrics.policyRequests.inc({ stage, action: actionLabel(action) });
    metrics.policyRequestDuration.observe({ stage }, (performance.now() - started) / 1000);
  }

  /** Stops reading while requests or bytes wait or replies are not read: a flood cannot grow memory. */
  #flowControl(): void {
    if (this.#done) return;
    const stalled = this.#writeBlocked || this.#unparsed !== undefined || this.#queue.length > 0;
    if (stalled && !this.#socket.isPaused()) this.#socket.pause();
    else if (!stalled && this.#socket.isPaused()) this.#socket.resume();
  }

  #onIdle(): void {
    if (this.#writeBlocked) {
      // Replies waiting this long for a client that does not read them: nothing will ever take them.
      this.#context.logger.debug({ relay: this.#relay }, 'policy connection not reading its replies closed');
      this.#socket.destroy();
      return;
    }
    if (this.#parser.inRequest || this.#busy) return;
    this.#context.logger.debug({ relay: this.#relay }, 'idle policy connection closed');
    this.#socket.end();
  }

  #fail(error: unknown, request: PolicyRequest): void {
    const invalid = error instanceof InvalidPolicyRequest;
    this.#drop(invalid ? 'invalid-request' : 'internal-error', (error as Error)?.message ?? String(error), {
      stage: request.get('protocol_state'),
      senderDomain: senderDomain(request.get('sender')),
      ...(invalid ? {} : { err: error }),
    });
  }

  /** SMTPD_POLICY_README: "In case of trouble the policy server must not send a reply ... log ... disconnect." */
  #drop(reason: ProtocolErrorReason, detail: string, context: Record<string, unknown> = {}): void {
    if (this.#done) return;
    this.#done = true;
    this.#queue.length = 0;
    this.#unparsed = undefined;
    this.#context.metrics.policyProtocolErrors.inc({ reason });
    this.#context.logger.warn(
      { reason, detail, relay: this.#relay, ...context },
      'policy request dropped without a reply; the relay applies its default action',
    );
    this.#socket.destroy();
  }
}

function actionLabel(action: string): string {
  if (action === 'DUNNO') return 'DUNNO';
  if (action.startsWith('5')) return 'REJECT';
  if (action.startsWith('4') || action.startsWith('DEFER')) return 'DEFER';
  return 'other';
}

/** Logs name the sender's domain only, never the address; capped so a hostile value cannot flood a log line. */
function senderDomain(sender: string | undefined): string | undefined {
  const at = sender?.lastIndexOf('@') ?? -1;
  return sender && at >= 0 ? sender.slice(at + 1, at + 1 + 255) : undefined;
}
