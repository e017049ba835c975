// deploy/k8s is for users; no cluster runs here, so the manifests are checked statically: kustomize lists every
// one, each service's configuration is one relayguard accepts, probes and Services point at the ports relayguard
// listens on, the pods run unprivileged with bounded memory, and the heap fits the memory limit.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../../services/platform/config.js';

const DIR = 'deploy/k8s';

interface Container {
  name: string;
  image: string;
  args: string[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: { name: string; value: string }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
  volumes?: { name: string }[];
}

interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    selector?: Record<string, string> & { matchLabels?: Record<string, string> };
    ports?: { name: string; port: number; targetPort: string }[];
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}

const kustomization = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
  resources: string[];
};
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((document) => document.toJS() as Manifest),
);
const workloads = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'Job');
const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'relayguard-config')!;

/** The environment a container runs with: the ConfigMap, stand-ins for the Secret's keys, its own env. */
function environment(container: Container): Record<string, string> {
  return {
    ...config.data,
    RELAYGUARD_TOKENS: 'a-secret-long-enough-0123456789:operator',
    REDIS_URL: 'rediss://relayguard:password@redis:6379',
    ...Object.fromEntries((container.env ?? []).map(({ name, value }) => [name, value])),
  };
}

/** Mebibytes of a Kubernetes quantity such as 1536Mi or 2Gi. */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  assert.ok(match, `memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

describe('deploy/k8s', () => {
  it('lists every manifest in the kustomization, and runs every relayguard service and the topics job', () => {
    const files = readdirSync(DIR).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
    const commands = workloads.flatMap((w) => w.spec!.template!.spec.containers.map((c) => c.args[0]));
    assert.deepEqual(commands.sort(), ['admin', 'enforcer', 'scorer', 'topics']);
  });

  it('configures every container with variables relayguard reads, into a configuration it accepts', () => {
    for (const variable of Object.keys(config.data ?? {}))
      assert.ok(CONFIG_VARIABLES.includes(variable), `ConfigMap: ${variable} is not a relayguard variable`);
    for (const workload of workloads) {
      for (const container of workload.spec!.template!.spec.containers) {
        for (const { name } of container.env ?? [])
          assert.ok(
            CONFIG_VARIABLES.includes(name) || name === 'NODE_OPTIONS',
            `${container.name}: ${name} is not a relayguard variable`,
          );
        const refs = (container.envFrom ?? []).map((ref) => ref.configMapRef?.name ?? ref.secretRef?.name);
        assert.deepEqual(refs, ['relayguard-config', 'relayguard-secrets'], `${container.name} env sources`);
        const loaded = loadConfig(environment(container));
        assert.equal(loaded.bindAddress, '0.0.0.0', `${container.name} listens beyond loopback`);
        assert.equal(loaded.partitions, 64);
      }
    }
  });

  it('probes /readyz and /healthz on the HTTP port relayguard listens on, and Services reach named ports', () => {
    for (const workload of workloads.filter((w) => w.kind === 'Deployment')) {
      const [container] = workload.spec!.template!.spec.containers;
      const loaded = loadConfig(environment(container!));
      const ports = new Map((container!.ports ?? []).map((p) => [p.name, p.containerPort]));
      assert.equal(ports.get('http'), loaded.httpPort, `${workload.metadata.name} http port`);
      if (ports.has('policy')) assert.equal(ports.get('policy'), loaded.postfixPort);
      assert.deepEqual(container!.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
      assert.deepEqual(container!.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
    }
    for (const service of manifests.filter((m) => m.kind === 'Service')) {
      const target = workloads.find((w) =>
        Object.entries(service.spec!.selector!).every(
          ([key, value]) => w.spec!.template!.metadata?.labels?.[key] === value,
        ),
      );
      assert.ok(target, `${service.metadata.name} selects a workload`);
      const named = new Set(
        target.spec!.template!.spec.containers.flatMap((c) => c.ports ?? []).map((p) => p.name),
      );
      for (const port of service.spec!.ports ?? [])
        assert.ok(named.has(port.targetPort), `${service.metadata.name} → ${port.targetPort}`);
    }
  });

  it('gives the enforcer a volume for its index snapshot, so that a restarted replica starts from it', () => {
    const enforcer = workloads.find((workload) => workload.metadata.name === 'relayguard-enforcer')!;
    const pod = enforcer.spec!.template!.spec;
    const container = pod.containers.find((c) => c.args.includes('enforcer'))!;
    const directory = environment(container).RELAYGUARD_SNAPSHOT_DIR;
    assert.ok(directory, 'RELAYGUARD_SNAPSHOT_DIR is set');
    const mount = container.volumeMounts?.find((m) => m.mountPath === directory);
    assert.ok(mount, `a volume is mounted at ${directory}: the root filesystem is read-only`);
    assert.ok(
      pod.volumes?.some((volume) => volume.name === mount.name),
      `the pod has the volume ${mount.name}`,
    );
  });

  it('runs unprivileged, read-only, with a memory limit the heap fits in', () => {
    for (const workload of workloads) {
      const pod = workload.spec!.template!.spec;
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${workload.metadata.name} non-root`);
      for (const container of pod.containers) {
        assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
        assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
        assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
        const limit = container.resources?.limits?.memory;
        assert.ok(limit, `${container.name} has a memory limit`);
        assert.equal(container.resources?.requests?.memory, limit, `${container.name} requests its limit`);
        const heap = /--max-old-space-size=(\d+)/.exec(environment(container).NODE_OPTIONS ?? '');
        // Node's heap beside its code, buffers and Redis/Kafka clients: the limit leaves room for them.
        if (heap)
          assert.ok(Number(heap[1]) + 256 <= mebibytes(limit), `${container.name}: heap within ${limit}`);
      }
    }
  });
});
