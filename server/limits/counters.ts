import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';

// The counter port behind rate limits and quotas: rate-limiter-flexible's limiter API (atomic
// consume and reward of points per key, in windows that expire), which its memory and Redis
// stores share. The appliance chooses the store once; with Redis (issue #11) every instance
// counts against the same windows.

export interface CounterOptions {
  /** Names the counter in the store. */
  keyPrefix: string;
  /** Window length in seconds; 0: counts never expire (what is open now, e.g. realtime sessions). */
  duration: number;
}

/** Opens one counter; the same options make the same counter in any store. */
export type Counters = (options: CounterOptions) => RateLimiterAbstract;

// The library never refuses on its own: limits differ per organisation and change with its
// settings, so `RateLimits` compares what was counted with the limit that applies right now.
export const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/** Counters in this process's memory: one instance, lost at a restart (windows are at most a day). */
export const memoryCounters: Counters = (options) => new RateLimiterMemory({ ...options, points: UNBOUNDED });
