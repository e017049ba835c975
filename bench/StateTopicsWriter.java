// Benchmark 12's writer of the state topics: the Apache Kafka Java producer (kafka-clients, from the broker's jars
// in .cache) fed records already encoded by relayguard's codec, so that filling the topics with 10,000,000 tenants'
// records costs a few µs of CPU each (kafkajs 2.2.4 spends ~20 µs on a record: a buffer, Long varints and a
// JavaScript murmur2 and CRC-32C per record). Keyed records go where kafkajs' DefaultPartitioner sends them: both
// use Java's murmur2 of the key.
//
// Run by bench/state-topics-writer.ts with the JDK's source launcher (no build step):
//   java -cp '.cache/kafka-<version>/*' bench/StateTopicsWriter.java <bootstrap servers> <topic>...
// stdin: records, each [u8 topic index][u16 key length][key][u32 value length][value], big-endian, until EOF.
// stdout at the end: one JSON line, {"records":N,"cpuSeconds":S} (S: this process's CPU, every thread).
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.lang.management.ManagementFactory;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class StateTopicsWriter {
  public static void main(String[] args) throws Exception {
    String[] topics = java.util.Arrays.copyOfRange(args, 1, args.length);
    Properties config = new Properties();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    // As relayguard's producer (services/platform/kafka/kafka-producer.ts): acks=all, idempotent, no compression.
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    config.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    config.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(1 << 20));
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    AtomicReference<Exception> failure = new AtomicReference<>();
    long records = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config);
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 20))) {
      for (;;) {
        int topic;
        try {
          topic = in.readUnsignedByte();
        } catch (EOFException end) {
          break;
        }
        byte[] key = new byte[in.readUnsignedShort()];
        in.readFully(key);
        byte[] value = new byte[in.readInt()];
        in.readFully(value);
        producer.send(
            new ProducerRecord<>(topics[topic], key, value),
            (metadata, error) -> {
              if (error != null) failure.compareAndSet(null, error);
            });
        records++;
        if (failure.get() != null) break;
      }
      producer.flush();
    }
    if (failure.get() != null) {
      System.err.println("StateTopicsWriter: a send failed: " + failure.get());
      System.exit(1);
    }
    double cpuSeconds =
        ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime()
            / 1e9;
    System.out.println("{\"records\":" + records + ",\"cpuSeconds\":" + cpuSeconds + "}");
  }
}
