// The real Apache Kafka broker for tests: the jars scripts/test-env/ensure-deps.sh fetched from Maven Central,
// run in KRaft mode (`java -cp '<jars>/*' kafka.Kafka <properties>`) on free loopback ports with a small heap.
// One node, or a cluster of combined controller+broker nodes for the fault matrix. Every java process is
// tethered (test/support/tether.ts): it dies with the process that started it, even one killed by SIGKILL.
//
// sharedKafka() is the broker a test file's topics live on: the one scripts/test.sh started for the whole run
// (RELAYGUARD_TEST_KAFKA_BROKERS), or, for a test file run on its own, one started on first use and stopped
// when the file's process exits. Tests name their topics per test (uniqueTopic).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import { freePorts, spawnTethered, type Tethered, waitFor, waitForStartup } from './tether.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The broker versions ensure-deps.sh fetches; the first is docker-compose.yml's. */
export const KAFKA_VERSIONS: readonly string[] = readFileSync(
  join(REPO_ROOT, 'scripts', 'test-env', 'kafka', 'versions'),
  'utf8',
)
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** RELAYGUARD_TEST_KAFKA_VERSION picks another fetched version (the 4.x contract run); else compose's. */
export function testKafkaVersion(): string {
  const version = process.env.RELAYGUARD_TEST_KAFKA_VERSION ?? KAFKA_VERSIONS[0];
  if (version === undefined) throw new Error('scripts/test-env/kafka/versions lists no version');
  return version;
}

export const kafkaJarsDir = (version: string) => join(REPO_ROOT, '.cache', `kafka-${version}`);

/** Brokers that tests create their topics on. */
export interface KafkaBrokers {
  readonly bootstrapServers: readonly string[];
  /** The Apache Kafka version the brokers run. */
  readonly version: string;
  /** Creates a topic and waits for its partitions to have leaders. */
  createTopic(
    name: string,
    partitions: number,
    replicationFactor?: number,
    configs?: Readonly<Record<string, string>>,
  ): Promise<void>;
}

export interface KafkaNode {
  readonly id: number;
  /** host:port of its client listener. */
  readonly address: string;
  /** The java process; changes on start(). */
  readonly pid: number;
  isRunning(): boolean;
  /** SIGKILL, as a crash; the node stays down until start(). */
  kill(): Promise<void>;
  /** SIGTERM (a controlled shutdown: leadership moves first), SIGKILL after the grace period. */
  stop(): Promise<void>;
  /** Starts the node again on the same ports and storage; resolves once it listens. */
  start(): Promise<void>;
}

export interface KafkaCluster extends KafkaBrokers {
  readonly nodes: readonly KafkaNode[];
  /** The SASL_SSL listener, when started with `secure`. */
  readonly secure: SecureListener | undefined;
  /** Kills every node by pid and removes the storage. */
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** Combined controller+broker nodes (KRaft): 1, or 3 for the fault matrix. */
  readonly nodes?: number;
  readonly version?: string;
  /** Extra broker properties, after the defaults (so they win). */
  readonly properties?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
  /**
   * A second listener as users deploy it: SASL/SCRAM-SHA-512 over TLS (a certificate for 127.0.0.1 from a CA
   * generated here), with these SCRAM users, and ACLs enforced (StandardAuthorizer). The PLAINTEXT listener stays
   * for the tests' own set-up: its anonymous user is the super user that creates topics and ACLs.
   */
  readonly secure?: { readonly users: Readonly<Record<string, string>> };
}

export interface SecureListener {
  readonly bootstrapServers: readonly string[];
  /** The CA that signed the brokers' certificate (PEM), for NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
}

// A small heap and the client compiler only: two cores are shared by the whole test run, and a test broker
// holds little data. Serial GC: no GC threads competing with the tests.
const JVM_OPTIONS = [
  '-Xms64m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Djava.awt.headless=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
];

const MAX_START_ATTEMPTS = 3;
const RUN_DIR_PREFIX = 'relayguard-kafka-';

export async function startKafkaCluster({
  nodes = 1,
  version = testKafkaVersion(),
  properties = {},
  startTimeoutMs = 60_000,
  secure,
}: StartKafkaOptions = {}): Promise<KafkaCluster> {
  const jars = kafkaJarsDir(version);
  await access(join(jars, `kafka_2.13-${version}.jar`)).catch(() => {
    throw new Error(`Apache Kafka ${version} is not in ${jars}: run scripts/test-env/ensure-deps.sh`);
  });
  await removeStaleKafkaStorage();
  // freePorts() can race with another process taking a port before the broker binds it: a fresh set of
  // ports is then worth another try.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchCluster(nodes, version, jars, properties, startTimeoutMs, secure?.users);
    } catch (error) {
      if (attempt >= MAX_START_ATTEMPTS || !String(error).includes('Address already in use')) throw error;
    }
  }
}

async function launchCluster(
  count: number,
  version: string,
  jars: string,
  extraProperties: Readonly<Record<string, string>>,
  startTimeoutMs: number,
  scramUsers: Readonly<Record<string, string>> | undefined,
): Promise<KafkaCluster> {
  // The creating pid is in the name, so an interrupted run's storage is found and removed by the next one.
  const runDir = await mkdtemp(join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const free = await freePorts(3 * count);
  const ports = ids.map((_, i) => ({
    client: free[3 * i]!,
    controller: free[3 * i + 1]!,
    sasl: free[3 * i + 2]!,
  }));
  const caFile = scramUsers ? await generateCertificates(runDir) : undefined;
  const voters = ids.map((id, i) => `${id}@127.0.0.1:${ports[i]!.controller}`).join(',');
  const replication = String(Math.min(3, count));
  const clusterId = await java(jars, ['kafka.tools.StorageTool', 'random-uuid']).then((out) => out.trim());

  const configs = await Promise.all(
    ids.map(async (id, i) => {
      const { client, controller, sasl } = ports[i]!;
      const dataDir = join(runDir, `node-${id}`);
      const file = join(runDir, `node-${id}.properties`);
      const props: Record<string, string> = {
        'process.roles': 'broker,controller',
        'node.id': String(id),
        'controller.quorum.voters': voters,
        listeners: `PLAINTEXT://127.0.0.1:${client},CONTROLLER://127.0.0.1:${controller}`,
        'advertised.listeners': `PLAINTEXT://127.0.0.1:${client}`,
        'controller.listener.names': 'CONTROLLER',
        'inter.broker.listener.name': 'PLAINTEXT',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'log.dirs': dataDir,
        'auto.create.topics.enable': 'false',
        'group.initial.rebalance.delay.ms': '0',
        // The internal topics sized for tests: 50 offsets partitions would cost seconds on two cores.
        'offsets.topic.num.partitions': '5',
        'offsets.topic.replication.factor': replication,
        'transaction.state.log.num.partitions': '5',
        'transaction.state.log.replication.factor': replication,
        'transaction.state.log.min.isr': String(Math.min(2, count)),
        'num.network.threads': '2',
        'num.io.threads': '2',
        'background.threads': '2',
        'log.cleaner.threads': '1',
        // The cleaner looks for compactable logs every 15 s by default: a compaction test would wait that long.
        'log.cleaner.backoff.ms': '500',
        'log.cleaner.dedupe.buffer.size': String(8 * 1024 * 1024),
        ...(scramUsers ? secureListener(runDir, client, controller, sasl) : {}),
        ...extraProperties,
      };
      await mkdir(dataDir);
      await writeFile(
        file,
        `${Object.entries(props)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n`,
      );
      await java(jars, [
        'kafka.tools.StorageTool',
        'format',
        '--ignore-formatted',
        '-t',
        clusterId,
        '-c',
        file,
        ...Object.entries(scramUsers ?? {}).flatMap(([name, password]) => [
          '--add-scram',
          `SCRAM-SHA-512=[name=${name},password=${password}]`,
        ]),
      ]);
      return { id, file, address: `127.0.0.1:${client}`, secureAddress: `127.0.0.1:${sasl}` };
    }),
  );

  const bootstrapServers = configs.map(({ address }) => address);
  const launched: NodeHandle[] = [];
  const stopAll = async () => {
    await Promise.all(launched.map((node) => node.kill()));
    await rm(runDir, { recursive: true, force: true });
  };
  try {
    for (const { id, file, address } of configs) {
      const node = new NodeHandle(id, address, jars, file, startTimeoutMs);
      launched.push(node);
    }
    // The controllers need a quorum before any broker registers: start them together.
    await Promise.all(launched.map((node) => node.start()));
    await waitForBrokers(bootstrapServers, count, startTimeoutMs);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    bootstrapServers,
    version,
    nodes: launched,
    secure: caFile
      ? { bootstrapServers: configs.map(({ secureAddress }) => secureAddress), caFile }
      : undefined,
    createTopic: (name, partitions, replicationFactor = Math.min(3, count), configs = {}) =>
      createTopic(bootstrapServers, { topic: name, numPartitions: partitions, replicationFactor, configs }),
    stop: stopAll,
  };
}

/** The broker properties of the SASL_SSL listener (see StartKafkaOptions.secure). */
function secureListener(
  runDir: string,
  client: number,
  controller: number,
  sasl: number,
): Record<string, string> {
  return {
    listeners: `PLAINTEXT://127.0.0.1:${client},CONTROLLER://127.0.0.1:${controller},SASL_SSL://127.0.0.1:${sasl}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${client},SASL_SSL://127.0.0.1:${sasl}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': join(runDir, 'broker.pem'),
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:ANONYMOUS',
  };
}

/** A CA and a certificate for 127.0.0.1 signed by it (broker.pem: key and certificate); returns the CA's file. */
async function generateCertificates(dir: string): Promise<string> {
  const openssl = (...args: string[]) =>
    promisify(execFile)('openssl', args, { cwd: dir }).catch((error: Error & { stderr?: string }) => {
      throw new Error(`openssl ${args[0]} failed: ${error.stderr?.trim() || error.message}`, {
        cause: error,
      });
    });
  const days = ['-days', '2'];
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    ...days,
    '-subj',
    '/CN=relayguard test CA',
  );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'broker.key',
    '-out',
    'broker.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    'broker.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'broker.crt',
    ...days,
    '-extfile',
    'san.ext',
  );
  const [key, certificate] = await Promise.all(
    ['broker.key', 'broker.crt'].map((name) => readFile(join(dir, name), 'utf8')),
  );
  await writeFile(join(dir, 'broker.pem'), `${key}${certificate}`);
  return join(dir, 'ca.pem');
}

/** Waits for an unreferenced child's exit without letting this process end in the meantime. */
async function keepingAlive<T>(exit: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1_000);
  try {
    return await exit;
  } finally {
    clearInterval(timer);
  }
}

class NodeHandle implements KafkaNode {
  private process: Tethered | undefined;

  constructor(
    readonly id: number,
    readonly address: string,
    private readonly jars: string,
    private readonly propertiesFile: string,
    private readonly startTimeoutMs: number,
  ) {}

  get pid(): number {
    if (this.process === undefined) throw new Error(`kafka node ${this.id} was never started`);
    return this.process.pid;
  }

  isRunning(): boolean {
    return this.process !== undefined && !this.process.hasExited();
  }

  async start(): Promise<void> {
    if (this.isRunning()) throw new Error(`kafka node ${this.id} is already running`);
    const server = await spawnTethered('java', [
      ...JVM_OPTIONS,
      '-cp',
      `${this.jars}/*`,
      'kafka.Kafka',
      this.propertiesFile,
    ]);
    this.process = server;
    const [host, port] = this.address.split(':');
    await waitForStartup(server, `kafka node ${this.id}`, () => listens(host!, Number(port)), {
      timeoutMs: this.startTimeoutMs,
      intervalMs: 100,
      description: `kafka node ${this.id} (pid ${server.pid}) to listen on ${this.address}`,
    });
    // A running node never keeps this process alive: a test file whose set-up failed before it could stop the
    // broker still exits (and the tether ends the broker) instead of hanging the whole run.
    server.child.unref();
    for (const stream of [server.child.stdout, server.child.stderr]) (stream as Socket | null)?.unref();
  }

  async kill(): Promise<void> {
    if (this.process) await keepingAlive(this.process.kill());
  }

  async stop(): Promise<void> {
    if (this.process) await keepingAlive(this.process.stop(15_000));
  }
}

/** The node id of the KRaft quorum's leader, the active controller (Admin.describeMetadataQuorum). */
export async function quorumLeader(cluster: KafkaCluster): Promise<number> {
  const running = cluster.nodes.filter((node) => node.isRunning()).map((node) => node.address);
  const source = join(REPO_ROOT, 'scripts', 'test-env', 'kafka', 'QuorumLeader.java');
  const out = await java(kafkaJarsDir(cluster.version), [source, running.join(',')]);
  const id = Number(out.trim().split('\n').at(-1));
  if (!Number.isInteger(id) || id < 0) throw new Error(`no quorum leader in: ${out.trim()}`);
  return id;
}

function java(jars: string, args: readonly string[]): Promise<string> {
  return promisify(execFile)('java', [...JVM_OPTIONS, '-cp', `${jars}/*`, ...args], { timeout: 60_000 }).then(
    ({ stdout }) => stdout,
    (error: Error & { stderr?: string }) => {
      throw new Error(`java ${args.join(' ')} failed: ${error.stderr?.trim() || error.message}`, {
        cause: error,
      });
    },
  );
}

function listens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const quietKafka = (brokers: readonly string[]) =>
  new kafkajs.Kafka({
    clientId: 'relayguard-test-support',
    brokers: [...brokers],
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });

/** Runs `use` with a connected admin client of the brokers' plain listener, disconnected afterwards. */
export async function withKafkaAdmin<T>(
  brokers: KafkaBrokers,
  use: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = quietKafka(brokers.bootstrapServers).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until every broker has registered with the controller (Metadata lists them all). */
async function waitForBrokers(brokers: readonly string[], count: number, timeoutMs: number): Promise<void> {
  const admin = quietKafka(brokers).admin();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length >= count && cluster.controller !== null) return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`kafka brokers ${brokers.join(',')} never became ready`, { cause: error });
      }
      if (Date.now() > deadline)
        throw new Error(`kafka brokers ${brokers.join(',')}: fewer than ${count} registered`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

async function createTopic(
  brokers: readonly string[],
  { configs, ...topic }: Omit<ITopicConfig, 'configEntries'> & { configs: Readonly<Record<string, string>> },
): Promise<void> {
  const admin = quietKafka(brokers).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [
        { ...topic, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) },
      ],
      // kafkajs' own wait gives up on UNKNOWN_TOPIC_OR_PARTITION from a broker that has not heard yet.
      waitForLeaders: false,
    });
    if (!created) throw new Error(`topic ${topic.topic} exists already`);
    // Each broker learns of the topic from the controller on its own schedule (until then it answers
    // UNKNOWN_TOPIC_OR_PARTITION), and a leader named in the metadata answers NOT_LEADER_FOR_PARTITION until it
    // has loaded the partition: a topic is ready when every broker knows it and every leader answers ListOffsets.
    await Promise.all(brokers.map((broker) => brokerKnowsTopic(broker, topic.topic)));
    await waitFor(() => admin.fetchTopicOffsets(topic.topic), {
      timeoutMs: 30_000,
      description: `the leaders of topic ${topic.topic} to answer`,
    });
  } finally {
    await admin.disconnect();
  }
}

async function brokerKnowsTopic(broker: string, topic: string): Promise<void> {
  const admin = quietKafka([broker]).admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        return topics[0]?.partitions.every((partition) => partition.leader >= 0);
      },
      { timeoutMs: 30_000, description: `broker ${broker} to know topic ${topic}` },
    );
  } finally {
    await admin.disconnect();
  }
}

let sharedBroker: Promise<KafkaBrokers> | undefined;

/**
 * The broker of this test run: scripts/test.sh's (RELAYGUARD_TEST_KAFKA_BROKERS), or one this process starts
 * on first use and ends when it exits. Never stop it: other test files use it.
 */
export function sharedKafka(): Promise<KafkaBrokers> {
  sharedBroker ??= connectShared();
  return sharedBroker;
}

async function connectShared(): Promise<KafkaBrokers> {
  const fromRun = process.env.RELAYGUARD_TEST_KAFKA_BROKERS;
  if (fromRun !== undefined && fromRun !== '') {
    const bootstrapServers = fromRun.split(',');
    return {
      bootstrapServers,
      version: testKafkaVersion(),
      createTopic: (name, partitions, replicationFactor = 1, configs = {}) =>
        createTopic(bootstrapServers, { topic: name, numPartitions: partitions, replicationFactor, configs }),
    };
  }
  // The nodes do not keep this process alive: it exits when its tests are done, and the broker ends with it.
  const cluster = await startKafkaCluster();
  const pids = cluster.nodes.map((node) => node.pid);
  // 'exit' handlers run synchronously: kill by pid, then remove the storage the broker wrote.
  process.once('exit', () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const name of readdirSync(tmpdir())) {
      if (name.startsWith(`${RUN_DIR_PREFIX}${process.pid}-`))
        rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  });
  return cluster;
}

/** Removes the storage of brokers whose starting process is gone (killed before it could clean up). */
export async function removeStaleKafkaStorage(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => name.startsWith(RUN_DIR_PREFIX))
      .filter((name) => !isAlive(Number(name.slice(RUN_DIR_PREFIX.length).split('-')[0])))
      .map((name) => rm(join(tmpdir(), name), { recursive: true, force: true })),
  );
}

/** Alive and not a zombie (a killed orphan stays one until it is reaped, and kill(pid, 0) still succeeds). */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
