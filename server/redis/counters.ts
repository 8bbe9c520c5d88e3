import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { LimiterFactory } from '../auth/throttle.ts';
import { UNBOUNDED, type Counters } from '../limits/counters.ts';
import { REDIS_PREFIX, type RedisConnection } from './connection.ts';

// rate-limiter-flexible's Redis store counts with one Lua script per consume (INCRBY and the
// window's expiry together), so processes sharing a Redis share every window atomically.

/** Any limiter (the login throttle's), its keys under Lectern's prefix. */
export function redisLimiter(redis: RedisConnection): LimiterFactory {
  return (options) => new RateLimiterRedis({ storeClient: redis.client, ...options, keyPrefix: `${REDIS_PREFIX}${options.keyPrefix}` });
}

/** Rate limits and quotas counted in Redis: every process counts against the same windows. */
export function redisCounters(redis: RedisConnection): Counters {
  const limiter = redisLimiter(redis);
  return (options) => limiter({ ...options, points: UNBOUNDED });
}
