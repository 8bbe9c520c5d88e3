import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PermanentJobError, type Job, type JobQueue } from './queue.ts';

/** Queues of several processes sharing one store or Redis, for the contract. */
export interface QueueProcesses {
  /** How long a claim of theirs holds without renewal (short, so a dead process's jobs come back quickly). */
  leaseMs: number;
  /** A fresh queue as a new process would open it (concurrency 2, fast retries); the first starts empty. */
  process(): Promise<JobQueue>;
  /** Ends `queue` as a killed process: no more renewals or claims, nothing released. */
  kill(queue: JobQueue): Promise<void>;
  /** Stops every queue it opened and releases what they share. */
  close(): Promise<void>;
}

/** The behaviour every JobQueue implementation must show. */
export function queueContract(name: string, open: () => Promise<QueueProcesses>): void {
  describe(`job queue contract: ${name}`, () => {
    let processes: QueueProcesses;
    let queue: JobQueue;
    beforeEach(async () => {
      processes = await open();
      queue = await processes.process();
    });
    afterEach(() => processes.close());
    const reopen = () => processes.process();

    const until = async (check: () => boolean | Promise<boolean>, ms = 5_000) => {
      const end = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

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

    it('tries a failed job again when it is enqueued again, also from its onFailed', async () => {
      const runs: Array<{ payload: unknown; attempt: number }> = [];
      let failures = 0;
      queue.handle<{ round: number }>(
        't',
        async (job) => {
          runs.push({ payload: job.payload, attempt: job.attempt });
          if (job.payload.round < 3) throw new PermanentJobError('not yet');
        },
        {
          onFailed: async (job) => {
            failures++;
            // As the ingest pipeline does while the malware scanner is away: queue it again, later.
            if (job.payload.round === 1) await queue.enqueue('t', { round: 2 }, { jobId: job.id, delayMs: 20 });
          },
        },
      );
      await queue.start();
      await queue.enqueue('t', { round: 1 }, { jobId: 'ingest:again' });
      await until(() => failures === 2);
      assert.equal((await queue.counts()).failed, 1);
      await queue.enqueue('t', { round: 3 }, { jobId: 'ingest:again' });
      await until(() => runs.length === 3);
      await until(async () => (await queue.counts()).failed + (await queue.counts()).pending + (await queue.counts()).running === 0);
      assert.deepEqual(runs, [
        { payload: { round: 1 }, attempt: 1 },
        { payload: { round: 2 }, attempt: 1 },
        { payload: { round: 3 }, attempt: 1 },
      ]);
    });

    it('runs a delayed job once its delay has passed', async () => {
      let ranAfter = -1;
      queue.handle('t', async () => void (ranAfter = Date.now() - enqueuedAt));
      await queue.start();
      const enqueuedAt = Date.now();
      await queue.enqueue('t', {}, { delayMs: 300 });
      assert.deepEqual(await queue.counts(), { pending: 1, running: 0, failed: 0 });
      await until(() => ranAfter >= 0);
      assert.ok(ranAfter >= 290, `ran after ${ranAfter} ms`);
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
      await queue.enqueue('slow', { x: 1 }, { jobId: 'ingest:interrupted' });
      await until(() => started === 1);
      await queue.stop();
      assert.deepEqual(await queue.counts(), { pending: 1, running: 0, failed: 0 });

      queue = await reopen();
      const seen: Array<Job<unknown>> = [];
      queue.handle('slow', async (job) => void seen.push(job));
      await queue.start();
      await until(() => seen.length === 1);
      assert.equal(seen[0]?.id, 'ingest:interrupted');
      assert.equal(seen[0]?.attempt, 1, 'a shutdown interruption does not count as an attempt');
    });

    it('renews the lease of a job running longer than it, so no other process takes the job', async () => {
      const ranIn: string[] = [];
      const slow = async () => void (await new Promise((r) => setTimeout(r, processes.leaseMs * 3)));
      queue.handle('long', async () => (ranIn.push('a'), slow()));
      const peer = await processes.process();
      peer.handle('long', async () => (ranIn.push('b'), slow()));
      await queue.start();
      await queue.enqueue('long', {}, { jobId: 'long' });
      await until(() => ranIn.length === 1);
      await peer.start();
      await until(async () => (await queue.counts()).running === 0, processes.leaseMs * 10);
      assert.deepEqual(ranIn, ['a']);
    });

    it('runs a job again in another process once the process running it died and its lease ran out', async () => {
      let startedInA = 0;
      queue.handle('work', async () => {
        startedInA++;
        await new Promise(() => {}); // the process dies before this returns
      });
      await queue.start();
      await queue.enqueue('work', { n: 1 }, { jobId: 'orphan', maxAttempts: 3 });
      await until(() => startedInA === 1);
      await processes.kill(queue);
      const killedAt = Date.now();

      const peer = await processes.process();
      const seen: Array<{ job: Job<unknown>; afterMs: number }> = [];
      peer.handle('work', async (job) => void seen.push({ job, afterMs: Date.now() - killedAt }));
      await peer.start();
      await until(() => seen.length === 1, processes.leaseMs * 10 + 2_000);
      assert.equal(seen[0]?.job.id, 'orphan');
      assert.deepEqual(seen[0]?.job.payload, { n: 1 });
      assert.equal(seen[0]?.job.attempt, 2, 'the attempt the dead process made counts');
      assert.ok(seen[0]!.afterMs >= processes.leaseMs / 2 - 50, `taken back ${seen[0]?.afterMs} ms after the kill, before the lease could have run out`);
      await until(async () => (await peer.counts()).pending + (await peer.counts()).running === 0);
      assert.equal(startedInA, 1);
    });

    it('fails a job whose process died during its last attempt instead of running it again', async () => {
      queue.handle('t', async () => void (await new Promise(() => {})));
      await queue.start();
      await queue.enqueue('t', {}, { jobId: 'ingest:poison', maxAttempts: 1 });
      await until(async () => (await queue.counts()).running === 1);
      await processes.kill(queue);

      const peer = await processes.process();
      let runs = 0;
      const failed: Array<{ job: Job<unknown>; err: unknown }> = [];
      peer.handle('t', async () => void runs++, { onFailed: async (job, err) => void failed.push({ job, err }) });
      await peer.start();
      await until(() => failed.length === 1, processes.leaseMs * 10 + 2_000);
      assert.equal(runs, 0);
      assert.equal(failed[0]?.job.id, 'ingest:poison');
      assert.ok(failed[0]?.err instanceof PermanentJobError);
      assert.deepEqual(await peer.counts(), { pending: 0, running: 0, failed: 1 });
    });

    it('cancels a job whose process died while running it, and it does not run again', async () => {
      queue.handle('t', async () => void (await new Promise(() => {})));
      await queue.start();
      await queue.enqueue('t', {}, { jobId: 'ingest:orphan' });
      await until(async () => (await queue.counts()).running === 1);
      await processes.kill(queue);

      const peer = await processes.process();
      const startedAt = Date.now();
      assert.equal(await peer.cancel('ingest:orphan'), true);
      assert.ok(Date.now() - startedAt < processes.leaseMs * 3 + 1_000, `cancel took ${Date.now() - startedAt} ms`);
      let runs = 0;
      peer.handle('t', async () => void runs++);
      await peer.start();
      await new Promise((r) => setTimeout(r, processes.leaseMs * 3));
      assert.equal(runs, 0);
      assert.deepEqual(await peer.counts(), { pending: 0, running: 0, failed: 0 });
    });

    it('cancels a job running in another process: its handler is aborted, and it can be enqueued afresh', async () => {
      const reasons: unknown[] = [];
      let runs = 0;
      queue.handle('t', async (_job, { signal }) => {
        runs++;
        if (runs > 1) return;
        await untilAborted(signal);
        reasons.push(signal.reason);
        throw signal.reason;
      });
      await queue.start();
      await queue.enqueue('t', {}, { jobId: 'remote' });
      await until(() => runs === 1);

      const peer = await processes.process();
      const startedAt = Date.now();
      assert.equal(await peer.cancel('remote'), true);
      const tookMs = Date.now() - startedAt;
      await until(() => reasons.length === 1, 1_000);
      assert.ok(tookMs < processes.leaseMs * 2 + 1_000, `cancel took ${tookMs} ms`);
      assert.deepEqual(await peer.counts(), { pending: 0, running: 0, failed: 0 });
      assert.equal(await peer.cancel('remote'), false, 'nothing left to cancel');

      // Reprocessing a document cancels its job and enqueues it again under the same id.
      await peer.enqueue('t', {}, { jobId: 'remote' });
      await until(() => runs === 2);
      await until(async () => (await queue.counts()).pending + (await queue.counts()).running === 0);
      assert.equal(reasons.length, 1);
    });
  });
}
