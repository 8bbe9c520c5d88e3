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
import { EmbeddedQueue, type JobDoc } from './embedded.ts';

const log = createLogger({ level: 'silent' });

function makeQueue(store: ReturnType<typeof openEmbeddedStore>) {
  return new EmbeddedQueue({ jobs: store.collection<JobDoc>('jobs'), clock: systemClock, log, newId: randomUUID, concurrency: 2, backoffMs: 5, pollMs: 20 });
}

queueContract('embedded', async () => {
  const store = openEmbeddedStore({ path: ':memory:' });
  return { queue: makeQueue(store), reopen: async () => makeQueue(store) };
});

describe('embedded queue durability', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('resumes a job whose process was killed with SIGKILL mid-run', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-queue-'));
    dirs.push(dir);
    const script = `
      import { openEmbeddedStore } from ${JSON.stringify(new URL('../store/embedded.ts', import.meta.url).href)};
      import { EmbeddedQueue } from ${JSON.stringify(new URL('./embedded.ts', import.meta.url).href)};
      import { createLogger } from ${JSON.stringify(new URL('../logger.ts', import.meta.url).href)};
      const store = openEmbeddedStore({ dir: ${JSON.stringify(dir)} });
      const q = new EmbeddedQueue({ jobs: store.collection('jobs'), clock: { now: () => new Date() }, log: createLogger({ level: 'silent' }), newId: () => crypto.randomUUID(), concurrency: 1, pollMs: 20 });
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
    queue.handle('work', async (job) => void seen.push(job.id));
    await queue.start();
    const end = Date.now() + 5_000;
    while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await queue.stop();
    await store.close();
    assert.deepEqual(seen, ['j1']);
  });
});
