// librdkafka's mock cluster (a real Kafka-protocol broker with fault injection) for tests, driven
// through the launcher in test/support/kafka-mock/launcher.c. See DESIGN.md for its known limits:
// no CreateTopics (create topics here), and Metadata names controller 0 while brokers are 1..N.
import { access, constants } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTethered } from './tether.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAUNCHER_PATH = join(REPO_ROOT, '.cache', 'kafka-mock-launcher');

/** Kafka protocol API keys of the requests tests make the mock fail. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  OffsetCommit: 8,
  OffsetFetch: 9,
  Heartbeat: 12,
  SyncGroup: 14,
} as const;

/** Kafka protocol error codes, as the mock cluster returns them. */
export const KafkaError = {
  NOT_LEADER: 6,
  REQUEST_TIMED_OUT: 7,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_REQUEST: 42,
} as const;

export interface KafkaMock {
  /** host:port of each broker, brokers 1..N in order. */
  bootstrapServers: string[];
  pid: number;
  createTopic(name: string, partitions: number, replication?: number): Promise<void>;
  brokerDown(id: number): Promise<void>;
  brokerUp(id: number): Promise<void>;
  /** Adds `ms` of latency to every response of broker `id` (-1: all brokers). */
  setRtt(id: number, ms: number): Promise<void>;
  /** The next requests with this API key (on any broker) fail with these Kafka error codes, in order. */
  pushRequestErrors(apiKey: number, codes: readonly number[]): Promise<void>;
  /** Moves a partition's leadership; -1 leaves it without a leader. Creates an unknown topic. */
  setLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  setCoordinator(type: 'group' | 'txn', key: string, brokerId: number): Promise<void>;
  /** Closes the launcher's stdin (it destroys the cluster and exits) and waits for the exit. */
  stop(): Promise<void>;
}

export interface StartKafkaMockOptions {
  brokers?: number;
  startTimeoutMs?: number;
}

/** Thrown when the launcher answers a command with ERR. */
export class KafkaMockCommandError extends Error {
  override name = 'KafkaMockCommandError';
}

const TOKEN = /^[A-Za-z0-9._-]+$/;

export async function startKafkaMock({
  brokers = 3,
  startTimeoutMs = 10_000,
}: StartKafkaMockOptions = {}): Promise<KafkaMock> {
  await access(LAUNCHER_PATH, constants.X_OK).catch(() => {
    throw new Error(`${LAUNCHER_PATH} is missing: run scripts/test-env/ensure-deps.sh`);
  });
  // The launcher exits on stdin EOF, so its stdin pipe is the tether: no watchdog needed.
  const proc = await spawnTethered(LAUNCHER_PATH, [String(brokers)], { exitsOnStdinEof: true });
  const { child } = proc;
  const stdin = child.stdin;
  const stdout = child.stdout;
  if (stdin === null || stdout === null) throw new Error('kafka mock launcher: no stdio pipes');

  // librdkafka logs to stderr; keep the tail for error messages (and keep the pipe drained).
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  });

  // One line answers one command; commands are serialized, so answers match requests in order.
  const lines = createInterface({ input: stdout })[Symbol.asyncIterator]();
  const exitMessage = () =>
    proc.exited.then(
      (exit) => new Error(`kafka mock launcher exited (${exit.signal ?? exit.code}): ${log.trim()}`),
    );
  const nextLine = async (timeoutMs: number): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The late answer would be taken for the next command's: a silent launcher is not reused.
        void proc.kill();
        reject(new Error(`kafka mock launcher: no answer in ${timeoutMs} ms: ${log.trim()}`));
      }, timeoutMs);
    });
    try {
      const next = await Promise.race([lines.next(), timeout]);
      if (next.done) throw await exitMessage();
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  };

  const ready = await nextLine(startTimeoutMs);
  if (!ready.startsWith('READY ')) {
    await proc.kill();
    throw new Error(`kafka mock launcher: expected READY, got ${JSON.stringify(ready)}`);
  }
  const bootstrapServers = ready.slice('READY '.length).trim().split(',');

  let queue: Promise<unknown> = Promise.resolve();
  const command = async (...words: Array<string | number>): Promise<void> => {
    for (const word of words) {
      // A space or newline inside a word would desynchronize the line protocol.
      if (!TOKEN.test(String(word)))
        throw new TypeError(`kafka mock: invalid argument ${JSON.stringify(word)}`);
    }
    const line = words.join(' ');
    const result = queue.then(async () => {
      if (proc.hasExited()) throw await exitMessage();
      stdin.write(`${line}\n`);
      const answer = await nextLine(10_000);
      if (answer.startsWith('ERR ')) throw new KafkaMockCommandError(`${line}: ${answer.slice(4)}`);
      if (answer !== 'OK') throw new Error(`kafka mock: unexpected answer to ${line}: ${answer}`);
    });
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    bootstrapServers,
    pid: proc.pid,
    createTopic: (name, partitions, replication = Math.min(3, brokers)) =>
      command('topic', name, partitions, replication),
    brokerDown: (id) => command('broker-down', id),
    brokerUp: (id) => command('broker-up', id),
    setRtt: (id, ms) => command('rtt', id, ms),
    pushRequestErrors: (apiKey, codes) => command('errors', apiKey, ...codes),
    setLeader: (topic, partition, brokerId) => command('leader', topic, partition, brokerId),
    setCoordinator: (type, key, brokerId) => command('coordinator', type, key, brokerId),
    async stop() {
      // Let queued commands finish first, so none is cut off mid-answer.
      await queue;
      stdin.end();
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
      try {
        await proc.exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
