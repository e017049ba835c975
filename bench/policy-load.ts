// The policy-server load generator, run by benchmark 4 in a process of its own (so it never shares an event loop
// with the server it measures). Each connection behaves as a Postfix smtpd does: one request, wait for the
// reply, the next. `saturate` sends as fast as the replies come; `rate` gives each connection a schedule so the
// requests spread evenly over time at a fixed total rate.
//
// The generator shares the machine with the server, so it is built to cost little and to say what it costs:
// requests are encoded once, each connection is a plain socket with one 'data' listener (no promise, no string
// building per reply), and latency runs from the timestamp taken right before the write to the one taken at the
// start of the 'data' callback that completes the reply. What the generator's own event loop adds (a reply
// waiting in the socket while the loop handles others) is reported beside it: its event-loop delay, how late
// sends left against their schedule, and its CPU per request. Prints one JSON line.
import { execFile } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { argv, cpuUsage, stdout } from 'node:process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { seededRandom } from '../test/support/builders.js';
import { endOfMessage, rcpt } from '../test/support/enforcement.js';
import { percentile } from './harness.js';
import { tenantAddress, tenantId } from './workload.js';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly mode: 'saturate' | 'rate';
  /**
   * What each request asks: the RCPT decision (default), or END-OF-MESSAGE for an accepted message (answered once
   * its MessageSubmitted is written), with queue ids that start with `queueIdPrefix`.
   */
  readonly stage?: 'RCPT' | 'END-OF-MESSAGE';
  readonly queueIdPrefix?: string;
  /** Requests per second over all connections, for `rate`. */
  readonly rate?: number;
  /** Timed span; latencies and counts are taken after a warm-up of a fifth of it (at most 1 s) before it. */
  readonly durationMs: number;
  readonly tenants: number;
  /** Tenants 0..blocked-1 are blocked: their requests from SPAM_DOMAINS are the ones to reject. */
  readonly blocked: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Share of replies that rejected with 5.7.750. */
  readonly rejected: number;
  /** The generator's own cost and delays: a latency that is really the generator's is not the server's. */
  readonly generator: {
    /** CPU (user + system) of this process per request answered, over the timed span. */
    readonly cpuPerRequestUs: number;
    /** Event-loop delay of this process over the timed span (beyond the sampling period). */
    readonly loopDelayP50Ms: number;
    readonly loopDelayP99Ms: number;
    /** `rate`: how late requests were written against their schedule (0 when on time). */
    readonly sendLagP99Ms: number;
  };
}

const DUNNO = Buffer.from('action=DUNNO\n\n');

/**
 * A policy server that does nothing: one DUNNO per request, written as soon as the request's empty line is read.
 * The ceiling of a Node.js policy server on this machine, and its scheduling floor (benchmarks 4 and 11).
 */
export async function startNoopServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer({ noDelay: true }, (socket) => {
    let previous = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0x0a && previous === 0x0a) {
          socket.write(DUNNO);
          previous = 0;
        } else previous = byte;
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const SPAM_DOMAINS = Array.from({ length: 20 }, (_, k) => `spam${k}.example`);

/**
 * RCPT requests as protocol text: one in ten from a blocked tenant's range with a spam sender (to reject),
 * the others from any tenant with a sender of its own domain (to accept).
 */
export function policyRequests(tenants: number, blocked: number, count: number): string[] {
  const random = seededRandom(11);
  return Array.from({ length: count }, (_, k) => {
    const spam = k % 10 === 0;
    const i = Math.floor(random() * (spam ? blocked : tenants));
    const sender = spam
      ? `someone@${SPAM_DOMAINS[k % SPAM_DOMAINS.length]}`
      : `user@mail.${tenantId(i)}.example`;
    return encodeRequest(rcpt(tenantAddress(i), sender));
  });
}

/**
 * END-OF-MESSAGE requests as protocol text, for messages the relay accepted: any tenant, a sender of its own
 * domain, a queue id of its own per request (so each is one event, counted once).
 */
export function endOfMessageRequests(tenants: number, count: number, queueIdPrefix: string): string[] {
  const random = seededRandom(13);
  return Array.from({ length: count }, (_, k) => {
    const i = Math.floor(random() * tenants);
    return encodeRequest(
      endOfMessage(tenantAddress(i), `user@mail.${tenantId(i)}.example`, `${queueIdPrefix}${k}`),
    );
  });
}

function encodeRequest(attributes: Record<string, string | number>): string {
  return `${Object.entries(attributes)
    .map(([name, value]) => `${name}=${value}\n`)
    .join('')}\n`;
}

/** Event-loop delay sampling period: monitorEventLoopDelay records the whole period, an idle loop reads ~1 ms. */
export const LOOP_DELAY_RESOLUTION_MS = 1;

/** Event-loop delay at percentile p, in ms: how much later than its period the sampling timer ran. */
export function loopDelayMs(histogram: IntervalHistogram, p: number): number {
  return Math.max(0, histogram.percentile(p) / 1e6 - LOOP_DELAY_RESOLUTION_MS);
}

const NEWLINE = 0x0a;
/** `action=5`: the first byte of a reply's action tells a rejection (5xx) from the rest. */
const ACTION_CODE_OFFSET = 'action='.length;
const REJECT_DIGIT = '5'.charCodeAt(0);

interface Tally {
  latencies: number[];
  sendLags: number[];
  rejected: number;
  /** Replies complete, warm-up included (the warm-up ends on time, not on a count). */
  timing: boolean;
}

/** What one connection sends and when: request `first` (of `requests`, in turn) at `due`, one every `interval` ms. */
interface Schedule {
  readonly requests: readonly Buffer[];
  readonly first: number;
  /** performance.now() time. */
  readonly due: number;
  readonly interval: number;
}

/** One smtpd-like connection: writes a request, waits for its reply, then the next when it is due. */
class Connection {
  readonly #socket: Socket;
  readonly #requests: readonly Buffer[];
  readonly #tally: Tally;
  readonly #interval: number;
  #k: number;
  #due: number;
  #sentAt = 0;
  #lastByte = 0;
  #replyOffset = 0;
  #reject = false;
  #stopped = false;
  readonly #send = () => this.#write();

  constructor(socket: Socket, tally: Tally, schedule: Schedule) {
    this.#socket = socket;
    this.#tally = tally;
    this.#requests = schedule.requests;
    this.#k = schedule.first;
    this.#due = schedule.due;
    this.#interval = schedule.interval;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk, performance.now()));
    // A server that hangs up mid-run (a drop: no reply) would silently stall this connection's schedule.
    socket.on('close', () => {
      if (!this.#stopped) throw new Error('the policy server closed a connection during the run');
    });
  }

  start(): void {
    this.#next(performance.now());
  }

  /** The schedule restarts with its next request due at `due`: lag from the warm-up is not carried over. */
  restartSchedule(due: number): void {
    this.#due = due - this.#interval;
  }

  stop(): void {
    this.#stopped = true;
  }

  close(): void {
    this.#socket.destroy();
  }

  #write(): void {
    if (this.#stopped) return;
    this.#sentAt = performance.now();
    if (this.#tally.timing && this.#interval > 0)
      this.#tally.sendLags.push(Math.max(0, this.#sentAt - this.#due));
    this.#socket.write(this.#requests[this.#k % this.#requests.length]!);
  }

  /** Replies end with an empty line; a chunk may hold part of one (TCP cuts anywhere). */
  #onData(chunk: Buffer, receivedAt: number): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.#replyOffset === ACTION_CODE_OFFSET) this.#reject = byte === REJECT_DIGIT;
      this.#replyOffset++;
      if (byte === NEWLINE && this.#lastByte === NEWLINE) this.#complete(receivedAt);
      else this.#lastByte = byte;
    }
  }

  #complete(receivedAt: number): void {
    if (this.#tally.timing) {
      this.#tally.latencies.push(receivedAt - this.#sentAt);
      if (this.#reject) this.#tally.rejected++;
    }
    this.#lastByte = 0;
    this.#replyOffset = 0;
    this.#k += 1;
    this.#due += this.#interval;
    this.#next(receivedAt);
  }

  /** A request due within the timer granularity (or overdue) goes out now; a later one waits for its time. */
  #next(now: number): void {
    const wait = this.#due - now;
    if (wait >= 1) setTimeout(this.#send, Math.round(wait));
    else this.#write();
  }
}

async function open(host: string, port: number): Promise<Socket> {
  const socket = connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

async function drive(options: LoadOptions): Promise<LoadResult> {
  const texts =
    options.stage === 'END-OF-MESSAGE'
      ? endOfMessageRequests(options.tenants, 100_000, options.queueIdPrefix ?? 'Q')
      : policyRequests(options.tenants, options.blocked, 10_000);
  const requests = texts.map((text) => Buffer.from(text));
  const sockets = await Promise.all(
    Array.from({ length: options.connections }, () => open(options.host, options.port)),
  );
  const tally: Tally = { latencies: [], sendLags: [], rejected: 0, timing: false };
  // Each connection's requests are due every `interval` ms, staggered so the rate is even over time.
  const interval = options.mode === 'rate' ? (options.connections * 1000) / options.rate! : 0;
  const begin = performance.now();
  const connections = sockets.map(
    (socket, c) =>
      new Connection(socket, tally, {
        requests,
        first: c,
        due: begin + (interval * c) / options.connections,
        interval,
      }),
  );
  for (const connection of connections) connection.start();
  const warmupMs = Math.min(1_000, options.durationMs / 5);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const cpu = cpuUsage();
  const started = performance.now();
  if (interval > 0) {
    connections.forEach((connection, c) => {
      connection.restartSchedule(started + (interval * c) / options.connections);
    });
  }
  tally.timing = true;
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  tally.timing = false;
  const seconds = (performance.now() - started) / 1000;
  const used = cpuUsage(cpu);
  loopDelay.disable();
  for (const connection of connections) connection.stop();
  for (const connection of connections) connection.close();
  const { latencies } = tally;
  return {
    requests: latencies.length,
    seconds,
    rate: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    rejected: tally.rejected / latencies.length,
    generator: {
      cpuPerRequestUs: (used.user + used.system) / latencies.length,
      loopDelayP50Ms: loopDelayMs(loopDelay, 50),
      loopDelayP99Ms: loopDelayMs(loopDelay, 99),
      sendLagP99Ms: interval > 0 ? percentile(tally.sendLags, 99) : 0,
    },
  };
}

/** Runs the generator in a process of its own (never sharing an event loop with the server it measures). */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bench/policy-load.ts', JSON.stringify(options)],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as LoadResult;
}

// Run as a script (benchmarks 4 and 11 pass the options as JSON); imported, it lends load and the requests.
if (argv[1]?.endsWith('policy-load.ts')) {
  stdout.write(`${JSON.stringify(await drive(JSON.parse(argv[2]!) as LoadOptions))}\n`);
}
