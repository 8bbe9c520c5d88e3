import type { Clock } from '../clock.ts';

export interface RecentKeysLimits {
  /** How long a claimed key stays claimed. */
  windowMs: number;
  /** Most keys held at once; beyond it the oldest are forgotten. */
  maxKeys: number;
}

/**
 * Keys claimed within the last window, in memory and bounded. A Map keeps insertion order, and a
 * key is only (re)inserted when claimed, so the oldest claim is always first: expired keys and,
 * when full, the oldest live ones are dropped from the front. Forgetting early only ever lets a
 * key be claimed again sooner (an extra audit entry), never later.
 */
export class RecentKeys {
  readonly #claimedAt = new Map<string, number>();
  readonly #clock: Clock;
  readonly #limits: RecentKeysLimits;

  constructor(clock: Clock, limits: RecentKeysLimits) {
    this.#clock = clock;
    this.#limits = limits;
  }

  get size(): number {
    return this.#claimedAt.size;
  }

  /** True when `key` was not claimed within the window; it is claimed from now on. */
  claim(key: string): boolean {
    const now = this.#clock.now().getTime();
    this.#expire(now);
    if (this.#claimedAt.has(key)) return false;
    this.#claimedAt.set(key, now);
    while (this.#claimedAt.size > this.#limits.maxKeys) {
      const oldest = this.#claimedAt.keys().next().value;
      if (oldest === undefined) break;
      this.#claimedAt.delete(oldest);
    }
    return true;
  }

  /** Gives a claim back, e.g. when what it stood for could not be recorded. */
  release(key: string): void {
    this.#claimedAt.delete(key);
  }

  #expire(now: number): void {
    for (const [key, at] of this.#claimedAt) {
      // A clock set back makes `at` lie in the future: such a claim is treated as expired too.
      if (now - at < this.#limits.windowMs && at <= now) break;
      this.#claimedAt.delete(key);
    }
  }
}
