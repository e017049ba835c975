// Run by benchmark 6 in its own process, with --expose-gc: the memory the directory holds for `tenants` tenants with
// two accepted domains and a connector each, and `blocked` of them blocked with evidence: the whole directory
// (`whole`: admin), the enforcer's index (`enforcer`, services/core/enforcer-index.ts: what an enforcer alone holds,
// services/app/runtime.ts directoryFor), or a scorer's slice (`scorer`, services/core/directory-slice.ts) with `held`
// of `partitions` partitions (keyed as the Kafka producer keys them). Every event goes through the Avro codec first,
// as the directory feed reads it, so each holds its own decoded strings as in production. Names kept in typed arrays
// are outside the heap's objects: they are counted (arrayBuffers), so the figure is what the process holds. Prints
// one JSON line.
// `node --expose-gc --import tsx bench/directory-heap.ts <tenants> <blocked> [whole|enforcer|scorer] [partitions held]`
import { argv, stdout } from 'node:process';
import { directoryFor } from '../services/app/runtime.js';
import type { DirectoryEvent } from '../services/core/directory.js';
import { DirectorySlice } from '../services/core/directory-slice.js';
import { EnforcerIndex } from '../services/core/enforcer-index.js';
import { type ContractTopic, Topics } from '../services/core/topics.js';
import { EmbeddedCodec } from '../services/platform/codec/embedded-codec.js';
import { keyPartition } from '../services/platform/key-partition.js';
import { blockEvent, tenantChanges } from './workload.js';

export interface DirectoryHeap {
  readonly kind: 'whole' | 'enforcer' | 'scorer';
  readonly tenants: number;
  /** A scorer's slice: the tenants it holds, of `partitions`. */
  readonly slice?: { readonly partitions: number; readonly held: number; readonly tenants: number };
  readonly blocked: number;
  /**
   * Heap used plus typed arrays after a full GC, with the directory, minus the same before it. The enforcer's index
   * is measured as a caught-up enforcer holds it: trimmed (EnforcerIndex.trim).
   */
  readonly heapBytes: number;
  /** The enforcer's index before its trim: as it holds it while catching up. */
  readonly untrimmedBytes?: number;
  /** Of which in typed arrays (ArrayBuffers outside the heap's objects). */
  readonly arrayBufferBytes: number;
  readonly rssBytes: number;
}

function used(): { heap: number; arrayBuffers: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed + arrayBuffers, arrayBuffers };
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
const kind = argv[4] ?? 'whole';
if (kind !== 'whole' && kind !== 'enforcer' && kind !== 'scorer')
  throw new Error(`kind: "${kind}" is none of whole, enforcer, scorer`);
const [partitions, held] = [Number(argv[5] ?? 6), Number(argv[6] ?? 1)];
const before = used();
// As the runtime builds it for an enforcer alone, a scorer alone, or the admin service.
const directory = directoryFor(kind === 'whole' ? ['scorer', 'admin'] : [kind], keyPartition(partitions));
// The slice of a scorer assigned partitions 0 .. held - 1, loaded before the records arrive.
if (directory instanceof DirectorySlice)
  directory.hold({ partitions: new Set(Array.from({ length: held }, (_, p) => p)), tenants: new Map() });
for (let i = 0; i < tenants; i++) {
  for (const change of tenantChanges(i)) directory.apply(await throughCodec(change));
}
for (let i = 0; i < blocked; i++)
  directory.apply(await throughCodec({ kind: 'tenant-block', event: blockEvent(i) }));
const untrimmed = directory instanceof EnforcerIndex ? used() : undefined;
if (directory instanceof EnforcerIndex) directory.trim();
const after = used();
const slice = directory instanceof DirectorySlice ? directory : undefined;
// A slice counts the blocks of the tenants it holds.
if (!slice && directory.blockedCount !== blocked) throw new Error(`expected ${blocked} blocked tenants`);
const result: DirectoryHeap = {
  kind,
  tenants,
  ...(slice && { slice: { partitions, held, tenants: slice.size } }),
  blocked,
  heapBytes: after.heap - before.heap,
  ...(untrimmed && { untrimmedBytes: untrimmed.heap - before.heap }),
  arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
  rssBytes: process.memoryUsage().rss,
};
stdout.write(`${JSON.stringify(result)}\n`);
