import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { systemClock } from '../clock.ts';
import { createLogger } from '../logger.ts';
import { openPrometheusMetrics } from '../metrics/prometheus.ts';
import { openEmbeddedStore } from '../store/embedded.ts';
import { PermanentJobError } from './queue.ts';
import { StoreQueue, type JobDoc } from './store-queue.ts';
import { timedQueue } from './timed.ts';

// Job runs are timed by type and outcome whichever queue runs them; here the store's queue.

describe('timedQueue', () => {
  const store = openEmbeddedStore({ path: ':memory:' });
  let queue: StoreQueue;
  afterEach(() => queue.stop());

  it('records each run under its type and outcome, done or failed, and the queue behaves as before', async () => {
    queue = new StoreQueue({ jobs: store.collection<JobDoc>('jobs'), clock: systemClock, log: createLogger({ level: 'silent' }), newId: randomUUID, concurrency: 2, backoffMs: 5, pollMs: 10 });
    const metrics = openPrometheusMetrics();
    const timed = timedQueue(queue, metrics.recorder.jobs);
    const finished: string[] = [];
    let failedForGood = 0;
    timed.handle<{ ok: boolean }>(
      'convert',
      async (job) => {
        await new Promise((r) => setTimeout(r, 20));
        finished.push(job.id);
        if (!job.payload.ok) throw new PermanentJobError('corrupt');
      },
      { onFailed: async () => void (failedForGood += 1) },
    );
    assert.equal(timed.kind, queue.kind);
    await timed.start();
    await timed.enqueue('convert', { ok: true });
    await timed.enqueue('convert', { ok: true });
    await timed.enqueue('convert', { ok: false }, { maxAttempts: 1 });
    const end = Date.now() + 5_000;
    while (failedForGood === 0 || finished.length < 3) {
      assert.ok(Date.now() < end, 'jobs did not run');
      await new Promise((r) => setTimeout(r, 10));
    }
    const body = (await metrics.scrape()).body;
    assert.match(body, /^lectern_queue_job_duration_seconds_count\{type="convert",outcome="done"\} 2$/m);
    assert.match(body, /^lectern_queue_job_duration_seconds_count\{type="convert",outcome="failed"\} 1$/m);
    const sum = Number(/^lectern_queue_job_duration_seconds_sum\{type="convert",outcome="done"\} (\S+)$/m.exec(body)?.[1]);
    assert.ok(sum >= 0.035 && sum < 2, `two runs of ≥ 20 ms took ${sum} s`);
    assert.deepEqual(await timed.counts(), { pending: 0, running: 0, failed: 1 });
  });
});
