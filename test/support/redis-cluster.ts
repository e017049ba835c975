// A real Redis Cluster for tests, from Debian's redis-server: three masters with one replica each, every node a
// redis-server of ./redis-server.ts (its own free loopback port and data directory, stopped by pid, dying with the
// test process), joined by `redis-cli --cluster create`. cluster-node-timeout is short, so a killed master's
// replica takes over within seconds.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedis } from './redis-server.js';
import { waitFor } from './tether.js';

const run = promisify(execFile);

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

export interface RedisCluster {
  /** Every node, as seed nodes for a cluster client (REDIS_CLUSTER_NODES). */
  readonly nodes: readonly ClusterNode[];
  /** redis://127.0.0.1:<first node>: what REDIS_URL carries beside REDIS_CLUSTER_NODES (credentials, TLS). */
  readonly url: string;
  /** SIGKILL the node on `port`, as a crash; it stays down until restart(port). */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port, with its data directory (nodes.conf: it rejoins as it was). */
  restart(port: number): Promise<void>;
  /** Runs `redis-cli` against the cluster (the first live node unless `-h/-p` are given) and returns stdout. */
  cli(...args: string[]): Promise<string>;
  /** The ports of the nodes that are masters now, by their own view (CLUSTER NODES of a live node). */
  masters(): Promise<{ port: number; id: string; slots: number }[]>;
  /** Resolves when every live node reports cluster_state:ok and agrees on who serves every slot. */
  settled(timeoutMs?: number): Promise<void>;
  /** Stops every node (SIGTERM, by pid) and removes the data directories. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  readonly masters?: number;
  /** cluster-node-timeout: how long a master may be unreachable before its replica takes over. */
  readonly nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node, e.g. TLS or ['--appendonly', 'yes']. */
  readonly args?: readonly string[];
  /** Extra redis-cli arguments for `--cluster` and the helpers, e.g. ['--tls', '--cacert', file]. */
  readonly cliArgs?: readonly string[];
  /** When the client port is not the one nodes announce (TLS-only clients): maps a node's port to the client's. */
  readonly clientPort?: (port: number) => number;
}

export async function startRedisCluster({
  masters = 3,
  nodeTimeoutMs = 1_000,
  args = [],
  cliArgs = [],
  clientPort = (port) => port,
}: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const nodeArgs = [
    '--cluster-enabled',
    'yes',
    // Relative to the node's own --dir.
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    // A replica may take over however long it was cut off: tests kill masters on purpose.
    '--cluster-replica-validity-factor',
    '0',
    ...args,
  ];
  const started = await Promise.allSettled(
    Array.from({ length: masters * 2 }, () => startRedis({ args: nodeArgs })),
  );
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const byPort = new Map(servers.map((server) => [server.port, server]));
  const down = new Set<number>();
  const live = () => servers.filter((server) => !down.has(server.port));
  const server = (port: number) => {
    const found = byPort.get(port);
    if (!found) throw new Error(`no cluster node on port ${port}`);
    return found;
  };
  const cli = async (...cliArguments: string[]) => {
    const target = cliArguments.includes('-p')
      ? []
      : ['-h', '127.0.0.1', '-p', String(clientPort(live()[0]!.port))];
    const { stdout } = await run('redis-cli', [...cliArgs, ...target, ...cliArguments], { timeout: 120_000 });
    return stdout;
  };
  const nodesOf = async (port: number) =>
    parseClusterNodes(await cli('-p', String(clientPort(port)), 'CLUSTER', 'NODES'));

  const cluster: RedisCluster = {
    nodes: servers.map((server) => ({ host: '127.0.0.1', port: clientPort(server.port) })),
    url: `redis://127.0.0.1:${clientPort(servers[0]!.port)}`,
    async kill(port) {
      down.add(port);
      await server(port).kill();
    },
    async restart(port) {
      await server(port).restart();
      down.delete(port);
    },
    cli,
    async masters() {
      const nodes = await nodesOf(live()[0]!.port);
      return nodes
        .filter((node) => node.flags.includes('master') && !node.flags.includes('fail'))
        .map(({ port, id, slots }) => ({ port, id, slots }));
    },
    async settled(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const views = await Promise.all(
            live().map(async (server) => {
              const info = await cli('-p', String(clientPort(server.port)), 'CLUSTER', 'INFO');
              if (!info.includes('cluster_state:ok')) return undefined;
              return (await nodesOf(server.port))
                .filter((node) => node.flags.includes('master') && node.slots > 0)
                .map((node) => `${node.port}:${node.slotRanges}`)
                .sort()
                .join(' ');
            }),
          );
          return views.every((view) => view !== undefined && view === views[0]);
        },
        { timeoutMs, intervalMs: 100, description: 'every Redis Cluster node to agree on the slots' },
      );
    },
    stop,
  };

  try {
    await cli(
      '--cluster',
      'create',
      ...servers.map((server) => `127.0.0.1:${clientPort(server.port)}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    );
    await cluster.settled();
  } catch (error) {
    await stop();
    throw error;
  }
  return cluster;
}

interface NodeLine {
  id: string;
  port: number;
  flags: string;
  slots: number;
  slotRanges: string;
}

/** CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>`. */
function parseClusterNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', , , , , , ...ranges] = line.trim().split(' ');
      const slotRanges = ranges.filter((range) => !range.startsWith('['));
      const slots = slotRanges.reduce((sum, range) => {
        const [from, to = from] = range.split('-').map(Number) as [number, number?];
        return sum + (to - from + 1);
      }, 0);
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        flags,
        slots,
        slotRanges: slotRanges.join(','),
      };
    });
}
