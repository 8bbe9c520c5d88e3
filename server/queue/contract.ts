import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PermanentJobError, type Job, type JobQueue } from './queue.ts';

/** The behaviour every JobQueue implementation must show. `open` returns a fresh, empty queue with fast retries. */
export function queueContract(name: string, open: () => Promise<{ queue: JobQueue; reopen: () => Promise<JobQueue> }>): void {
  describe(`job queue contract: ${name}`, () => {
    let queue: JobQueue;
    let reopen: () => Promise<JobQueue>;
    beforeEach(async () => {
      ({ queue, reopen } = await open());
    });
    afterEach(() => queue.stop());

    const until = async (check: () => boolean | Promise<boolean>, ms = 5_000) => {
      const end = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    it('runs a job once and removes it', async () => {
      const seen: unknown[] = [];
      queue.handle<{ n: number }>('t', async (job) => {
        seen.push(job.payload);
      });
      await queue.start();
      await queue.enqueue('t', { n: 1 });
      await until(() => seen.length === 1);
      await until(async () => (await queue.counts()).pending + (await queue.counts()).running === 0);
      assert.deepEqual(seen, [{ n: 1 }]);
    });

    it('is idempotent by job id', async () => {
      let runs = 0;
      queue.handle('t', async () => {
        runs++;
      });
      await queue.enqueue('t', {}, { jobId: 'same' });
      await queue.enqueue('t', {}, { jobId: 'same' });
      assert.equal((await queue.counts()).pending, 1);
      await queue.start();
      await until(() => runs === 1);
    });

    it('retries transient failures with backoff, then gives up and reports once', async () => {
      const attempts: number[] = [];
      const failed: Array<Job<unknown>> = [];
      queue.handle(
        't',
        async (job) => {
          attempts.push(job.attempt);
          throw new Error('flaky');
        },
        { onFailed: async (job) => void failed.push(job) },
      );
      await queue.start();
      await queue.enqueue('t', {}, { maxAttempts: 3 });
      await until(() => failed.length === 1);
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal((await queue.counts()).failed, 1);
    });

    it('does not retry a permanent failure', async () => {
      let runs = 0;
      const failed: unknown[] = [];
      queue.handle(
        't',
        async () => {
          runs++;
          throw new PermanentJobError('corrupt file');
        },
        { onFailed: async (_job, err) => void failed.push(err) },
      );
      await queue.start();
      await queue.enqueue('t', {}, { maxAttempts: 5 });
      await until(() => failed.length === 1);
      assert.equal(runs, 1);
      assert.ok(failed[0] instanceof PermanentJobError);
    });

    it('limits concurrency', async () => {
      let active = 0;
      let peak = 0;
      let done = 0;
      queue.handle('t', async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 30));
        active--;
        done++;
      });
      await queue.start();
      for (let i = 0; i < 6; i++) await queue.enqueue('t', { i });
      await until(() => done === 6);
      assert.equal(peak, 2);
    });

    it('cancels pending and running jobs', async () => {
      let aborted = false;
      queue.handle('t', async (_job, { signal }) => {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
      });
      await queue.enqueue('t', {}, { jobId: 'later', delayMs: 60_000 });
      assert.equal(await queue.cancel('later'), true);
      await queue.start();
      await queue.enqueue('t', {}, { jobId: 'now' });
      await until(async () => (await queue.counts()).running === 1);
      assert.equal(await queue.cancel('now'), true);
      assert.equal(aborted, true);
      assert.deepEqual(await queue.counts(), { pending: 0, running: 0, failed: 0 });
    });

    it('keeps pending jobs and resumes interrupted ones after a restart', async () => {
      let started = 0;
      queue.handle('slow', async (_job, { signal }) => {
        started++;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        throw new Error('aborted');
      });
      await queue.start();
      await queue.enqueue('slow', { x: 1 }, { jobId: 'interrupted' });
      await until(() => started === 1);
      await queue.stop();
      assert.deepEqual(await queue.counts(), { pending: 1, running: 0, failed: 0 });

      queue = await reopen();
      const seen: Array<Job<unknown>> = [];
      queue.handle('slow', async (job) => void seen.push(job));
      await queue.start();
      await until(() => seen.length === 1);
      assert.equal(seen[0]?.id, 'interrupted');
      assert.equal(seen[0]?.attempt, 1, 'a shutdown interruption does not count as an attempt');
    });
  });
}
