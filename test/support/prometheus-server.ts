// A real Prometheus (Debian's) for tests, on a free loopback port, dying with the test process: it scrapes the
// given targets every second and evaluates the given rule files every second. Read it through its HTTP API.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, spawnTethered, type Tethered, waitForStartup } from './tether.js';

export interface PrometheusSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PrometheusServer {
  readonly url: string;
  readonly pid: number;
  /** An instant query (/api/v1/query); throws on a query error, with Prometheus' message. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** The sum of an instant query's sample values; null when it returns no sample. */
  value(promql: string): Promise<number | null>;
  /** Any GET on the HTTP API, e.g. '/api/v1/rules': the `data` of its answer. */
  api<T>(path: string): Promise<T>;
  /** SIGTERM, wait for the exit, remove the data directory. */
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** host:port of the targets to scrape at /metrics, all under one job. */
  readonly targets: readonly string[];
  readonly job?: string;
  /** Absolute paths of rule files to load. */
  readonly ruleFiles?: readonly string[];
  readonly startTimeoutMs?: number;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'relayguard-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [
      {
        job_name: options.job ?? 'relayguard',
        metrics_path: '/metrics',
        static_configs: [{ targets: options.targets }],
      },
    ],
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  let server: Tethered;
  try {
    server = await spawnTethered(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdout: 'pipe', stderr: 'pipe' },
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${String(error)} — run scripts/test-env/ensure-deps.sh`, { cause: error });
  }

  const stop = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStartup(server, 'prometheus', async () => (await fetch(`${url}/-/ready`)).ok, {
      timeoutMs: options.startTimeoutMs ?? 30_000,
      intervalMs: 100,
      description: `prometheus on ${url} to be ready`,
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  const query = async (promql: string) =>
    (await api<{ result: PrometheusSample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result;
  return {
    url,
    pid: server.pid,
    api,
    query,
    async value(promql) {
      const samples = await query(promql);
      return samples.length === 0 ? null : samples.reduce((sum, sample) => sum + Number(sample.value[1]), 0);
    },
    stop,
  };
}
