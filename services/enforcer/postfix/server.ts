// The Postfix policy delegation server (SMTPD_POLICY_README) on node:net. Postfix keeps a connection per smtpd
// process open and reuses it for many requests; replies go back in request order. On a malformed request or an
// internal error the server does what the protocol document asks: it logs a warning, sends no reply and
// disconnects, and Postfix applies its smtpd_policy_service_default_action (deploy/postfix/ sets DUNNO: fail
// open). Every such drop is counted by reason. Memory per connection is bounded by the parser's limits, the
// pipelining cap and socket backpressure; connections are capped, idle ones and stalled requests time out.
// The protocol has no authentication, so the server answers only clients in an allowlist of ranges; any other
// connection is closed at once, before a byte is read. Each accepted connection is a PolicyConnection
// (connection.ts), which does the per-connection work: parsing, the pipelining cap, answering, dropping.

import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { type IpRange, IpRangeIndex, parseIpAddress } from '../../core/ip-ranges.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { Enforcer } from '../enforcer.js';
import {
  type ConnectionContext,
  DEFAULT_MAX_PIPELINED,
  PolicyConnection,
  throttledRefusalLog,
} from './connection.js';
import { PolicyHandler } from './handler.js';

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
  /**
   * Listen with SO_REUSEPORT: several servers (threads or processes) on one port, the kernel spreading the
   * connections among them (bench/policy-workers.ts measures that serving model).
   */
  readonly reusePort?: boolean;
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

const CLOSE_GRACE_MS = 5_000;

export async function startPolicyServer(options: PolicyServerOptions): Promise<PolicyServer> {
  const context: ConnectionContext = {
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
  server.listen({ host: options.host, port: options.port, reusePort: options.reusePort ?? false });
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

function isAllowed(allowed: IpRangeIndex<true>, remoteAddress: string | undefined): boolean {
  if (remoteAddress === undefined) return false; // the socket is already gone
  // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; parseIpAddress reads it as IPv4.
  return allowed.lookup(parseIpAddress(remoteAddress)) === true;
}

/** The endpoint as Postfix's check_policy_service writes it (an IPv6 address in brackets). */
export function postfixEndpoint(server: Pick<PolicyServer, 'host' | 'port'>): string {
  return `inet:${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
}
