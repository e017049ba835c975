// The buffer behind a subscriber's async iterator: bounded, so a reader that falls behind slows the subscription
// down (its batch waits for room) instead of growing memory without limit.
import { type Deferred, deferred } from '../../platform/deferred.js';

export class ChangeQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  readonly #onReturn: () => void;
  #reader: Deferred<IteratorResult<T>> | undefined;
  #room: Deferred<void> | undefined;
  #done = false;

  constructor(capacity: number, onReturn: () => void) {
    this.#capacity = capacity;
    this.#onReturn = onReturn;
  }

  /** Resolves once the item is queued (or the reader went away, which drops it). */
  async push(item: T): Promise<void> {
    while (this.#items.length >= this.#capacity && !this.#done) {
      this.#room ??= deferred();
      await this.#room.promise;
    }
    if (this.#done) return;
    if (this.#reader) {
      const reader = this.#reader;
      this.#reader = undefined;
      reader.resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** No more items: the reader gets what is queued, then the end. */
  end(): void {
    this.#done = true;
    this.#wakeWriters();
    if (this.#items.length === 0) this.#finishReader();
  }

  async next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) {
      this.#wakeWriters();
      return { value: item, done: false };
    }
    if (this.#done) return { value: undefined, done: true };
    this.#reader = deferred();
    return this.#reader.promise;
  }

  /** `break` out of a for-await: the subscription stops feeding this reader. */
  async return(): Promise<IteratorResult<T>> {
    this.#items.length = 0;
    this.end();
    this.#onReturn();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #wakeWriters(): void {
    const room = this.#room;
    this.#room = undefined;
    room?.resolve();
  }

  #finishReader(): void {
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve({ value: undefined, done: true });
  }
}
