// Run by benchmark 6 in its own process, with --expose-gc: the heap a TenantDirectory holds (what every
// enforcer replica materializes) for `tenants` tenants with two accepted domains and a connector each, and
// `blocked` of them blocked with evidence. Every event goes through the Avro codec first, as the directory
// feed reads it, so each holds its own decoded strings as in production. Prints one JSON line.
import { argv, stdout } from 'node:process';
import { type DirectoryEvent, TenantDirectory } from '../services/core/directory.js';
import { type ContractTopic, Topics } from '../services/core/topics.js';
import { EmbeddedCodec } from '../services/platform/codec/embedded-codec.js';
import { blockEvent, tenantChanges } from './workload.js';

export interface DirectoryHeap {
  readonly tenants: number;
  readonly blocked: number;
  /** Heap used after a full GC, with the directory, minus the same before it. */
  readonly heapBytes: number;
  readonly rssBytes: number;
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const TOPIC_OF: Record<DirectoryEvent['kind'], ContractTopic> = {
  'accepted-domain': Topics.acceptedDomains,
  connector: Topics.connectors,
  'tenant-policy': Topics.tenantPolicies,
  'tenant-block': Topics.tenantBlocks,
};

const codec = new EmbeddedCodec();
/** The change as the directory feed hands it over: decoded from its Avro bytes. */
async function throughCodec(change: DirectoryEvent): Promise<DirectoryEvent> {
  const topic = TOPIC_OF[change.kind];
  const bytes = await codec.encode(topic, change.event as never);
  return { kind: change.kind, event: await codec.decode(topic, bytes) } as DirectoryEvent;
}

const [tenants, blocked] = [Number(argv[2]), Number(argv[3])];
const before = heapUsed();
const directory = new TenantDirectory();
for (let i = 0; i < tenants; i++) {
  for (const change of tenantChanges(i)) directory.apply(await throughCodec(change));
}
for (let i = 0; i < blocked; i++)
  directory.apply(await throughCodec({ kind: 'tenant-block', event: blockEvent(i) }));
const after = heapUsed();
if (directory.blockedCount !== blocked) throw new Error(`expected ${blocked} blocked tenants`);
const result: DirectoryHeap = {
  tenants,
  blocked,
  heapBytes: after - before,
  rssBytes: process.memoryUsage().rss,
};
stdout.write(`${JSON.stringify(result)}\n`);
