import type { JobMetrics } from '../metrics/recorder.ts';
import type { JobQueue } from './queue.ts';
import { inSpan } from '../tracing/spans.ts';

/**
 * The queue, with every handler registered through it timed: how long each run took and how it
 * ended (done, failed, or aborted by a stop or cancel), and traced. Whichever implementation runs the jobs.
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
        (job, ctx) =>
          // The job's span is the parent of what it does (ingestion stages, embedding, indexing), in a
          // trace of its own: the request that queued it has long answered, and with Redis or MongoDB
          // another process may run it.
          inSpan(`job ${type}`, { 'lectern.job.type': type, 'lectern.job.id': job.id }, async () => {
            const started = performance.now();
            const took = () => (performance.now() - started) / 1000;
            try {
              await handler(job, ctx);
            } catch (err) {
              metrics.finished(type, ctx.signal.aborted ? 'aborted' : 'failed', took());
              throw err;
            }
            metrics.finished(type, 'done', took());
          }, { root: true }),
        options,
      ),
    start: () => queue.start(),
    stop: () => queue.stop(),
    cancel: (jobId) => queue.cancel(jobId),
    counts: () => queue.counts(),
  };
}
