import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Collection, Filter } from '../store/store.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import { PermanentJobError, retryDelay, type AbortReason, type EnqueueOptions, type HandlerOptions, type Job, type JobHandler, type JobQueue, type QueueCounts, type RegisteredHandler } from './queue.ts';

export interface JobDoc {
  _id: string;
  type: string;
  payload: unknown;
  /** `cancelled`: cancelled while another process ran it; that process aborts it and removes the record. */
  status: 'pending' | 'running' | 'failed' | 'cancelled';
  attempts: number;
  maxAttempts: number;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  lastError: string | null;
  /** The queue (process) holding the job while it runs; absent on records written before leases. */
  owner?: string | null;
  /** Until when the owner's claim holds; past it any process may take the job again. */
  leaseUntil?: string | null;
}

export interface StoreQueueOptions {
  jobs: Collection<JobDoc>;
  clock: Clock;
  log: Logger;
  newId: () => string;
  concurrency: number;
  /** What /readyz and logs call it: the store's kind ('embedded' on the embedded store). */
  kind?: string;
  /** First retry delay; doubles per attempt, with ±25 % jitter so retries of a burst spread out. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How often an idle queue looks for due jobs (an enqueue in this process wakes it at once). */
  pollMs?: number;
  /**
   * How long a claim holds without renewal: a job whose process died runs again this long after
   * its last renewal. Longer than any pause of a live process (GC, a blocked loop) and than the
   * clock skew between the processes' hosts.
   */
  leaseMs?: number;
  /** How often the owner renews its leases, which is also how soon it notices a cancel from another process. */
  renewMs?: number;
  random?: () => number;
}

interface Running {
  doc: JobDoc;
  controller: AbortController;
  abort: AbortReason | null;
  done: Promise<void>;
}

class CancelledError extends Error {
  constructor() {
    super('job cancelled');
    this.name = 'CancelledError';
  }
}

/**
 * A durable queue on the store, shared safely by every process on it. Claiming a job is a
 * compare-and-set that makes this queue its owner with a lease; the owner renews the lease while
 * the handler runs. A process that dies stops renewing, and once the lease has run out any process
 * claims the job again (the interrupted attempt counts). Every write about a running job is made
 * only if this queue still holds that claim (owner and attempt), so a process that lost its lease
 * never overwrites what the new owner does.
 */
export class StoreQueue implements JobQueue {
  readonly kind: string;
  readonly #options: Required<Omit<StoreQueueOptions, 'kind'>>;
  /** This queue's owner id, unique per instance (a restarted process is a new owner). */
  readonly #owner = randomUUID();
  readonly #handlers = new Map<string, RegisteredHandler>();
  readonly #running = new Map<string, Running>();
  #started = false;
  #stopping = false;
  #abandoned = false;
  #timer: NodeJS.Timeout | undefined;
  #renewer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | null = null;
  #again = false;

  constructor(options: StoreQueueOptions) {
    const { kind = 'embedded', ...rest } = options;
    this.kind = kind;
    this.#options = { backoffMs: 2_000, maxBackoffMs: 5 * 60_000, pollMs: 1_000, leaseMs: 30_000, renewMs: 2_000, random: Math.random, ...rest };
    if (this.#options.renewMs * 2 > this.#options.leaseMs) throw new Error('renewMs must be at most half of leaseMs, or a live lease can lapse between renewals');
  }

  #now(): string {
    return this.#options.clock.now().toISOString();
  }

  #leaseUntil(): string {
    return new Date(this.#options.clock.now().getTime() + this.#options.leaseMs).toISOString();
  }

  /** The filter matching a job only while this queue holds this claim on it. */
  #mine(doc: JobDoc, status?: JobDoc['status']): Filter<JobDoc> {
    return { _id: doc._id, owner: this.#owner, attempts: doc.attempts, ...(status ? { status } : {}) };
  }

  async enqueue<P>(type: string, payload: P, options: EnqueueOptions = {}): Promise<string> {
    const id = options.jobId ?? this.#options.newId();
    const now = this.#options.clock.now();
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
      owner: null,
      leaseUntil: null,
    };
    try {
      await this.#options.jobs.insertOne(doc);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Enqueueing a failed job again means "try again"; a cancelled one, "start over" (its old
      // owner's writes are conditional on its claim, so they cannot touch the new record).
      await this.#options.jobs.replaceOne({ _id: id, status: { $in: ['failed', 'cancelled'] } }, doc);
    }
    this.#wake();
    return id;
  }

  handle<P>(type: string, handler: JobHandler<P>, options: HandlerOptions<P> = {}): void {
    this.#handlers.set(type, { handler: handler as JobHandler<unknown>, options: options as HandlerOptions<unknown> });
  }

  /** Jobs another process left running are not touched: they resume here once their lease runs out. */
  async start(): Promise<void> {
    if (this.#started || this.#abandoned) return;
    this.#started = true;
    this.#stopping = false;
    this.#renewer = setInterval(() => void this.#renew(), this.#options.renewMs);
    this.#renewer.unref();
    this.#wake();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    for (const running of this.#running.values()) this.#abort(running, 'stopping');
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
    await this.#pumping;
    clearInterval(this.#renewer);
    this.#started = false;
  }

  /**
   * Ends this queue as a killed process would: no more claims or renewals, nothing released, and
   * whatever its handlers do afterwards is not written. For tests of recovery from a crash.
   */
  async abandon(): Promise<void> {
    this.#abandoned = true;
    this.#stopping = true;
    clearTimeout(this.#timer);
    clearInterval(this.#renewer);
    await this.#pumping;
    this.#running.clear();
  }

  /**
   * Resolves once the job is gone: a pending or failed one is deleted; a running one here is
   * aborted and awaited; one running in another process is marked cancelled, and that process
   * aborts it at its next renewal and deletes it (or, if it died, it is deleted once its lease ends).
   */
  async cancel(jobId: string): Promise<boolean> {
    const local = this.#running.get(jobId);
    if (local) {
      const stopping = local.abort === 'stopping';
      this.#abort(local, 'cancelled');
      await local.done;
      // Already being returned to the queue by stop(): take it out again.
      if (stopping) await this.#options.jobs.deleteOne({ _id: jobId, status: 'pending' });
      return true;
    }
    const { deletedCount } = await this.#options.jobs.deleteOne({ _id: jobId, status: { $in: ['pending', 'failed'] } });
    if (deletedCount > 0) return true;
    const marked = await this.#options.jobs.findOneAndUpdate(
      { _id: jobId, status: { $in: ['running', 'cancelled'] } },
      { $set: { status: 'cancelled', updatedAt: this.#now() } },
      { returnDocument: 'after' },
    );
    if (!marked) {
      // It may have been claimed between the two writes; if it is still there, try again.
      return (await this.#options.jobs.countDocuments({ _id: jobId })) > 0 ? this.cancel(jobId) : false;
    }
    const step = Math.max(10, Math.min(100, this.#options.renewMs / 4));
    for (;;) {
      const doc = await this.#options.jobs.findOne({ _id: jobId });
      if (!doc || doc.status !== 'cancelled') return true; // removed by its owner, or enqueued afresh
      if ((doc.leaseUntil ?? '') < this.#now()) {
        // Its owner died: no one else will remove it.
        await this.#options.jobs.deleteOne({ _id: jobId, status: 'cancelled', attempts: doc.attempts });
        return true;
      }
      await new Promise((r) => setTimeout(r, step));
    }
  }

  async counts(): Promise<QueueCounts> {
    const [pending, running, failed] = await Promise.all([
      this.#options.jobs.countDocuments({ status: 'pending' }),
      this.#options.jobs.countDocuments({ status: { $in: ['running', 'cancelled'] } }),
      this.#options.jobs.countDocuments({ status: 'failed' }),
    ]);
    return { pending: pending ?? 0, running: running ?? 0, failed: failed ?? 0 };
  }

  #abort(running: Running, why: AbortReason): void {
    if (running.abort) return;
    running.abort = why;
    running.controller.abort(why === 'cancelled' ? new CancelledError() : new Error(why === 'stopping' ? 'queue stopping' : 'job lease lost'));
  }

  /** Extends the lease of every job running here; a job whose claim is gone (cancelled, or taken after a lapse) is aborted. */
  async #renew(): Promise<void> {
    for (const running of this.#running.values()) {
      if (running.abort) continue;
      try {
        const { matchedCount } = await this.#options.jobs.updateOne(this.#mine(running.doc, 'running'), { $set: { leaseUntil: this.#leaseUntil() } });
        if (matchedCount > 0 || this.#abandoned) continue;
        const now = await this.#options.jobs.findOne({ _id: running.doc._id });
        const cancelled = !now || (now.status === 'cancelled' && now.owner === this.#owner && now.attempts === running.doc.attempts);
        this.#options.log.info({ job: running.doc._id, type: running.doc.type }, cancelled ? 'job cancelled by another process' : 'job lease lost to another process');
        this.#abort(running, cancelled ? 'cancelled' : 'lost');
      } catch (err) {
        // The lease has leaseMs / renewMs chances before it lapses.
        this.#options.log.warn({ err, job: running.doc._id }, 'could not renew a job lease');
      }
    }
  }

  #wake(): void {
    if (!this.#started || this.#stopping) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#pumping = this.#pump()
      .catch((err: unknown) => this.#options.log.error({ err }, 'job queue poll failed'))
      .finally(() => {
        this.#pumping = null;
        if (this.#again) {
          this.#again = false;
          this.#wake();
        } else if (!this.#stopping) {
          this.#timer = setTimeout(() => this.#wake(), this.#options.pollMs);
          this.#timer.unref();
        }
      });
  }

  /** Claims due jobs, and jobs whose owner's lease ran out, up to the concurrency limit. */
  async #pump(): Promise<void> {
    while (!this.#stopping && this.#running.size < this.#options.concurrency) {
      const types = [...this.#handlers.keys()];
      if (types.length === 0) return;
      const now = this.#now();
      const candidate = await this.#options.jobs.findOne(
        {
          type: { $in: types },
          $or: [
            { status: 'pending', runAt: { $lte: now } },
            { status: 'running', leaseUntil: { $lt: now } },
            // Left running by a version without leases: its process is gone.
            { status: 'running', leaseUntil: null },
          ],
        },
        { sort: { runAt: 1, _id: 1 } },
      );
      if (!candidate) {
        // Cancelled while their owner died: no one else removes them.
        await this.#options.jobs.deleteMany({ status: 'cancelled', leaseUntil: { $lt: now } });
        return;
      }
      const claimed = await this.#options.jobs.findOneAndUpdate(
        { _id: candidate._id, status: candidate.status, attempts: candidate.attempts, owner: candidate.owner ?? null },
        { $set: { status: 'running', owner: this.#owner, leaseUntil: this.#leaseUntil(), updatedAt: now }, $inc: { attempts: 1 } },
        { returnDocument: 'after' },
      );
      if (!claimed) continue;
      if (candidate.status === 'running') this.#options.log.warn({ job: claimed._id, type: claimed.type, attempt: claimed.attempts }, 'taking over a job whose process stopped renewing its lease');
      if (this.#stopping) {
        await this.#options.jobs.updateOne(this.#mine(claimed, 'running'), { $set: { status: 'pending', owner: null, leaseUntil: null }, $inc: { attempts: -1 } });
        return;
      }
      this.#run(claimed);
    }
  }

  #run(doc: JobDoc): void {
    const registered = this.#handlers.get(doc.type);
    if (!registered) return;
    const controller = new AbortController();
    const job: Job = { id: doc._id, type: doc.type, payload: doc.payload, attempt: doc.attempts, maxAttempts: doc.maxAttempts };
    const running: Running = { doc, controller, abort: null, done: Promise.resolve() };
    running.done = (async () => {
      try {
        if (doc.attempts > doc.maxAttempts) {
          // Its process died during the last attempt (a file that kills the parser would otherwise loop for ever).
          throw new PermanentJobError('the process running the job stopped during its last attempt');
        }
        await registered.handler(job, { signal: controller.signal });
        if (!this.#abandoned) await this.#options.jobs.deleteOne(this.#mine(doc));
      } catch (err) {
        if (!this.#abandoned) await this.#settleFailure(running, job, registered, err);
      } finally {
        if (this.#running.get(doc._id) === running) this.#running.delete(doc._id);
        this.#wake();
      }
    })().catch((err: unknown) => this.#options.log.error({ err, job: doc._id }, 'could not record the outcome of a job'));
    this.#running.set(doc._id, running);
  }

  async #settleFailure(running: Running, job: Job, registered: RegisteredHandler, err: unknown): Promise<void> {
    const { doc } = running;
    const message = err instanceof Error ? err.message : String(err);
    if (running.abort === 'stopping') {
      // Interrupted by shutdown, not failed: the attempt does not count.
      await this.#options.jobs.updateOne(this.#mine(doc, 'running'), { $set: { status: 'pending', owner: null, leaseUntil: null, updatedAt: this.#now() }, $inc: { attempts: -1 } });
      await this.#options.jobs.deleteOne(this.#mine(doc, 'cancelled'));
      return;
    }
    if (running.abort === 'lost') return; // another process holds it now
    if (running.abort === 'cancelled') {
      await this.#options.jobs.deleteOne(this.#mine(doc));
      return;
    }
    const permanent = err instanceof PermanentJobError || doc.attempts >= doc.maxAttempts;
    if (permanent) {
      this.#options.log.warn({ job: job.id, type: job.type, attempt: job.attempt, err: message }, 'job failed');
      const { matchedCount } = await this.#options.jobs.updateOne(this.#mine(doc, 'running'), {
        $set: { status: 'failed', lastError: message, owner: null, leaseUntil: null, updatedAt: this.#now() },
      });
      if (matchedCount > 0) await registered.options.onFailed?.(job, err);
      else await this.#options.jobs.deleteOne(this.#mine(doc, 'cancelled'));
      return;
    }
    const delay = retryDelay(doc.attempts, { firstMs: this.#options.backoffMs, maxMs: this.#options.maxBackoffMs, random: this.#options.random });
    this.#options.log.info({ job: job.id, type: job.type, attempt: job.attempt, retryInMs: delay, err: message }, 'job failed; will retry');
    const runAt = new Date(this.#options.clock.now().getTime() + delay).toISOString();
    const { matchedCount } = await this.#options.jobs.updateOne(this.#mine(doc, 'running'), {
      $set: { status: 'pending', runAt, lastError: message, owner: null, leaseUntil: null, updatedAt: this.#now() },
    });
    if (matchedCount === 0) await this.#options.jobs.deleteOne(this.#mine(doc, 'cancelled'));
  }
}
