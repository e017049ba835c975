// The Postfix policy delegation server (SMTPD_POLICY_README) on node:net. Postfix keeps a connection per smtpd
// process open and reuses it for many requests; replies go back in request order. On a malformed request or an
// internal error the server does what the protocol document asks: it logs a warning, sends no reply and
// disconnects, and Postfix applies its smtpd_policy_service_default_action (deploy/postfix/ sets DUNNO: fail
// open). Every such drop is counted by reason. Memory per connection is bounded by the parser's limits, the
// pipelining cap and socket backpressure; connections are capped, idle ones and stalled requests time out.
// The protocol has no authentication, so the server answers only clients in an allowlist of ranges; any other
// connection is closed at once, before a byte is read.

import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type IpRange, IpRangeIndex, parseIpAddress } from '../../core/ip-ranges.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { Enforcer } from '../enforcer.js';
import { InvalidPolicyRequest, PolicyHandler } from './handler.js';
import {
  encodePolicyReply,
  type PolicyRequest,
  PolicyRequestParser,
  type ProtocolErrorReason,
} from './protocol.js';

export interface PolicyServerOptions {
  readonly enforcer: Enforcer;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Connections beyond this are closed at once and counted (`connection-limit`). */
  readonly maxConnections: number;
  /**
   * A connection with no traffic for this long is closed. Longer than Postfix's own
   * smtpd_policy_service_max_idle (300 s), so Postfix closes first and never finds a dead connection.
   */
  readonly idleTimeoutMs: number;
  /** From the first byte of a request to its empty line at most; a client that never ends one is dropped. */
  readonly requestTimeoutMs: number;
  /**
   * Requests one connection may have parsed and not yet answered; beyond them its bytes wait unparsed and the
   * connection stops reading. Also how many one connection is answered in one turn of the event loop.
   */
  readonly maxPipelined?: number;
  /** The clients answered; any other is disconnected at once and counted (`client-not-allowed`). */
  readonly allowedClients: readonly IpRange[];
}

export interface PolicyServer {
  readonly host: string;
  readonly port: number;
  /**
   * Open connections; the request bytes their parsers and their unread input hold; the requests parsed and not
   * answered yet; the reply bytes written and not yet taken by the kernel. All bounded by the options.
   */
  stats(): {
    readonly connections: number;
    readonly bufferedBytes: number;
    readonly queuedRequests: number;
    readonly pendingReplyBytes: number;
  };
  /** Stops accepting, lets every connection finish the request in hand, then closes them. */
  close(): Promise<void>;
}

/** Enough for any relay that waits for each reply (Postfix does); a flood beyond it waits in the kernel. */
const DEFAULT_MAX_PIPELINED = 32;

const CLOSE_GRACE_MS = 5_000;

/** A scanner or a misconfigured relay retrying in a loop must not flood the log: one line per interval. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Logs refused connections at most once per interval, each line with how many were refused since the last one
 * (the metric counts every refusal).
 */
function throttledRefusalLog(logger: Logger, reason: ProtocolErrorReason, message: string) {
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

interface ServerContext {
  readonly handler: PolicyHandler;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly idleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxPipelined: number;
  readonly connections: Set<PolicyConnection>;
  closing: boolean;
}

export async function startPolicyServer(options: PolicyServerOptions): Promise<PolicyServer> {
  const context: ServerContext = {
    handler: new PolicyHandler(options.enforcer, options.metrics),
    metrics: options.metrics,
    logger: options.logger,
    idleTimeoutMs: options.idleTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
    maxPipelined: options.maxPipelined ?? DEFAULT_MAX_PIPELINED,
    connections: new Set(),
    closing: false,
  };
  const allowed = new IpRangeIndex<true>();
  for (const range of options.allowedClients) allowed.set(range, true);
  const logNotAllowed = throttledRefusalLog(
    options.logger,
    'client-not-allowed',
    'policy connection refused: the client is not in RELAYGUARD_POSTFIX_ALLOWED_CLIENTS',
  );
  const logOverLimit = throttledRefusalLog(
    options.logger,
    'connection-limit',
    'policy connection refused: too many open connections',
  );
  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (isAllowed(allowed, socket.remoteAddress)) {
      new PolicyConnection(socket, context);
      return;
    }
    socket.destroy();
    options.metrics.policyProtocolErrors.inc({ reason: 'client-not-allowed' });
    logNotAllowed({ relay: socket.remoteAddress });
  });
  server.maxConnections = options.maxConnections;
  server.on('drop', (peer) => {
    options.metrics.policyProtocolErrors.inc({ reason: 'connection-limit' });
    logOverLimit({ relay: peer?.remoteAddress, maxConnections: server.maxConnections });
  });
  server.listen({ host: options.host, port: options.port });
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('the policy server has no TCP address');

  return {
    host: address.address,
    port: address.port,
    stats: () => {
      let bufferedBytes = 0;
      let queuedRequests = 0;
      let pendingReplyBytes = 0;
      for (const connection of context.connections) {
        bufferedBytes += connection.bufferedBytes;
        queuedRequests += connection.queuedRequests;
        pendingReplyBytes += connection.pendingReplyBytes;
      }
      return { connections: context.connections.size, bufferedBytes, queuedRequests, pendingReplyBytes };
    },
    async close() {
      context.closing = true;
      const closed = once(server, 'close');
      server.close();
      for (const connection of context.connections) connection.endWhenIdle();
      const grace = setTimeout(() => {
        for (const connection of context.connections) connection.destroy();
      }, CLOSE_GRACE_MS);
      try {
        await closed;
      } finally {
        clearTimeout(grace);
      }
    },
  };
}

class PolicyConnection {
  readonly #socket: Socket;
  readonly #context: ServerContext;
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

  constructor(socket: Socket, context: ServerContext) {
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

function isAllowed(allowed: IpRangeIndex<true>, remoteAddress: string | undefined): boolean {
  if (remoteAddress === undefined) return false; // the socket is already gone
  // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; parseIpAddress reads it as IPv4.
  return allowed.lookup(parseIpAddress(remoteAddress)) === true;
}

/** The endpoint as Postfix's check_policy_service writes it (an IPv6 address in brackets). */
export function postfixEndpoint(server: Pick<PolicyServer, 'host' | 'port'>): string {
  return `inet:${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
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
