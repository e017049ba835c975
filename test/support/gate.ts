// A gate a fake dependency passes through: stall() holds every caller that arrives, resume() lets them all on
// (a broker electing a leader, an outage that ends).
export class Gate {
  #closed: Promise<void> | undefined;
  #open: (() => void) | undefined;

  get stalled(): boolean {
    return this.#closed !== undefined;
  }

  stall(): void {
    this.#closed ??= new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  resume(): void {
    this.#open?.();
    this.#closed = undefined;
  }

  /** Resolves at once when open, else when resumed. */
  async pass(): Promise<void> {
    await this.#closed;
  }
}
