import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { createLogger } from '../logger.ts';
import { queueContract } from '../queue/contract.ts';
import { redisMissing, startRedis } from '../../test/helpers/redis.ts';
import { openRedis } from './connection.ts';
import { bullId, RedisQueue } from './queue.ts';
import { redisQueueProcesses } from './queue-processes.ts';

// Each "process" is a queue on its own connections to one redis-server, as two Lectern processes
// on one REDIS_URL are.

const log = createLogger({ level: 'silent' });
const LEASE_MS = 400;

describe('Redis job queue', { skip: redisMissing() }, () => {
  queueContract('redis (BullMQ)', async () => {
    const server = await startRedis();
    return redisQueueProcesses(server.url, log, () => server.stop());
  });

  it('runs a job again once the process running it was killed with SIGKILL', async () => {
    const server = await startRedis();
    const script = `
      import { openRedis } from ${JSON.stringify(new URL('./connection.ts', import.meta.url).href)};
      import { RedisQueue } from ${JSON.stringify(new URL('./queue.ts', import.meta.url).href)};
      import { createLogger } from ${JSON.stringify(new URL('../logger.ts', import.meta.url).href)};
      const log = createLogger({ level: 'silent' });
      const q = await RedisQueue.open(await openRedis(${JSON.stringify(server.url)}, log), { log, newId: () => crypto.randomUUID(), concurrency: 1, leaseMs: ${LEASE_MS} });
      q.handle('work', async () => { console.log('running'); await new Promise(() => {}); });
      await q.start();
      await q.enqueue('work', { doc: 'd1' }, { jobId: 'ingest:j1' });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const redis = await openRedis(server.url, log);
    try {
      await new Promise<void>((resolve) => createInterface({ input: child.stdout }).on('line', (l) => l === 'running' && resolve()));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      const queue = await RedisQueue.open(redis, { log, newId: randomUUID, concurrency: 1, leaseMs: LEASE_MS });
      const seen: string[] = [];
      queue.handle('work', async (job) => void seen.push(`${job.id}#${job.attempt}`));
      await queue.start();
      const end = Date.now() + LEASE_MS * 10 + 2_000;
      while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      await queue.close();
      assert.deepEqual(seen, ['ingest:j1#2'], 'run again, the killed attempt counted');
    } finally {
      child.kill('SIGKILL');
      await redis.close();
      await server.stop();
    }
  });

  it('keeps ids BullMQ would refuse (a colon, an integer) apart and intact', () => {
    assert.equal(bullId('ingest:abc'), 'j-ingest%3Aabc');
    assert.equal(bullId('42'), 'j-42');
    assert.notEqual(bullId('a%3Ab'), bullId('a:b'));
  });
});
