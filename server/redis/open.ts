import { LoginThrottle } from '../auth/throttle.ts';
import type { Revocations } from '../auth/revocation.ts';
import type { Config } from '../config.ts';
import type { EventBus } from '../events/bus.ts';
import type { Counters } from '../limits/counters.ts';
import type { Logger } from '../logger.ts';
import type { ComponentCheck } from '../ops/health.ts';
import type { DetachedSessions } from '../realtime/resume-state.ts';
import { RedisEventBus } from './bus.ts';
import { openRedis } from './connection.ts';
import { redisCounters, redisLimiter } from './counters.ts';
import { RedisQueue, type RedisQueueOptions } from './queue.ts';
import { RedisDetachedSessions } from './resume-state.ts';
import { RedisRevocations } from './revocations.ts';

/** The ports Redis serves when REDIS_URL is set, over one connection (and one subscriber). */
export interface RedisPorts {
  bus: EventBus;
  counters: Counters;
  revocations: Revocations;
  throttle: LoginThrottle;
  codeThrottle: LoginThrottle;
  /** Dropped realtime sessions, resumable on any process (sealed under the data key when one is set). */
  detachedSessions: DetachedSessions;
  /** Opens the job queue on BullMQ over this Redis; once per process (it listens for cancel notices), closed with the rest. */
  queue(options: RedisQueueOptions): Promise<RedisQueue>;
  check: ComponentCheck;
  close(): Promise<void>;
}

export async function openRedisPorts(config: Config & { REDIS_URL: string }, log: Logger): Promise<RedisPorts> {
  const redis = await openRedis(config.REDIS_URL, log);
  try {
    const limits = { perAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT, perIp: config.LOGIN_MAX_FAILURES_PER_IP, windowSeconds: config.LOGIN_WINDOW_SECONDS };
    const limiter = redisLimiter(redis);
    let queue: RedisQueue | null = null;
    return {
      bus: await RedisEventBus.open(redis, log),
      revocations: await RedisRevocations.open(redis, log),
      counters: redisCounters(redis),
      throttle: LoginThrottle.withStore(limits, { name: 'login', limiter }),
      codeThrottle: LoginThrottle.withStore(limits, { name: 'login_code', limiter }),
      detachedSessions: new RedisDetachedSessions(redis, { keys: config.dataKeys, log }),
      queue: async (options) => {
        if (queue) throw new Error('the Redis job queue is already open in this process');
        return (queue = await RedisQueue.open(redis, options));
      },
      check: redis.check,
      close: async () => {
        await queue?.close();
        await redis.close();
      },
    };
  } catch (err) {
    await redis.close();
    throw err;
  }
}
