// The newest records of each of many owners, read from a topic into memory for a page a person reads (a tenant's
// audit trail, a webhook endpoint's delivery log) while the topic holds them all. Bounded on purpose: per owner,
// the newest `perOwner` records, one per id; past `owners` owners, the one whose records changed longest ago is
// dropped.
import type { ContractTopic, TopicContracts } from '../core/topics.js';
import type { Subscription } from './ports.js';
import { startTopicFeed, type TopicFeedPorts } from './topic-feed.js';

/** How much of an owner's records the memory still holds, and whether it has read its topic yet. */
export interface RecentState {
  /** True when older records of the owner were dropped here (the topic still holds them). */
  readonly truncated: boolean;
  /** False while the topic is still being read from its beginning. */
  readonly caughtUp: boolean;
}

export interface RecentRecordsOptions<Topic extends ContractTopic> {
  /** Where the records are read from. */
  readonly topic: Topic;
  readonly perOwner: number;
  readonly owners: number;
  /** The owner a record belongs to; null: kept by none. */
  ownerOf(record: TopicContracts[Topic]): string | null;
  /** Records of one id and owner stand for one thing: the one kept is the last that `replaces` let in. */
  idOf(record: TopicContracts[Topic]): string;
  /** Whether `next` takes the place of `kept`, of the same id (a record read again must not move it back). */
  replaces(kept: TopicContracts[Topic], next: TopicContracts[Topic]): boolean;
}

export class RecentRecords<Topic extends ContractTopic> {
  /** Per owner, records by id in the order they were let in (oldest first); owners likewise. */
  readonly #byOwner = new Map<string, { records: Map<string, TopicContracts[Topic]>; truncated: boolean }>();
  readonly #options: RecentRecordsOptions<Topic>;
  #caughtUp = false;

  constructor(options: RecentRecordsOptions<Topic>) {
    this.#options = options;
  }

  add(record: TopicContracts[Topic]): void {
    const { ownerOf, idOf, replaces, perOwner, owners } = this.#options;
    const owner = ownerOf(record);
    if (owner === null) return;
    const kept = this.#byOwner.get(owner) ?? {
      records: new Map<string, TopicContracts[Topic]>(),
      truncated: false,
    };
    const id = idOf(record);
    const previous = kept.records.get(id);
    if (previous !== undefined && !replaces(previous, record)) return;
    this.#byOwner.delete(owner);
    this.#byOwner.set(owner, kept);
    kept.records.delete(id);
    kept.records.set(id, record);
    if (kept.records.size > perOwner) {
      kept.records.delete(kept.records.keys().next().value!);
      kept.truncated = true;
    }
    if (this.#byOwner.size > owners) this.#byOwner.delete(this.#byOwner.keys().next().value!);
  }

  markCaughtUp(): void {
    this.#caughtUp = true;
  }

  /** Reads the topic from its beginning into these records (no consumer group: every replica reads it all). */
  follow(ports: TopicFeedPorts): Promise<Subscription> {
    return startTopicFeed({
      ...ports,
      topic: this.#options.topic,
      apply: (record) => this.add(record),
      caughtUp: () => this.markCaughtUp(),
    });
  }

  /** The owner's newest records first, at most `limit` of them. */
  protected newest(
    owner: string,
    limit = this.#options.perOwner,
  ): RecentState & { records: TopicContracts[Topic][] } {
    const kept = this.#byOwner.get(owner);
    return {
      records: kept ? [...kept.records.values()].reverse().slice(0, limit) : [],
      truncated: kept?.truncated ?? false,
      caughtUp: this.#caughtUp,
    };
  }
}
