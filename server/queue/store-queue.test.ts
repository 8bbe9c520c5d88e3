import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { systemClock } from '../clock.ts';
import { createLogger } from '../logger.ts';
import { openEmbeddedStore } from '../store/embedded.ts';
import { queueContract } from './contract.ts';
import { StoreQueue, type JobDoc, type StoreQueueOptions } from './store-queue.ts';

const log = createLogger({ level: 'silent' });
const LEASE_MS = 400;

function makeQueue(store: ReturnType<typeof openEmbeddedStore>, options: Partial<StoreQueueOptions> = {}) {
  return new StoreQueue({
    jobs: store.collection<JobDoc>('jobs'),
    clock: systemClock,
    log,
    newId: randomUUID,
    concurrency: 2,
    backoffMs: 5,
    pollMs: 20,
    leaseMs: LEASE_MS,
    renewMs: LEASE_MS / 4,
    ...options,
  });
}

// Several queues on one store are several processes sharing it (as on MongoDB).
queueContract('store (embedded)', async () => {
  const store = openEmbeddedStore({ path: ':memory:' });
  const queues: StoreQueue[] = [];
  return {
    leaseMs: LEASE_MS,
    process: async () => {
      const queue = makeQueue(store);
      queues.push(queue);
      return queue;
    },
    kill: (queue) => (queue as StoreQueue).abandon(),
    close: async () => {
      await Promise.all(queues.map((q) => q.stop()));
      await store.close();
    },
  };
});

describe('embedded queue durability', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('runs a job left running by a version without leases', async () => {
    const store = openEmbeddedStore({ path: ':memory:' });
    const at = new Date().toISOString();
    await store.collection<JobDoc>('jobs').insertOne({ _id: 'old', type: 'work', payload: {}, status: 'running', attempts: 1, maxAttempts: 3, runAt: at, createdAt: at, updatedAt: at, lastError: null });
    const queue = makeQueue(store);
    const seen: number[] = [];
    queue.handle('work', async (job) => void seen.push(job.attempt));
    await queue.start();
    const end = Date.now() + 5_000;
    while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await queue.stop();
    await store.close();
    assert.deepEqual(seen, [2]);
  });

  it('runs a job again once the process running it was killed with SIGKILL and its lease ran out', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-queue-'));
    dirs.push(dir);
    const script = `
      import { openEmbeddedStore } from ${JSON.stringify(new URL('../store/embedded.ts', import.meta.url).href)};
      import { StoreQueue } from ${JSON.stringify(new URL('./store-queue.ts', import.meta.url).href)};
      import { createLogger } from ${JSON.stringify(new URL('../logger.ts', import.meta.url).href)};
      const store = openEmbeddedStore({ dir: ${JSON.stringify(dir)} });
      const q = new StoreQueue({ jobs: store.collection('jobs'), clock: { now: () => new Date() }, log: createLogger({ level: 'silent' }), newId: () => crypto.randomUUID(), concurrency: 1, pollMs: 20, leaseMs: ${LEASE_MS}, renewMs: ${LEASE_MS / 4} });
      q.handle('work', async () => { console.log('running'); await new Promise(() => {}); });
      await q.start();
      await q.enqueue('work', { doc: 'd1' }, { jobId: 'j1' });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => createInterface({ input: child.stdout }).on('line', (l) => l === 'running' && resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const store = openEmbeddedStore({ dir });
    const queue = makeQueue(store);
    const seen: string[] = [];
    queue.handle('work', async (job) => void seen.push(`${job.id}#${job.attempt}`));
    await queue.start();
    const end = Date.now() + 5_000;
    while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await queue.stop();
    await store.close();
    assert.deepEqual(seen, ['j1#2'], 'run again, the killed attempt counted');
  });
});
