import type { JobMetrics } from '../metrics/recorder.ts';
import type { JobQueue } from './queue.ts';

/**
 * The queue, with every handler registered through it timed: how long each run took and how it
 * ended (done, failed, or aborted by a stop or cancel). Whichever implementation runs the jobs.
 */
export function timedQueue(queue: JobQueue, metrics: JobMetrics): JobQueue {
  return {
    get kind() {
      return queue.kind;
    },
    enqueue: (type, payload, options) => queue.enqueue(type, payload, options),
    handle: (type, handler, options) =>
      queue.handle(
        type,
        async (job, ctx) => {
          const started = performance.now();
          const took = () => (performance.now() - started) / 1000;
          try {
            await handler(job, ctx);
          } catch (err) {
            metrics.finished(type, ctx.signal.aborted ? 'aborted' : 'failed', took());
            throw err;
          }
          metrics.finished(type, 'done', took());
        },
        options,
      ),
    start: () => queue.start(),
    stop: () => queue.stop(),
    cancel: (jobId) => queue.cancel(jobId),
    counts: () => queue.counts(),
  };
}
