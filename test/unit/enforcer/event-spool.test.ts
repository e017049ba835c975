// The enforcer's on-disk event spool on a real file system: durable before it answers, delivered in order in
// batches, bounded, and recovered after a crash — a torn last frame cut, nothing answered lost, the records
// delivered but not yet acknowledged delivered again (at least once).
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, open, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  EventSpool,
  type EventSpoolOptions,
  type SpooledRecord,
} from '../../../services/enforcer/event-spool.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { Gate } from '../../support/gate.js';
import { waitFor } from '../../support/tether.js';

const directories: string[] = [];
/** Spools a test abandoned as a crashed process would, with their stalled destinations: closed at the end. */
const abandoned: { spool: EventSpool; destination?: Destination }[] = [];
after(async () => {
  for (const { spool, destination } of abandoned) {
    destination?.resume();
    await spool.close();
  }
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

async function spoolDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'relayguard-spool-'));
  directories.push(directory);
  return directory;
}

/** A destination that records what it received and can be stalled or made to fail. */
class Destination {
  readonly delivered: string[] = [];
  readonly batches: number[] = [];
  failNext = 0;
  readonly #gate = new Gate();
  readonly stall = () => this.#gate.stall();
  readonly resume = () => this.#gate.resume();

  deliver = async (records: readonly SpooledRecord[]): Promise<void> => {
    await this.#gate.pass();
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('broker unavailable');
    }
    this.batches.push(records.length);
    this.delivered.push(...records.map((record) => record.payload.toString()));
  };
}

const clock = new ManualClock(Date.UTC(2026, 11, 7, 6));
const record = (tenant: string, n: number) => Buffer.from(JSON.stringify({ tenant, n }));

/** A spool on `directory` that delivers to `destination`, bounded at 1 MiB unless `options` say otherwise. */
function openSpool(directory: string, destination: Destination, options: Partial<EventSpoolOptions> = {}) {
  return EventSpool.open({ directory, maxBytes: 1 << 20, clock, deliver: destination.deliver, ...options });
}

/** `test` on a spool of a fresh directory delivering to `destination`, closed however the test ends. */
async function onFreshSpool(
  destination: Destination,
  options: Partial<EventSpoolOptions>,
  test: (spool: EventSpool, directory: string) => Promise<void>,
): Promise<void> {
  const directory = await spoolDirectory();
  const { spool } = await openSpool(directory, destination, options);
  try {
    await test(spool, directory);
  } finally {
    await spool.close();
  }
}

/** One record's frame as the spool writes it (written by a spool of its own and read back). */
async function frameOf(payload: Buffer): Promise<Buffer> {
  const directory = await spoolDirectory();
  const { spool } = await EventSpool.open({ directory, maxBytes: 1 << 20, clock, deliver: async () => {} });
  await spool.append(payload);
  abandoned.push({ spool });
  const [segment] = (await readdir(directory)).filter((name) => name.endsWith('.seg'));
  return readFile(join(directory, segment!));
}

async function segmentBytes(directory: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(directory)) {
    if (name.endsWith('.seg')) total += (await stat(join(directory, name))).size;
  }
  return total;
}

describe('event spool', () => {
  it('answers once durable, delivers in order in batches while the destination is stalled, then deletes', async () => {
    const destination = new Destination();
    destination.stall();
    await onFreshSpool(destination, { segmentBytes: 4096 }, async (spool, directory) => {
      const appended = Array.from({ length: 300 }, (_, n) => record(`t${n % 7}`, n));
      // Every append resolves although the destination delivers nothing.
      await Promise.all(appended.map((payload) => spool.append(payload)));
      assert.equal(destination.delivered.length, 0);
      assert.equal(spool.depth().events, 300);
      assert.equal(spool.depth().oldestSpooledAt, clock.now());
      destination.resume();
      await waitFor(() => spool.depth().events === 0, { description: 'the spool drained' });
      assert.deepEqual(
        destination.delivered,
        appended.map((payload) => payload.toString()),
      );
      assert.ok(
        destination.batches.some((size) => size > 1),
        'delivered in batches',
      );
      assert.equal(spool.depth().bytes, 0);
      // Only the segment being written is left.
      await waitFor(async () => (await readdir(directory)).filter((n) => n.endsWith('.seg')).length === 1, {
        description: 'delivered segments deleted',
      });
    });
  });

  it('shares one fsync among the appends that arrive together (group commit)', async () => {
    const directory = await spoolDirectory();
    const destination = new Destination();
    destination.stall();
    const { spool } = await openSpool(directory, destination);
    const probe = await open(join(directory, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const datasync = prototype.datasync;
    let syncs = 0;
    prototype.datasync = function (this: unknown) {
      syncs++;
      return datasync.call(this);
    };
    try {
      await Promise.all(Array.from({ length: 200 }, (_, n) => spool.append(record('t', n))));
    } finally {
      prototype.datasync = datasync;
      destination.resume();
      await spool.close();
    }
    assert.ok(syncs >= 1 && syncs <= 3, `${syncs} fsyncs for 200 concurrent appends`);
  });

  it('keeps each tenant in order whatever deliveries fail', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 60 }),
        fc.array(fc.boolean(), { maxLength: 3 }),
        async (tenants, failures) => {
          const destination = new Destination();
          destination.failNext = failures.filter(Boolean).length;
          await onFreshSpool(destination, { maxBatch: 7 }, async (spool) => {
            const appended = tenants.map((tenant, n) => record(tenant, n).toString());
            for (const payload of appended) void spool.append(Buffer.from(payload));
            await waitFor(() => destination.delivered.length === appended.length, {
              timeoutMs: 60_000,
              intervalMs: 5,
            });
            assert.deepEqual(destination.delivered, appended);
          });
        },
      ),
      { numRuns: 15 },
    );
  });

  it('backs off after a failed delivery, however many appends arrive meanwhile', async () => {
    const destination = new Destination();
    destination.failNext = Number.POSITIVE_INFINITY;
    let attempts = 0;
    await onFreshSpool(destination, { onDeliveryError: () => attempts++ }, async (spool) => {
      for (let n = 0; n < 50; n++) await spool.append(record('t', n));
      // Each append's commit wakes an idle drainer; a backing-off one waits 100 ms, 200 ms, 400 ms, …
      assert.ok(attempts >= 1 && attempts < 10, `${attempts} delivery attempts during 50 appends`);
    });
  });

  it('refuses appends beyond its bound without writing, and takes them again once it drained', async () => {
    const destination = new Destination();
    destination.stall();
    const maxBytes = 8192;
    await onFreshSpool(destination, { maxBytes, segmentBytes: 2048 }, async (spool, directory) => {
      let accepted = 0;
      for (let n = 0; ; n++) {
        const written = spool.append(record('t', n));
        if (written === false) break;
        await written;
        accepted++;
      }
      assert.ok(accepted > 0);
      assert.ok(spool.depth().bytes <= maxBytes);
      assert.ok((await segmentBytes(directory)) <= maxBytes, 'the files hold no more than the bound');
      destination.resume();
      await waitFor(() => destination.delivered.length === accepted);
      const again = spool.append(record('t', -1));
      assert.notEqual(again, false);
      await again;
    });
  });

  it('after a crash: a torn last frame is cut, every answered record is delivered, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 0, max: 80 }),
        fc.integer({ min: 1, max: 1_000 }),
        async (count, deliveredBeforeCrash, tornAt) => {
          const directory = await spoolDirectory();
          const first = new Destination();
          const crashed = await openSpool(directory, first, { segmentBytes: 1024, maxBatch: 5 });
          abandoned.push({ spool: crashed.spool, destination: first });
          const appended = Array.from({ length: count }, (_, n) => record(`t${n % 3}`, n).toString());
          const deliveredFirst = Math.min(count, deliveredBeforeCrash);
          for (const payload of appended.slice(0, deliveredFirst))
            await crashed.spool.append(Buffer.from(payload));
          await waitFor(() => first.delivered.length === deliveredFirst, { intervalMs: 5 });
          first.stall();
          await Promise.all(
            appended.slice(deliveredFirst).map((payload) => crashed.spool.append(Buffer.from(payload))),
          );
          // The process dies in the middle of writing one more record: part of its frame is on disk, its append
          // never resolved, no relay was answered for it. The dead process is never closed.
          const segments = (await readdir(directory)).filter((name) => name.endsWith('.seg')).sort();
          const torn = await frameOf(record('torn', 0));
          const tornBytes = tornAt % torn.length;
          await appendFile(join(directory, segments.at(-1)!), torn.subarray(0, tornBytes));

          const second = new Destination();
          const { spool, recovered } = await openSpool(directory, second);
          try {
            assert.equal(recovered.truncatedBytes, tornBytes);
            await waitFor(() => spool.depth().events === 0, { intervalMs: 5 });
            // At least once: whatever the first process did not acknowledge comes again, nothing is missing,
            // and the order holds.
            const redelivered = second.delivered;
            assert.deepEqual(redelivered, appended.slice(appended.length - redelivered.length));
            assert.deepEqual([...first.delivered, ...redelivered].slice(-count), appended);
            assert.ok(redelivered.length >= count - deliveredFirst);
          } finally {
            await spool.close();
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('delivers again what was delivered but whose acknowledgement never reached the disk', async () => {
    const directory = await spoolDirectory();
    const first = new Destination();
    const opened = await openSpool(directory, first);
    const appended = Array.from({ length: 10 }, (_, n) => record('t', n).toString());
    for (const payload of appended) await opened.spool.append(Buffer.from(payload));
    await waitFor(() => first.delivered.length === 10);
    await opened.spool.close();
    await unlink(join(directory, 'ack'));
    const second = new Destination();
    const { spool } = await openSpool(directory, second);
    try {
      await waitFor(() => second.delivered.length === 10);
      assert.deepEqual(second.delivered, appended);
    } finally {
      await spool.close();
    }
  });

  it('refuses a directory another live process holds', async () => {
    const directory = await spoolDirectory();
    await writeFile(join(directory, 'lock'), String(process.ppid));
    await assert.rejects(
      EventSpool.open({ directory, maxBytes: 1 << 20, clock, deliver: async () => {} }),
      /in use by process/,
    );
  });
});
