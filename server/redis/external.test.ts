import { describe } from 'node:test';
import { revocationsContract } from '../auth/revocation-contract.ts';
import { eventBusContract } from '../events/contract.ts';
import { countersContract } from '../limits/contract.ts';
import { createLogger } from '../logger.ts';
import { queueContract } from '../queue/contract.ts';
import { detachedSessionsContract } from '../realtime/resume-state-contract.ts';
import { RedisEventBus } from './bus.ts';
import { openRedis, type RedisConnection } from './connection.ts';
import { redisCounters } from './counters.ts';
import { redisQueueProcesses } from './queue-processes.ts';
import { RedisDetachedSessions } from './resume-state.ts';
import { RedisRevocations } from './revocations.ts';

// The same contract suites the other Redis tests run on a redis-server of their own, here against
// the Redis in REDIS_URL (the GitHub Actions workflow's Redis 7 service): a different server
// version behaves the same. Its database is emptied before each case, so point REDIS_URL at a
// database nothing else uses (the workflow uses /15).

const log = createLogger({ level: 'silent' });
const url = process.env['REDIS_URL'];
const skip = url ? false : 'REDIS_URL is not set: these suites run against an external Redis only when it names one (e.g. redis://127.0.0.1:6379/15)';

/** Two connections to the external Redis, its database emptied first: two Lectern processes on one REDIS_URL. */
async function twoProcesses(): Promise<{ a: RedisConnection; b: RedisConnection; close(): Promise<void> }> {
  const [a, b] = await Promise.all([openRedis(url!, log), openRedis(url!, log)]);
  await a.client.flushdb();
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

describe('Redis adapters against REDIS_URL', { skip }, () => {
  eventBusContract('redis (REDIS_URL)', async () => {
    const { a, b, close } = await twoProcesses();
    return { bus: await RedisEventBus.open(a, log), peer: await RedisEventBus.open(b, log), close };
  });

  revocationsContract('redis (REDIS_URL)', async () => {
    const { a, b, close } = await twoProcesses();
    return { revocations: await RedisRevocations.open(a, log), peer: await RedisRevocations.open(b, log), close };
  });

  countersContract('redis (REDIS_URL)', async () => {
    const { a, b, close } = await twoProcesses();
    return { counters: redisCounters(a), peer: redisCounters(b), close };
  });

  detachedSessionsContract('redis (REDIS_URL)', async () => {
    const { a, b, close } = await twoProcesses();
    return { sessions: new RedisDetachedSessions(a, { keys: null, log }), peer: new RedisDetachedSessions(b, { keys: null, log }), close };
  });

  queueContract('redis (REDIS_URL, BullMQ)', async () => {
    // Emptied first, as for the other suites.
    await (await twoProcesses()).close();
    return redisQueueProcesses(url!, log);
  });
});
