// A real Redis Cluster for tests, from Debian's redis-server: three masters with one replica each, every node a
// redis-server of ./redis-server.ts (its own free loopback port and data directory, stopped by pid, dying with the
// test process), joined by `redis-cli --cluster create`. cluster-node-timeout is short, so a killed master's
// replica takes over within seconds.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type RedisServer, startRedis } from './redis-server.js';
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
  /** Every node as a live node sees it now (CLUSTER NODES): role, master, slots. */
  topology(): Promise<ClusterNodeState[]>;
  /** The masters that serve slots now. */
  masters(): Promise<ClusterNodeState[]>;
  /** SIGSTOP / SIGCONT the node on `port`: frozen, it neither answers nor replicates, and its sockets stay open. */
  pause(port: number): void;
  resume(port: number): void;
  /** Resolves when every live node reports cluster_state:ok and agrees on who serves every slot. */
  settled(timeoutMs?: number): Promise<void>;
  /** Stops every node (SIGTERM, by pid) and removes the data directories. */
  stop(): Promise<void>;
}

/** A node's redis-server and the port clients use (its TLS port under TLS). */
interface Node {
  readonly server: RedisServer;
  readonly port: number;
}

export interface ClusterNodeState {
  readonly id: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** The master's id, for a replica. */
  readonly masterId: string | undefined;
  /** Marked failed (fail or fail?) by the node asked. */
  readonly failed: boolean;
  readonly slots: number;
  /** Inclusive slot ranges served. */
  readonly ranges: readonly (readonly [number, number])[];
}

export interface StartRedisClusterOptions {
  readonly masters?: number;
  /** cluster-node-timeout: how long a master may be unreachable before its replica takes over. */
  readonly nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node, e.g. ['--appendonly', 'yes']. */
  readonly args?: readonly string[];
  /**
   * TLS for clients, the cluster bus and replication (`tls-cluster`, `tls-replication`), with this certificate
   * (the CA file is what clients trust). Each node keeps a plain port for the launcher's readiness check only:
   * `nodes`, `url` and every port this cluster reports are the TLS ones.
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

export async function startRedisCluster({
  masters = 3,
  nodeTimeoutMs = 1_000,
  args = [],
  tls,
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
    // A replica's first sync starts at once (Redis waits 5 s by default for more replicas to share it).
    '--repl-diskless-sync-delay',
    '0',
    ...args,
  ];
  const startNode = async (): Promise<Node> => {
    if (!tls) {
      const server = await startRedis({ args: nodeArgs });
      return { server, port: server.port };
    }
    // startRedis picks the TLS port, and picks it afresh when it (or the cluster bus port above it) was taken.
    const server = await startRedis({
      args: [...nodeArgs, '--tls-cluster', 'yes', '--tls-replication', 'yes'],
      tls,
    });
    return { server, port: server.tlsPort! };
  };
  const cliArgs = tls ? ['--tls', '--cacert', tls.caFile] : [];
  const started = await Promise.allSettled(Array.from({ length: masters * 2 }, startNode));
  const all = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  const stop = async () => {
    await Promise.all(all.map((node) => node.server.stop()));
  };
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const down = new Set<number>();
  const live = () => all.filter((node) => !down.has(node.port));
  const server = (port: number) => {
    const found = all.find((node) => node.port === port);
    if (!found) throw new Error(`no cluster node on port ${port}`);
    return found.server;
  };
  const cli = async (...cliArguments: string[]) => {
    const target = cliArguments.includes('-p') ? [] : ['-p', String(live()[0]!.port)];
    const { stdout } = await run('redis-cli', [...cliArgs, '-h', '127.0.0.1', ...target, ...cliArguments], {
      timeout: 120_000,
    });
    return stdout;
  };
  const nodesOf = async (port: number) =>
    parseClusterNodes(await cli('-p', String(port), 'CLUSTER', 'NODES'));

  const cluster: RedisCluster = {
    nodes: all.map(({ port }) => ({ host: '127.0.0.1', port })),
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${all[0]!.port}`,
    async kill(port) {
      down.add(port);
      await server(port).kill();
    },
    async restart(port) {
      await server(port).restart();
      down.delete(port);
    },
    cli,
    topology: () => nodesOf(live()[0]!.port),
    async masters() {
      return (await nodesOf(live()[0]!.port)).filter(
        (node) => node.role === 'master' && !node.failed && node.slots > 0,
      );
    },
    pause(port) {
      process.kill(server(port).pid, 'SIGSTOP');
    },
    resume(port) {
      process.kill(server(port).pid, 'SIGCONT');
    },
    async settled(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const livePorts = new Set(live().map(({ port }) => port));
          const views = await Promise.all(
            live().map(async ({ port }) => {
              const info = await cli('-p', String(port), 'CLUSTER', 'INFO');
              if (!info.includes('cluster_state:ok')) return undefined;
              const serving = (await nodesOf(port)).filter(
                (node) => node.role === 'master' && node.slots > 0,
              );
              // A killed master still serves its slots until its replica has taken over.
              if (serving.some((node) => !livePorts.has(node.port))) return undefined;
              return serving
                .map((node) => `${node.port}:${node.ranges.join(',')}`)
                .sort()
                .join(' ');
            }),
          );
          return views.every((view) => view !== undefined && view === views[0]);
        },
        { timeoutMs, intervalMs: 100, description: 'every live Redis Cluster node to agree on the slots' },
      );
    },
    stop,
  };

  try {
    await cli(
      '--cluster',
      'create',
      ...all.map(({ port }) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    );
    await cluster.settled();
    // Until its first sync is done a replica holds nothing a failover could keep.
    await waitFor(
      async () => {
        const masters = await cluster.masters();
        const infos = await Promise.all(
          masters.map((node) => cli('-p', String(node.port), 'INFO', 'replication')),
        );
        return infos.every((info) => /slave0:.*state=online/.test(info));
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'every replica to finish its first sync' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return cluster;
}

/** CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>`. */
function parseClusterNodes(text: string): ClusterNodeState[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...fields] = line.trim().split(' ');
      // Migrating and importing slots ([slot->-id]) are still served by this node: not ranges of their own.
      const ranges = fields
        .filter((field) => !field.startsWith('['))
        .map((field) => {
          const [from, to = from] = field.split('-').map(Number) as [number, number?];
          return [from, to] as const;
        });
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        role: flags.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        failed: flags.includes('fail'),
        slots: ranges.reduce((sum, [from, to]) => sum + (to - from + 1), 0),
        ranges,
      };
    });
}
