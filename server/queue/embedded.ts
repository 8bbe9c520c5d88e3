import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Collection } from '../store/store.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import { PermanentJobError, type EnqueueOptions, type HandlerOptions, type Job, type JobHandler, type JobQueue, type QueueCounts } from './queue.ts';

export interface JobDoc {
  _id: string;
  type: string;
  payload: unknown;
  status: 'pending' | 'running' | 'failed';
  attempts: number;
  maxAttempts: number;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  lastError: string | null;
}

export interface EmbeddedQueueOptions {
  jobs: Collection<JobDoc>;
  clock: Clock;
  log: Logger;
  newId: () => string;
  concurrency: number;
  /** First retry delay; doubles per attempt, with ±25 % jitter so retries of a burst spread out. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How often an idle queue looks for due jobs (an enqueue in this process wakes it at once). */
  pollMs?: number;
  random?: () => number;
}

interface Registered {
  handler: JobHandler<unknown>;
  options: HandlerOptions<unknown>;
}

/**
 * A durable queue on the store. The embedded store belongs to one process, so on start every job
 * still marked running was interrupted by a crash and goes straight back to pending; a claim is a
 * compare-and-set on the job's status, so it stays correct even if that assumption breaks.
 */
export class EmbeddedQueue implements JobQueue {
  readonly kind = 'embedded';
  readonly #o: Required<Omit<EmbeddedQueueOptions, 'random'>> & { random: () => number };
  readonly #handlers = new Map<string, Registered>();
  readonly #running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  #started = false;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | null = null;
  #again = false;

  constructor(options: EmbeddedQueueOptions) {
    this.#o = { backoffMs: 2_000, maxBackoffMs: 5 * 60_000, pollMs: 1_000, random: Math.random, ...options };
  }

  #now(): string {
    return this.#o.clock.now().toISOString();
  }

  async enqueue<P>(type: string, payload: P, options: EnqueueOptions = {}): Promise<string> {
    const id = options.jobId ?? this.#o.newId();
    const now = this.#o.clock.now();
    const doc: JobDoc = {
      _id: id,
      type,
      payload: payload as unknown,
      status: 'pending',
      attempts: 0,
      maxAttempts: options.maxAttempts ?? 3,
      runAt: new Date(now.getTime() + (options.delayMs ?? 0)).toISOString(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      lastError: null,
    };
    try {
      await this.#o.jobs.insertOne(doc);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // A finished-and-failed job with this id is replaced: enqueueing again means "try again".
      await this.#o.jobs.replaceOne({ _id: id, status: 'failed' }, doc);
    }
    this.#wake();
    return id;
  }

  handle<P>(type: string, handler: JobHandler<P>, options: HandlerOptions<P> = {}): void {
    this.#handlers.set(type, { handler: handler as JobHandler<unknown>, options: options as HandlerOptions<unknown> });
  }

  async start(): Promise<void> {
    if (this.#started) return;
    const resumed = await this.#o.jobs.updateMany({ status: 'running' }, { $set: { status: 'pending', runAt: this.#now(), updatedAt: this.#now() } });
    if (resumed.modifiedCount > 0) this.#o.log.info({ resumed: resumed.modifiedCount }, 'resuming jobs interrupted by a restart');
    this.#started = true;
    this.#stopping = false;
    this.#wake();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    for (const { controller } of this.#running.values()) controller.abort(new Error('queue stopping'));
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
    await this.#pumping;
    this.#started = false;
  }

  async cancel(jobId: string): Promise<boolean> {
    const running = this.#running.get(jobId);
    if (running) {
      running.controller.abort(new Error('job cancelled'));
      await running.done;
    }
    const { deletedCount } = await this.#o.jobs.deleteOne({ _id: jobId });
    return deletedCount > 0 || running !== undefined;
  }

  async counts(): Promise<QueueCounts> {
    const [pending, running, failed] = await Promise.all(
      (['pending', 'running', 'failed'] as const).map((status) => this.#o.jobs.countDocuments({ status })),
    );
    return { pending: pending ?? 0, running: running ?? 0, failed: failed ?? 0 };
  }

  #wake(): void {
    if (!this.#started || this.#stopping) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#pumping = this.#pump()
      .catch((err: unknown) => this.#o.log.error({ err }, 'job queue poll failed'))
      .finally(() => {
        this.#pumping = null;
        if (this.#again) {
          this.#again = false;
          this.#wake();
        } else if (!this.#stopping) {
          this.#timer = setTimeout(() => this.#wake(), this.#o.pollMs);
          this.#timer.unref();
        }
      });
  }

  /** Claims due jobs up to the concurrency limit. */
  async #pump(): Promise<void> {
    while (!this.#stopping && this.#running.size < this.#o.concurrency) {
      const types = [...this.#handlers.keys()];
      if (types.length === 0) return;
      const candidate = await this.#o.jobs.findOne(
        { status: 'pending', runAt: { $lte: this.#now() }, type: { $in: types } },
        { sort: { runAt: 1, _id: 1 } },
      );
      if (!candidate) return;
      const claimed = await this.#o.jobs.findOneAndUpdate(
        { _id: candidate._id, status: 'pending' },
        { $set: { status: 'running', updatedAt: this.#now() }, $inc: { attempts: 1 } },
        { returnDocument: 'after' },
      );
      if (claimed) this.#run(claimed);
    }
  }

  #run(doc: JobDoc): void {
    const registered = this.#handlers.get(doc.type);
    if (!registered) return;
    const controller = new AbortController();
    const job: Job = { id: doc._id, type: doc.type, payload: doc.payload, attempt: doc.attempts, maxAttempts: doc.maxAttempts };
    const done = (async () => {
      try {
        await registered.handler(job, { signal: controller.signal });
        await this.#o.jobs.deleteOne({ _id: doc._id });
      } catch (err) {
        await this.#settleFailure(doc, job, registered, controller.signal, err);
      } finally {
        this.#running.delete(doc._id);
        this.#wake();
      }
    })();
    this.#running.set(doc._id, { controller, done });
  }

  async #settleFailure(doc: JobDoc, job: Job, registered: Registered, signal: AbortSignal, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    if (signal.aborted && this.#stopping) {
      // Interrupted by shutdown, not failed: the attempt does not count.
      await this.#o.jobs.updateOne({ _id: doc._id }, { $set: { status: 'pending', updatedAt: this.#now() }, $inc: { attempts: -1 } });
      return;
    }
    if (signal.aborted) return; // cancelled: cancel() removes the record
    const permanent = err instanceof PermanentJobError || doc.attempts >= doc.maxAttempts;
    if (permanent) {
      this.#o.log.warn({ job: job.id, type: job.type, attempt: job.attempt, err: message }, 'job failed');
      await this.#o.jobs.updateOne({ _id: doc._id }, { $set: { status: 'failed', lastError: message, updatedAt: this.#now() } });
      await registered.options.onFailed?.(job, err);
      return;
    }
    const base = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** (doc.attempts - 1));
    const delay = Math.round(base * (0.75 + this.#o.random() * 0.5));
    this.#o.log.info({ job: job.id, type: job.type, attempt: job.attempt, retryInMs: delay, err: message }, 'job failed; will retry');
    const runAt = new Date(this.#o.clock.now().getTime() + delay).toISOString();
    await this.#o.jobs.updateOne({ _id: doc._id }, { $set: { status: 'pending', runAt, lastError: message, updatedAt: this.#now() } });
  }
}
