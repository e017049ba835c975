// Benchmark 12 fills the compacted state topics through the Apache Kafka Java producer (bench/StateTopicsWriter.java,
// run by the JDK's source launcher against the broker's own jars): records encoded here by relayguard's codec are
// piped to it. kafkajs spends ~20 µs of CPU on each record it sends, which makes 30 million records (10,000,000
// tenants) take ~10 minutes of CPU before the enforcer is even started; the Java producer takes ~1 µs.
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { kafkaJarsDir } from '../test/support/kafka-broker.js';
import { spawnTethered } from '../test/support/tether.js';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'StateTopicsWriter.java');
/** Records are framed into a buffer of this size before they are written to the pipe. */
const BUFFER_BYTES = 1 << 20;
const JVM_OPTIONS = ['-Xmx256m', '-XX:+UseSerialGC', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn'];

export interface StateTopicsWriter {
  /** Queues one record; resolves when it may be called again (the pipe took the buffer when it was full). */
  write(topic: string, key: string, value: Buffer): Promise<void> | undefined;
  /** Sends what is queued, waits for the producer to have every record acknowledged (acks=all). */
  end(): Promise<{ readonly records: number; readonly cpuSeconds: number }>;
}

/** The Java producer on `bootstrapServers`, for records of `topics`, with kafka-clients of the broker's `version`. */
export async function startStateTopicsWriter(
  bootstrapServers: readonly string[],
  version: string,
  topics: readonly string[],
): Promise<StateTopicsWriter> {
  const java = await spawnTethered(
    'java',
    [...JVM_OPTIONS, '-cp', join(kafkaJarsDir(version), '*'), SOURCE, bootstrapServers.join(','), ...topics],
    { exitsOnStdinEof: true },
  );
  let stdout = '';
  let stderr = '';
  java.child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  java.child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const failed = java.exited.then(
    (exit) => new Error(`the Java producer exited (${exit.signal ?? exit.code}): ${stderr}`),
  );
  const stdin = java.child.stdin as Writable;
  // A write the producer no longer reads is reported by its exit, not as an unhandled EPIPE.
  stdin.on('error', () => undefined);
  const indexOf = new Map(topics.map((topic, i) => [topic, i]));
  let buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  let used = 0;

  const flush = async () => {
    if (used === 0) return;
    const full = stdin.write(buffer.subarray(0, used));
    buffer = Buffer.allocUnsafe(BUFFER_BYTES);
    used = 0;
    if (!full) {
      const drained = await Promise.race([once(stdin, 'drain').then(() => null), failed]);
      if (drained) throw drained;
    }
  };

  return {
    write(topic, key, value) {
      const index = indexOf.get(topic);
      if (index === undefined) throw new Error(`the writer was started without topic ${topic}`);
      const keyBytes = Buffer.byteLength(key);
      const size = 1 + 2 + keyBytes + 4 + value.length;
      if (size > BUFFER_BYTES) throw new Error(`a record of ${size} B is larger than the writer's buffer`);
      const waited = used + size > BUFFER_BYTES ? flush() : undefined;
      used = buffer.writeUInt8(index, used);
      used = buffer.writeUInt16BE(keyBytes, used);
      used += buffer.write(key, used);
      used = buffer.writeUInt32BE(value.length, used);
      used += value.copy(buffer, used);
      return waited;
    },
    async end() {
      await flush();
      stdin.end();
      const exit = await java.exited;
      if (exit.code !== 0) throw await failed;
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as { records: number; cpuSeconds: number };
    },
  };
}
