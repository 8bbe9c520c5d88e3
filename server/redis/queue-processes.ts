import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { QueueProcesses } from '../queue/contract.ts';
import { openRedis, type RedisConnection } from './connection.ts';
import { RedisQueue } from './queue.ts';

/**
 * Queues on one Redis as the job-queue contract wants them: each "process" a queue on its own
 * connections, as two Lectern processes on one REDIS_URL are. For the contract runs only.
 */
export function redisQueueProcesses(url: string, log: Logger, done: () => Promise<void> = async () => {}): QueueProcesses {
  const leaseMs = 400;
  const opened: Array<{ queue: RedisQueue; redis: RedisConnection }> = [];
  return {
    leaseMs,
    process: async () => {
      const redis = await openRedis(url, log);
      const queue = await RedisQueue.open(redis, { log, newId: randomUUID, concurrency: 2, backoffMs: 5, leaseMs, renewMs: leaseMs / 4 });
      opened.push({ queue, redis });
      return queue;
    },
    kill: (queue) => (queue as RedisQueue).abandon(),
    close: async () => {
      await Promise.all(opened.map(({ queue }) => queue.close()));
      await Promise.all(opened.map(({ redis }) => redis.close()));
      await done();
    },
  };
}
