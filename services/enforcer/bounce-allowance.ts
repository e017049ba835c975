// How many null-sender (bounce) messages a blocked tenant may still relay: a tenant's servers send real bounces
// (delivery status notifications) while it is blocked, and those must flow; a spammer that switches to the null
// sender must not. Counted per enforcer process in clock hours, so with N enforcers a tenant gets up to N times
// the allowance an hour: enough for bounces, far below any flood.

/** Tenants tracked at once before entries of past hours are swept (only blocked tenants' bounces get here). */
const SWEEP_AT = 10_000;
const HOUR_MS = 3_600_000;

export class BounceAllowance {
  readonly #perHour: number;
  readonly #used = new Map<string, { hour: number; count: number }>();

  constructor(perHour: number) {
    this.#perHour = perHour;
  }

  /** Takes one bounce of the tenant's allowance for the hour of `now`; false once it is spent. */
  take(tenantId: string, now: number): boolean {
    const hour = Math.floor(now / HOUR_MS);
    let entry = this.#used.get(tenantId);
    if (entry?.hour !== hour) {
      if (this.#used.size >= SWEEP_AT) this.#sweep(hour);
      entry = { hour, count: 0 };
      this.#used.set(tenantId, entry);
    }
    if (entry.count >= this.#perHour) return false;
    entry.count++;
    return true;
  }

  #sweep(hour: number): void {
    for (const [tenantId, entry] of this.#used) if (entry.hour !== hour) this.#used.delete(tenantId);
  }
}
