import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLogger } from '../logger.ts';
import { queueContract } from '../queue/contract.ts';
import { redisMissing, startRedis } from '../../test/helpers/redis.ts';
import { openRedis, type RedisConnection } from './connection.ts';
import { bullId, RedisQueue } from './queue.ts';

// Each "process" is a queue on its own connections to one redis-server, as two Lectern processes
// on one REDIS_URL are.

const log = createLogger({ level: 'silent' });
const LEASE_MS = 400;

describe('Redis job queue', { skip: redisMissing() }, () => {
  queueContract('redis (BullMQ)', async () => {
    const server = await startRedis();
    const opened: Array<{ queue: RedisQueue; redis: RedisConnection }> = [];
    return {
      leaseMs: LEASE_MS,
      process: async () => {
        const redis = await openRedis(server.url, log);
        const queue = await RedisQueue.open(redis, { log, newId: randomUUID, concurrency: 2, backoffMs: 5, leaseMs: LEASE_MS, renewMs: LEASE_MS / 4 });
        opened.push({ queue, redis });
        return queue;
      },
      kill: (queue) => (queue as RedisQueue).abandon(),
      close: async () => {
        await Promise.all(opened.map(({ queue }) => queue.close()));
        await Promise.all(opened.map(({ redis }) => redis.close()));
        await server.stop();
      },
    };
  });

  it('keeps ids BullMQ would refuse (a colon, an integer) apart and intact', () => {
    assert.equal(bullId('ingest:abc'), 'j-ingest%3Aabc');
    assert.equal(bullId('42'), 'j-42');
    assert.notEqual(bullId('a%3Ab'), bullId('a:b'));
  });
});
