// The fault matrix's machinery: the real components of the test environment (librdkafka's mock cluster, the
// Schema Registry double, a real redis-server with an fsync'ed append-only file), `relayguard scorer` as its own
// OS process, a producer that sends a known set of events at a steady rate, and the reference: the pure fold
// (services/core/scoring.ts) over the same events, uninterrupted. A scenario injects its faults while events
// flow; then the windows in Redis and the block decisions on the topic are compared with the reference.
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { AdminService } from '../../services/admin/admin-service.js';
import type { Adapters } from '../../services/app/adapters.js';
import { productionAdapters } from '../../services/app/adapters.js';
import { validateMessage } from '../../services/core/classify.js';
import type { MessageSubmitted, TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { blockGeneration, generationAfterUnblock } from '../../services/core/episodes.js';
import { scoreTenant } from '../../services/core/fold.js';
import { DEFAULT_POLICY } from '../../services/core/policy.js';
import {
  NO_BLOCK_STATE,
  type PositionedMessage,
  positioned,
  type TenantContext,
} from '../../services/core/scoring.js';
import { NO_STANDING } from '../../services/core/tenant-terms.js';
import { Topics } from '../../services/core/topics.js';
import type { TenantWindow } from '../../services/core/windows.js';
import { ManualClock } from '../../services/platform/clock.js';
import { loadConfig } from '../../services/platform/config.js';
import { dnsTxtResolver } from '../../services/platform/dns.js';
import { silentLogger } from '../../services/platform/logger.js';
import { Metrics } from '../../services/platform/metrics.js';
import { projectRoot } from '../../services/platform/project-files.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { ATTESTED } from '../support/admin-api.js';
import { messageSubmitted, seededRandom } from '../support/builders.js';
import type { KafkaCluster } from '../support/kafka-broker.js';
import type { KafkaMock } from '../support/kafka-mock.js';
import { OPERATOR } from '../support/pipeline-driver.js';
import { startProductionStack } from '../support/production-stack.js';
import type { RedisCluster } from '../support/redis-cluster.js';
import type { RedisServer } from '../support/redis-server.js';
import type { SchemaRegistryDouble } from '../support/schema-registry.js';
import { type Exit, freePort, spawnTethered, type Tethered, waitFor } from '../support/tether.js';

export const PARTITIONS = 6;
/** The token the enforcer under test answers decisions for (RELAYGUARD_TOKENS, role relay). */
export const RELAY_TOKEN = 'chaos-relay-token-0123456789abcdef';
const SPAMMERS = 3;

/** Redis persistence as docker-compose.yml and README.md recommend without replicas. */
export const RECOMMENDED_REDIS_PERSISTENCE = ['--appendonly', 'yes', '--appendfsync', 'always'];

export interface ChaosStack {
  /** librdkafka's mock cluster (3 brokers), or three real KRaft nodes when started with `realKafka`. */
  readonly kafka: KafkaMock | KafkaCluster;
  readonly registry: SchemaRegistryDouble;
  /** The single Redis, or the Redis Cluster when the stack was started with one. */
  readonly redis: RedisServer | undefined;
  readonly redisCluster: RedisCluster | undefined;
  readonly env: Readonly<Record<string, string>>;
  /** Kafka, registry codec and Redis store of the driver itself (publishing, reading back). */
  readonly adapters: Adapters;
  /** A second Redis connection (to the first node of a cluster), for faults (CLIENT KILL, FLUSHALL). */
  readonly redisAdmin: Redis;
  /** Committed offsets of the scorer group, and the end offsets, per partition of message-submitted. */
  progress(): Promise<{ committed: number; end: number }>;
  /**
   * The operator lifts the tenant's block in force, at `at` (the unblock's time: its generation); returns the
   * lifted block's id.
   */
  unblock(tenantId: string, at: number): Promise<string>;
  stop(): Promise<void>;
}

export interface ChaosStackOptions {
  /** Three real Apache Kafka nodes instead of the mock cluster (for faults a real broker can be made to have). */
  readonly realKafka?: boolean;
  /** With `realKafka`: how many nodes (default three). */
  readonly brokers?: number;
  /** A Redis Cluster of three masters with a replica each instead of the single Redis. */
  readonly redisCluster?: boolean;
  /**
   * The single Redis's persistence arguments, in place of the recommended production ones (an append-only file
   * fsync'ed on every write): a row that shows what a weaker setting loses.
   */
  readonly redisPersistence?: readonly string[];
  /** More relayguard environment for the processes under test (e.g. REDIS_WAIT_REPLICAS). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The mock cluster of a stack started without `realKafka`, for the faults only it injects. */
export function mockKafka(stack: ChaosStack): KafkaMock {
  if ('nodes' in stack.kafka) throw new Error('this fault needs the mock cluster, not real brokers');
  return stack.kafka;
}

/** The real nodes of a stack started with `realKafka`. */
export function realKafka(stack: ChaosStack): KafkaCluster {
  if (!('nodes' in stack.kafka)) throw new Error('this fault needs real brokers (realKafka), not the mock');
  return stack.kafka;
}

export async function startChaosStack(
  tenants: readonly string[],
  options: ChaosStackOptions = {},
): Promise<ChaosStack> {
  const production = {
    brokers: options.realKafka ? (options.brokers ?? 3) : 3,
    // Three JVMs starting at once take minutes on two busy cores.
    kafkaStartTimeoutMs: 180_000,
    partitions: PARTITIONS,
    // Durable as production runs it: a restarted Redis has every acknowledged write.
    redisArgs: options.redisPersistence ?? RECOMMENDED_REDIS_PERSISTENCE,
    redisCluster: options.redisCluster,
  };
  // Most faults of test/chaos/scenarios.ts are injected by librdkafka's mock cluster.
  const { kafka, registry, redis, redisCluster, ...stack } = options.realKafka
    ? await startProductionStack(production)
    : await startProductionStack({ ...production, mock: true });
  const env: Record<string, string> = {
    ...stack.env,
    RELAYGUARD_TOKENS: `${RELAY_TOKEN}:relay`,
    ...options.env,
  };
  const config = loadConfig(env);
  const adapters = productionAdapters(config, silentLogger);
  const directory = new TenantDirectory();
  const clock = new ManualClock(Date.now());
  const admin = new AdminService({
    ...adapters,
    directory,
    policy: config.policy,
    clock,
    logger: silentLogger,
    metrics: new Metrics({ processMetrics: false }),
    probationMs: config.probationMs,
    tenantMinPrefix: config.tenantMinPrefix,
    dns: dnsTxtResolver(config.dns),
  });
  for (const tenantId of tenants)
    await admin.putAcceptedDomain(OPERATOR, tenantId, `${tenantId}.example`, true);

  const kafkaAdmin = new Kafka({ brokers: [...kafka.bootstrapServers], logLevel: logLevel.NOTHING }).admin();
  await kafkaAdmin.connect();
  const redisAdmin = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null });
  redisAdmin.on('error', () => {});
  return {
    kafka,
    registry,
    redis,
    redisCluster,
    env,
    adapters,
    redisAdmin,
    async progress() {
      const [ends, groups] = await Promise.all([
        kafkaAdmin.fetchTopicOffsets(Topics.messageSubmitted),
        kafkaAdmin.fetchOffsets({ groupId: SCORER_GROUP, topics: [Topics.messageSubmitted] }),
      ]);
      const end = ends.reduce((sum, p) => sum + Number(p.high), 0);
      const committed = (groups[0]?.partitions ?? []).reduce(
        (sum, p) => sum + Math.max(0, Number(p.offset)),
        0,
      );
      return { committed, end };
    },
    async unblock(tenantId, at) {
      // The admin's directory learns the tenant's blocks as an admin process does: from the topic.
      for (const event of await tenantBlockEvents(adapters))
        if (event.tenantId === tenantId) directory.apply({ kind: 'tenant-block', event });
      clock.set(at);
      const { blockId } = await admin.unblock(OPERATOR, tenantId, {
        ticket: 'CHAOS-13',
        attestations: ATTESTED,
      });
      return blockId;
    },
    async stop() {
      redisAdmin.disconnect();
      await kafkaAdmin.disconnect();
      await adapters.log.close();
      await adapters.store.close();
      await stack.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

/** What the supervisor saw of a process that ended without being asked to. */
export interface UnplannedExit {
  readonly service: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Its last log lines, summarized, with mail addresses and tokens taken out. */
  readonly lastLines: readonly string[];
  /** False when the start limit was reached: the process was left down. */
  readonly restarted: boolean;
}

/** Before a restart, as systemd's RestartSec: a crash loop must not spin on two shared cores. */
export const RESTART_DELAY_MS = 1_000;
/**
 * As systemd's StartLimitBurst in StartLimitIntervalSec, beyond which a crash loop is given up. Its defaults (5 in
 * 10 s) suit a process that fails in milliseconds; relayguard takes a second or two to start and fail.
 */
const START_LIMIT = { burst: 5, intervalMs: 60_000 };
const LAST_LINES = 5;

/**
 * `relayguard <service>` as its own OS process, pointed at the stack, under a supervisor as production runs it
 * (systemd `Restart=on-failure`, docker-compose `restart: unless-stopped`): a process that exits on its own —
 * the scorer exits 1 on a Kafka error kafkajs will not retry — is restarted after RESTART_DELAY_MS and recorded
 * in `unplannedExits`; one ended by kill() or stop() stays down until start().
 */
export class ServiceProcess {
  readonly #service: string;
  readonly #env: Readonly<Record<string, string>>;
  readonly #secrets: readonly string[];
  #proc: Tethered | undefined;
  #port = 0;
  /** kill() or stop() was asked for: the exit that follows is not a failure. */
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarting: Promise<void> | undefined;
  #restartTimes: number[] = [];
  readonly #lineWatchers = new Set<(line: string) => void>();
  /** Aborted when the supervisor gave up (start limit, or a restart that could not spawn). */
  #gaveUp = new AbortController();
  readonly unplannedExits: UnplannedExit[] = [];
  /** The tail of the current process's stdout and stderr. */
  output = '';

  constructor(service: string, env: Readonly<Record<string, string>>) {
    this.#service = service;
    this.#env = env;
    // RELAYGUARD_TOKENS is `<token>:<role>[:<tenant>],...`; read here without validating, which is the process's job.
    this.#secrets = (env.RELAYGUARD_TOKENS ?? '')
      .split(',')
      .map((entry) => entry.trim().split(':')[0] ?? '')
      .filter((token) => token !== '');
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  get running(): boolean {
    return this.#proc !== undefined && !this.#proc.hasExited();
  }

  /** A restart is due or under way. */
  get restarting(): boolean {
    return this.#restartTimer !== undefined || this.#restarting !== undefined;
  }

  /** Starts it now; a restart that was due is then not needed. */
  async start(): Promise<void> {
    this.#cancelRestart();
    await this.#restarting;
    if (this.running) throw new Error(`relayguard ${this.#service} is already running`);
    this.#stopping = false;
    this.#gaveUp = new AbortController();
    await this.#spawn();
  }

  /** Ready, waiting through restarts; fails at once when the supervisor gave up. */
  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor(async () => (await fetch(`${this.url}/readyz`)).status === 200, {
      timeoutMs,
      intervalMs: 100,
      description: `relayguard ${this.#service} to be ready`,
      signal: this.#gaveUp.signal,
    });
  }

  /**
   * The first log entry (a pino JSON line on stdout) of the current process that `match` accepts, seen as soon as
   * the line arrives: a fault can land right after what the process just did (RELAYGUARD_LOG_LEVEL must let the
   * entry through).
   */
  async logged(
    match: (entry: Record<string, unknown>) => boolean,
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown>> {
    let watcher: (line: string) => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise((resolve, reject) => {
        watcher = (line) => {
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            if (match(entry)) resolve(entry);
          } catch {
            // Not a log entry (the banner): not the one awaited.
          }
        };
        this.#lineWatchers.add(watcher);
        timer = setTimeout(
          () =>
            reject(new Error(`relayguard ${this.#service} did not log the awaited entry in ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
    } finally {
      clearTimeout(timer);
      this.#lineWatchers.delete(watcher);
    }
  }

  /** SIGSTOP (frozen: no heartbeat, no work, its sockets left open) or SIGCONT, as a stalled VM or GC pause. */
  freeze(frozen: boolean): void {
    if (!this.#proc) throw new Error(`relayguard ${this.#service} is not running`);
    process.kill(this.#proc.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** SIGKILL, on purpose: not restarted. */
  async kill(): Promise<void> {
    await this.#end((proc) => proc.kill());
  }

  /** SIGTERM (SIGKILL after 15 s), on purpose: not restarted. */
  async stop(): Promise<void> {
    await this.#end((proc) => proc.stop(15_000));
  }

  async #end(how: (proc: Tethered) => Promise<unknown>): Promise<void> {
    this.#stopping = true;
    this.#cancelRestart();
    await this.#restarting;
    // A frozen process would hold SIGTERM until it is resumed.
    if (this.running) this.freeze(false);
    if (this.#proc) await how(this.#proc);
  }

  #cancelRestart(): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
  }

  async #spawn(): Promise<void> {
    this.#port = await freePort();
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(RELAYGUARD_|KAFKA_|REDIS_|SCHEMA_)/.test(key)),
    );
    const proc = await spawnTethered(
      process.execPath,
      ['--import', 'tsx', 'services/cli/main.ts', this.#service],
      {
        cwd: projectRoot,
        env: {
          ...inherited,
          RELAYGUARD_LOG_LEVEL: 'warn',
          ...this.#env,
          RELAYGUARD_HTTP_PORT: String(this.#port),
          RELAYGUARD_POSTFIX_PORT: '0',
        },
      },
    );
    this.#proc = proc;
    this.output = '';
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    let partial = '';
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) for (const watcher of this.#lineWatchers) watcher(line);
    });
    proc.child.stdout?.on('data', keep);
    proc.child.stderr?.on('data', keep);
    void proc.exited.then((exit) => this.#exited(proc, exit));
  }

  #exited(proc: Tethered, exit: Exit): void {
    if (proc !== this.#proc || this.#stopping) return;
    const now = Date.now();
    this.#restartTimes = this.#restartTimes.filter((at) => now - at < START_LIMIT.intervalMs);
    const restarted = this.#restartTimes.length < START_LIMIT.burst;
    const record: UnplannedExit = {
      service: this.#service,
      ...exit,
      lastLines: lastLines(this.output, this.#secrets),
      restarted,
    };
    this.unplannedExits.push(record);
    process.stderr.write(
      `${describeUnplannedExit(record)}\n${record.lastLines.map((l) => `    ${l}\n`).join('')}`,
    );
    if (!restarted) {
      this.#gaveUp.abort(new Error(describeUnplannedExit(record)));
      return;
    }
    this.#restartTimes.push(now);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#restarting = this.#spawn()
        .catch((error: unknown) => this.#gaveUp.abort(error))
        .finally(() => {
          this.#restarting = undefined;
        });
    }, RESTART_DELAY_MS);
  }
}

/**
 * The last lines of a process's output, fit to print: pino lines as their message (and error's message), other
 * lines cut short; every `secrets` value and every mail address taken out.
 */
export function lastLines(output: string, secrets: readonly string[]): string[] {
  return output
    .trimEnd()
    .split('\n')
    .slice(-LAST_LINES)
    .map((line) => {
      let text = line.slice(0, 300);
      try {
        const entry = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown } };
        if (typeof entry.msg === 'string')
          text = typeof entry.err?.message === 'string' ? `${entry.msg}: ${entry.err.message}` : entry.msg;
      } catch {
        // Not a log entry (the banner, a stack trace): kept as it is, cut short.
      }
      for (const secret of secrets) text = text.replaceAll(secret, '[redacted]');
      return text.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '<address>');
    });
}

/** One line for a person: which process ended how, and what the supervisor did. */
function describeUnplannedExit(exit: UnplannedExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return exit.restarted
    ? `relayguard ${exit.service} ${how} on its own; restarted after ${RESTART_DELAY_MS / 1000} s, as its supervisor would`
    : `relayguard ${exit.service} ${how} on its own after ${START_LIMIT.burst} restarts in ${START_LIMIT.intervalMs / 1000} s; left down, as systemd's start limit would`;
}

/** The relayguard processes of one scenario: each supervised, their unplanned exits together, one stop for all. */
export class ServiceProcesses {
  readonly #env: Readonly<Record<string, string>>;
  readonly #all: ServiceProcess[] = [];

  constructor(env: Readonly<Record<string, string>>) {
    this.#env = env;
  }

  /** A new supervised process, not started yet; `env` adds to the stack's environment for it alone. */
  add(service: string, env: Readonly<Record<string, string>> = {}): ServiceProcess {
    const proc = new ServiceProcess(service, { ...this.#env, ...env });
    this.#all.push(proc);
    return proc;
  }

  get unplannedExits(): UnplannedExit[] {
    return this.#all.flatMap((proc) => proc.unplannedExits);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all.map((proc) => proc.stop()));
  }
}

// ---------------------------------------------------------------------------------------------------------

export interface Workload {
  readonly tenants: readonly string[];
  readonly events: readonly MessageSubmitted[];
}

/**
 * `count` events over the last 50 minutes of event time, in time order: most tenants send mostly from their
 * registered domain; SPAMMERS tenants send mostly from many unregistered ones, enough to be blocked.
 */
export function workload(count: number, seed = 1, tenantCount = 40): Workload {
  const random = seededRandom(seed);
  const tenants = Array.from({ length: tenantCount }, (_, i) => `t${String(i).padStart(2, '0')}`);
  const start = Date.now() - 55 * 60_000;
  const step = (50 * 60_000) / count;
  const events = Array.from({ length: count }, (_, i) => {
    const spammer = random() < 0.3;
    const tenantId = spammer
      ? tenants[Math.floor(random() * SPAMMERS)]!
      : tenants[SPAMMERS + Math.floor(random() * (tenantCount - SPAMMERS))]!;
    const unregistered = random() < (spammer ? 0.8 : 0.05);
    return messageSubmitted({
      eventId: `chaos-${seed}-${i}`,
      tenantId,
      occurredAt: Math.floor(start + i * step),
      envelopeSenderDomain: unregistered
        ? `spam${Math.floor(random() * 400)}.example`
        : `mail.${tenantId}.example`,
      relayPath: random() < 0.1 ? 'FORWARDED' : 'ONPREM',
      connectorId: `${tenantId}-onprem`,
    });
  });
  return { tenants, events };
}

/** Sends the events in batches at about `perSecond`; resolves with the number sent once all are acknowledged. */
export async function produce(
  stack: ChaosStack,
  events: readonly MessageSubmitted[],
  perSecond: number,
  batch = 500,
  /** Awaited before each batch with the number of events sent until then (an operator acting mid-load). */
  beforeBatch?: (sent: number) => Promise<void>,
): Promise<number> {
  const { log, codec } = stack.adapters;
  let started = Date.now();
  let sent = 0;
  for (let i = 0; i < events.length; i += batch) {
    if (beforeBatch) {
      const paused = Date.now();
      await beforeBatch(sent);
      started += Date.now() - paused;
    }
    const slice = events.slice(i, i + batch);
    const records = await Promise.all(
      slice.map(async (event) => ({
        key: event.tenantId,
        value: await codec.encode(Topics.messageSubmitted, event),
      })),
    );
    // A publish that fails (a broker down) is retried as a relay would: the batch again, until it is written.
    await waitFor(
      async () => {
        await log.publish(Topics.messageSubmitted, records);
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 250, description: 'a publish to succeed' },
    );
    sent += slice.length;
    const due = started + (sent / perSecond) * 1000;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  }
  return sent;
}

// ---------------------------------------------------------------------------------------------------------

/** An operator unblock during load: the tenant's block is lifted once the first `afterEvents` events are counted. */
export interface PlannedUnblock {
  readonly tenantId: string;
  readonly afterEvents: number;
}

/**
 * The unblock's time: the last millisecond of the minute of the last event counted before it. Events of that
 * minute sent later are before the unblock too, so no minute holds events on both sides of it, and the window
 * the scorer keeps does not depend on whether it folded an event before or after it learned of the unblock.
 */
export function unblockTime(load: Workload, afterEvents: number): number {
  const last = load.events[afterEvents - 1]!.occurredAt;
  return (Math.floor(last / 60_000) + 1) * 60_000 - 1;
}

export interface Reference {
  readonly windows: Map<string, TenantWindow>;
  /** tenantId -> block ids decided. */
  readonly blocks: Map<string, string[]>;
}

/**
 * The uninterrupted run: the pure fold over each tenant's events, in the order they were sent. A tenant with a
 * planned unblock is folded up to it; its latest block is lifted, and the rest is folded in the generation the
 * unblock starts (services/core/episodes.ts): events before it no longer count toward the next block.
 */
export function reference(load: Workload, unblocks: readonly PlannedUnblock[] = []): Reference {
  const context: TenantContext = {
    acceptedDomain: (tenantId, domain) =>
      domain === `${tenantId}.example` ? { matchSubdomains: true } : undefined,
    standing: () => NO_STANDING,
    connectorCreatedAt: () => null,
    ...NO_BLOCK_STATE,
  };
  const byTenant = new Map<string, PositionedMessage[]>();
  load.events.forEach((event, i) => {
    const messages = byTenant.get(event.tenantId) ?? [];
    messages.push(positioned(validateMessage(event), { partition: 0, offset: String(i) }));
    byTenant.set(event.tenantId, messages);
  });
  const windows = new Map<string, TenantWindow>();
  const blocks = new Map<string, string[]>();
  for (const [tenantId, messages] of byTenant) {
    const unblock = unblocks.find((u) => u.tenantId === tenantId);
    const split = unblock
      ? messages.filter((m) => Number(m.offset) < unblock.afterEvents).length
      : messages.length;
    const before = scoreTenant(undefined, tenantId, messages.slice(0, split), DEFAULT_POLICY, context);
    const decided = before.emits.map((e) => e.blocked!.blockId);
    let window = before.window;
    if (unblock) {
      const lifted = decided.at(-1);
      if (!lifted)
        throw new Error(`${tenantId} is not blocked after ${unblock.afterEvents} events: nothing to lift`);
      const generation = generationAfterUnblock(unblockTime(load, unblock.afterEvents), lifted);
      const after = scoreTenant(window, tenantId, messages.slice(split), DEFAULT_POLICY, {
        ...context,
        standing: () => ({ ...NO_STANDING, generation }),
      });
      window = after.window;
      decided.push(...after.emits.map((e) => e.blocked!.blockId));
    }
    windows.set(tenantId, window);
    if (decided.length > 0) blocks.set(tenantId, decided);
  }
  return { windows, blocks };
}

const total = (window: TenantWindow | undefined) =>
  [...(window?.buckets.values() ?? [])].reduce((sum, bucket) => sum + bucket.total, 0);

/** What a window counted, without where in the log it came from (positions differ from the reference's). */
function counts(window: TenantWindow | undefined): string {
  if (!window) return 'none';
  const sorted = <V>(map: Iterable<[string | number, V]>) =>
    [...map].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
  return JSON.stringify([
    window.streamMinute,
    window.resetAt,
    sorted(window.buckets),
    sorted(window.domains),
    sorted(window.connectors),
  ]);
}

export interface Comparison {
  readonly counted: number;
  readonly expected: number;
  readonly duplicates: number;
  readonly lost: number;
  readonly windowsDiffering: number;
  readonly decisionsWrong: number;
  /**
   * BLOCKED records on tenant-blocks after an UNBLOCKED of their tenant whose block was lifted: its id was lifted,
   * or it is of a generation before the unblock's (its evidence window counted events from before the unblock).
   */
  readonly liftedReimposed: number;
  /** Block decisions of the reference run. */
  readonly blocksExpected: number;
  readonly details: string[];
}

/** A run that counted nothing: the figures of a row whose fault did not happen or that could not complete. */
export const NOTHING_COMPARED: Comparison = {
  counted: 0,
  expected: 0,
  duplicates: 0,
  lost: 0,
  windowsDiffering: 0,
  decisionsWrong: 0,
  liftedReimposed: 0,
  blocksExpected: 0,
  details: [],
};

/** Every event counted once, every decision and window as the reference's, no lifted block re-imposed. */
export const isExact = (comparison: Comparison): boolean =>
  comparison.lost +
    comparison.duplicates +
    comparison.decisionsWrong +
    comparison.windowsDiffering +
    comparison.liftedReimposed ===
  0;

/** The windows in Redis and the blocks on the topic, against the reference. */
export async function compare(stack: ChaosStack, load: Workload, ref: Reference): Promise<Comparison> {
  const stored = await stack.adapters.store.load(load.tenants);
  let counted = 0;
  let expected = 0;
  let duplicates = 0;
  let lost = 0;
  let windowsDiffering = 0;
  const details: string[] = [];
  for (const tenantId of load.tenants) {
    const live = total(stored.get(tenantId)?.window);
    const want = total(ref.windows.get(tenantId));
    counted += live;
    expected += want;
    duplicates += Math.max(0, live - want);
    lost += Math.max(0, want - live);
    if (counts(stored.get(tenantId)?.window) !== counts(ref.windows.get(tenantId))) {
      windowsDiffering++;
      details.push(`${tenantId}: window differs (counted ${live}, reference ${want})`);
    }
  }
  const events = await tenantBlockEvents(stack.adapters);
  const published = publishedBlocks(events);
  let decisionsWrong = 0;
  for (const tenantId of load.tenants) {
    const want = [...(ref.blocks.get(tenantId) ?? [])].sort().join(',');
    const got = [...(published.get(tenantId) ?? [])].sort().join(',');
    if (want !== got) {
      decisionsWrong++;
      details.push(`${tenantId}: blocks ${got || 'none'}, reference ${want || 'none'}`);
    }
  }
  return {
    counted,
    expected,
    duplicates,
    lost,
    windowsDiffering,
    decisionsWrong,
    liftedReimposed: liftedReimposed(events, details),
    blocksExpected: ref.blocks.size,
    details,
  };
}

/** Every record on the tenant-blocks topic, each tenant's in the order they were written. */
async function tenantBlockEvents({ log, codec }: Adapters): Promise<TenantBlockEvent[]> {
  const events: TenantBlockEvent[] = [];
  const subscription = await log.subscribe({
    groupId: null,
    topics: [Topics.tenantBlocks],
    handleBatch: async (batch) => {
      for (const record of batch.records)
        if (record.value !== null) events.push(await codec.decode(Topics.tenantBlocks, record.value));
    },
  });
  await subscription.caughtUp;
  await subscription.stop();
  return events;
}

/** Distinct block ids per tenant (a duplicate publish has the same id). */
function publishedBlocks(events: readonly TenantBlockEvent[]): Map<string, Set<string>> {
  const blocks = new Map<string, Set<string>>();
  for (const event of events) {
    if (event.kind !== 'BLOCKED' || !event.blocked) continue;
    const ids = blocks.get(event.tenantId) ?? new Set<string>();
    ids.add(event.blocked.blockId);
    blocks.set(event.tenantId, ids);
  }
  return blocks;
}

/** The BLOCKED records that re-impose a block an UNBLOCKED before them lifted (see Comparison), each in `details`. */
function liftedReimposed(events: readonly TenantBlockEvent[], details: string[]): number {
  const lifted = new Map<string, { ids: Set<string>; generation: number }>();
  let count = 0;
  for (const event of events) {
    const seen = lifted.get(event.tenantId) ?? { ids: new Set<string>(), generation: 0 };
    if (event.kind === 'UNBLOCKED' && event.unblocked) {
      seen.ids.add(event.unblocked.blockId);
      seen.generation = Math.max(
        seen.generation,
        generationAfterUnblock(event.occurredAt, event.unblocked.blockId),
      );
      lifted.set(event.tenantId, seen);
    } else if (event.kind === 'BLOCKED' && event.blocked) {
      const { blockId } = event.blocked;
      if (seen.ids.has(blockId) || blockGeneration(blockId) < seen.generation) {
        count++;
        details.push(`${event.tenantId}: lifted block re-imposed (${blockId})`);
      }
    }
  }
  return count;
}

/**
 * Waits until the scorer group has committed everything produced up to now; returns the milliseconds from
 * `since` (when the fault was healed) to then: the time to recover.
 */
export async function caughtUp(stack: ChaosStack, since = Date.now(), timeoutMs = 180_000): Promise<number> {
  const { end } = await waitFor(() => stack.progress(), { timeoutMs, description: 'the end offsets' });
  await waitFor(async () => (await stack.progress()).committed >= end, {
    timeoutMs,
    intervalMs: 200,
    description: `the scorer to commit offset ${end}`,
  });
  return Date.now() - since;
}
