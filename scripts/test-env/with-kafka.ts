// Runs a command (the test runner) with one Apache Kafka broker for all of it: the broker starts once, its
// address goes to the command's environment (RELAYGUARD_TEST_KAFKA_BROKERS, read by test/support/kafka-broker.ts),
// and it is stopped by pid when the command ends. Both are tethered to this process: if it is killed, the broker
// and the command die with it. Prints the broker version before and after the run.
//   node --import tsx scripts/test-env/with-kafka.ts <command> [args...]
import { startKafkaCluster } from '../../test/support/kafka-broker.js';
import { spawnTethered } from '../../test/support/tether.js';

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write('usage: with-kafka.ts <command> [args...]\n');
  process.exit(2);
}

const started = Date.now();
const kafka = await startKafkaCluster();
const banner = `Kafka tests ran against Apache Kafka ${kafka.version} (KRaft, ${kafka.bootstrapServers.join(',')})`;
process.stdout.write(`# ${banner.replace('ran', 'run')}, ready in ${Date.now() - started} ms\n`);

const child = await spawnTethered(command, args, {
  env: {
    ...process.env,
    RELAYGUARD_TEST_KAFKA_BROKERS: kafka.bootstrapServers.join(','),
    RELAYGUARD_TEST_KAFKA_VERSION: kafka.version,
  },
  stdout: 'inherit',
  stderr: 'inherit',
});
// Ctrl-C reaches the whole foreground group; a TERM sent to this process alone is passed on.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.child.kill(signal));

const exit = await child.exited;
await kafka.stop();
process.stdout.write(`# ${banner}\n`);
process.exit(exit.code ?? 1);
