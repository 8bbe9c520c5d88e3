import { DelayedError, Queue, UnrecoverableError, WaitingError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { PermanentJobError, retryDelay, type AbortReason, type EnqueueOptions, type HandlerOptions, type Job, type JobHandler, type JobQueue, type QueueCounts, type RegisteredHandler } from '../queue/queue.ts';
import { REDIS_PREFIX, type RedisConnection } from './connection.ts';
import { FanOut } from './fan-out.ts';

// BullMQ keeps the jobs in Redis and leases them to workers as locks: a worker renews the lock of
// each job it runs, and a job whose lock ran out (its process died) is found by any worker's
// stalled-job check and put back to wait. Retries, backoff and delays are BullMQ's; what the
// port adds on top is counted here: attempts include runs cut short by a dead process, a
// permanent failure ends retries, re-enqueueing a failed job tries again, stop() puts running
// jobs back, and cancel reaches a job running in another process through a pub/sub notice.

const QUEUE = 'jobs';
const PREFIX = `${REDIS_PREFIX}queue`;
/** A job type with no handler in this process waits this long before it is offered again. */
const NO_HANDLER_DELAY_MS = 5_000;

export interface RedisQueueOptions {
  log: Logger;
  newId: () => string;
  concurrency: number;
  /** First retry delay; doubles per attempt, with ±25 % jitter so retries of a burst spread out. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * How long a worker's lock on a job holds without renewal (BullMQ's lockDuration): a job whose
   * process died runs again within about twice this (the stalled-job check runs as often).
   */
  leaseMs?: number;
  /** How often locks are renewed (BullMQ's lockRenewTime). */
  renewMs?: number;
  random?: () => number;
}

interface CancelNotice {
  jobId: string;
}

/** Thrown to BullMQ for a failure no retry may follow; carries the handler's error to onFailed. */
class FinalFailure extends UnrecoverableError {
  readonly original: unknown;
  /** The job as its handler saw it (BullMQ's counters have moved on by the time it reports the failure). */
  readonly job: Job;
  constructor(original: unknown, job: Job) {
    super(original instanceof Error ? original.message : String(original));
    this.original = original;
    this.job = job;
  }
}

/** BullMQ refuses ids that contain ':' or look like integers; ingest job ids are `ingest:<id>`. */
export function bullId(id: string): string {
  return `j-${id.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'))}`;
}

function portId(id: string): string {
  return id.slice(2).replace(/%(25|3A)/g, (_, code: string) => (code === '25' ? '%' : ':'));
}

export class RedisQueue implements JobQueue {
  readonly kind = 'redis';
  readonly #options: Required<RedisQueueOptions>;
  readonly #redis: RedisConnection;
  readonly #queue: Queue;
  readonly #handlers = new Map<string, RegisteredHandler>();
  /** Jobs running here, and why their signal was aborted, if it was. */
  readonly #running = new Map<string, { abort: AbortReason | null }>();
  /** onFailed calls in flight, awaited by stop(). */
  readonly #reporting = new Set<Promise<void>>();
  #fanOut!: FanOut<CancelNotice>;
  #worker: Worker | null = null;
  /** The worker's own connection: BullMQ's blocking reads need one that retries without limit. */
  #workerConnection: Redis | null = null;
  #stopping = false;

  private constructor(redis: RedisConnection, options: RedisQueueOptions) {
    this.#options = { backoffMs: 2_000, maxBackoffMs: 5 * 60_000, leaseMs: 30_000, renewMs: 0, random: Math.random, ...options };
    if (!this.#options.renewMs) this.#options.renewMs = this.#options.leaseMs / 2;
    this.#redis = redis;
    // Enqueueing, counting and cancelling share the command connection: they fail fast while Redis is away.
    this.#queue = new Queue(QUEUE, { connection: redis.client, prefix: PREFIX });
    this.#queue.on('error', (err: Error) => this.#options.log.warn({ err: { message: err.message } }, 'job queue redis error'));
  }

  /** One per process: the cancel notices of other processes arrive on `redis`'s subscriber. */
  static async open(redis: RedisConnection, options: RedisQueueOptions): Promise<RedisQueue> {
    const queue = new RedisQueue(redis, options);
    queue.#fanOut = await FanOut.open<CancelNotice>(redis, 'queue-cancels', ({ jobId }) => queue.#abortHere(jobId, 'cancelled'));
    return queue;
  }

  async enqueue<P>(type: string, payload: P, options: EnqueueOptions = {}): Promise<string> {
    const id = options.jobId ?? this.#options.newId();
    if (options.jobId) {
      const existing = await this.#queue.getJob(bullId(id));
      // A pending or running job with this id stands; a failed one is replaced: enqueueing again means "try again".
      if (existing && (await existing.getState()) === 'failed') await existing.remove();
    }
    // BullMQ ignores an add under an id it holds, which makes enqueueing idempotent.
    await this.#queue.add(type, payload, {
      jobId: bullId(id),
      attempts: options.maxAttempts ?? 3,
      delay: options.delayMs ?? 0,
      backoff: { type: 'lectern' },
      removeOnComplete: true,
      removeOnFail: false,
    });
    return id;
  }

  handle<P>(type: string, handler: JobHandler<P>, options: HandlerOptions<P> = {}): void {
    this.#handlers.set(type, { handler: handler as JobHandler<unknown>, options: options as HandlerOptions<unknown> });
  }

  /** Jobs a dead process left running come back through BullMQ's stalled-job check, on whichever process runs it first. */
  async start(): Promise<void> {
    if (this.#worker) return;
    this.#stopping = false;
    const connection = this.#redis.client.duplicate({ maxRetriesPerRequest: null, connectionName: 'lectern-queue', lazyConnect: false });
    connection.on('error', (err: Error) => this.#options.log.warn({ err: { message: err.message } }, 'job queue worker redis error'));
    const worker = new Worker(QUEUE, (job, token, signal) => this.#process(job, token, signal), {
      connection,
      prefix: PREFIX,
      concurrency: this.#options.concurrency,
      lockDuration: this.#options.leaseMs,
      lockRenewTime: this.#options.renewMs,
      stalledInterval: this.#options.leaseMs,
      // Attempts cut short by a dead process are counted by #process against maxAttempts.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      autorun: false,
      settings: { backoffStrategy: (attemptsMade: number) => this.#backoff(attemptsMade) },
    });
    worker.on('error', (err: Error) => this.#options.log.warn({ err: { message: err.message } }, 'job queue worker error'));
    worker.on('failed', (job, err) => this.#failed(job, err));
    // The lock is lost (another worker may run the job now): this run must give up.
    worker.on('lockRenewalFailed', (jobIds: string[]) => {
      for (const id of jobIds) this.#abortHere(portId(id), 'lost');
    });
    this.#worker = worker;
    this.#workerConnection = connection;
    void worker.run().catch((err: unknown) => this.#options.log.error({ err }, 'job queue worker stopped'));
    await worker.waitUntilReady();
  }

  async stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#stopping = true;
    // close() takes no new jobs and waits for the running ones, which the abort sends back to wait.
    const closed = worker.close();
    for (const id of this.#running.keys()) this.#abortHere(id, 'stopping');
    await closed;
    await Promise.allSettled(this.#reporting);
    this.#worker = null;
    this.#workerConnection?.disconnect();
    this.#workerConnection = null;
  }

  /**
   * Ends this queue as a killed process would: its worker stops without finishing or releasing
   * anything, so its jobs' locks run out. For tests of recovery from a crash.
   */
  async abandon(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    this.#stopping = true;
    this.#workerConnection?.disconnect();
    await worker?.close(true);
  }

  /**
   * Resolves once the job is gone. A pending or failed one is removed; a running one is aborted,
   * here or, through a notice on pub/sub, in the process running it (repeated until it is gone, so
   * a lost notice only delays it); a handler that returns after its signal fired ends the job.
   * If the process running it died, the job is removed once its lock has run out.
   */
  async cancel(jobId: string): Promise<boolean> {
    const id = bullId(jobId);
    const deadline = Date.now() + this.#options.leaseMs * 3 + 1_000;
    let found = false;
    let noticeDue = 0;
    for (;;) {
      const job = await this.#queue.getJob(id);
      if (!job) return found;
      found = true;
      const state = await job.getState();
      if (state === 'active') {
        if (!this.#abortHere(jobId, 'cancelled')) {
          // BullMQ removes a running job only once its lock has run out: its process died.
          if (await job.remove().then(() => true, () => false)) return true;
          if (Date.now() >= noticeDue) {
            await this.#fanOut.send({ jobId });
            noticeDue = Date.now() + Math.min(500, this.#options.renewMs);
          }
        }
      } else if (state !== 'unknown') {
        // Fails if a worker took it in the meantime; the next round sees it active.
        if ((await job.remove().then(() => true, () => false)) && state !== 'completed') return true;
      }
      if (Date.now() > deadline) {
        this.#options.log.warn({ job: jobId }, 'a cancelled job is still running; it ends when its handler returns');
        return true;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.#queue.getJobCounts('wait', 'delayed', 'prioritized', 'waiting-children', 'active', 'failed');
    const n = (k: string) => c[k] ?? 0;
    return { pending: n('wait') + n('delayed') + n('prioritized') + n('waiting-children'), running: n('active'), failed: n('failed') };
  }

  /** Aborts the signal of a job running here; false if it does not run here. */
  #abortHere(jobId: string, why: AbortReason): boolean {
    const running = this.#running.get(jobId);
    if (!running) return false;
    if (!running.abort) {
      running.abort = why;
      this.#worker?.cancelJob(bullId(jobId), why);
    }
    return true;
  }

  #backoff(attemptsMade: number): number {
    return retryDelay(attemptsMade, { firstMs: this.#options.backoffMs, maxMs: this.#options.maxBackoffMs, random: this.#options.random });
  }

  #view(bull: BullJob): Job {
    const maxAttempts = bull.opts.attempts ?? 1;
    // A run a dead process began counts as an attempt: BullMQ counts those as stalls.
    const attempt = bull.attemptsMade + bull.stalledCounter + 1;
    return { id: portId(bull.id ?? ''), type: bull.name, payload: bull.data as unknown, attempt, maxAttempts };
  }

  async #process(bull: BullJob, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const job = this.#view(bull);
    if (this.#stopping) {
      await bull.moveToWait(token);
      throw new WaitingError();
    }
    const registered = this.#handlers.get(job.type);
    if (!registered) {
      this.#options.log.warn({ job: job.id, type: job.type }, 'no handler for this job type in this process');
      await bull.moveToDelayed(Date.now() + NO_HANDLER_DELAY_MS, token);
      throw new DelayedError();
    }
    // Its process died during the last attempt (a file that kills the parser would otherwise loop for ever).
    if (job.attempt > job.maxAttempts) throw new FinalFailure(new PermanentJobError('the process running the job stopped during its last attempt'), job);
    const running = { abort: null as AbortReason | null };
    this.#running.set(job.id, running);
    try {
      await registered.handler(job, { signal: signal ?? new AbortController().signal });
    } catch (err) {
      if (running.abort === 'cancelled') return; // done: completing removes it, which cancel() waits for
      if (running.abort === 'stopping') {
        // Interrupted by shutdown, not failed: back to wait, the attempt not counted.
        await bull.moveToWait(token);
        throw new WaitingError();
      }
      if (running.abort === 'lost') throw err; // another worker holds it; BullMQ's write fails on the stale lock
      if (err instanceof PermanentJobError || job.attempt >= job.maxAttempts) throw new FinalFailure(err, job);
      const message = err instanceof Error ? err.message : String(err);
      this.#options.log.info({ job: job.id, type: job.type, attempt: job.attempt, err: message }, 'job failed; will retry');
      throw err;
    } finally {
      this.#running.delete(job.id);
    }
  }

  /** BullMQ has moved the job to failed: for a final failure, its handler's onFailed runs once, here. */
  #failed(bull: BullJob | undefined, err: Error): void {
    if (!bull || !(err instanceof FinalFailure)) return;
    const { job } = err;
    const message = err.message;
    this.#options.log.warn({ job: job.id, type: job.type, attempt: job.attempt, err: message }, 'job failed');
    const onFailed = this.#handlers.get(job.type)?.options.onFailed;
    if (!onFailed) return;
    const reporting: Promise<void> = onFailed(job, err.original)
      .catch((e: unknown) => this.#options.log.error({ err: e, job: job.id }, 'a job failure handler failed'))
      .finally(() => this.#reporting.delete(reporting));
    this.#reporting.add(reporting);
  }

  /** Closes the queue's use of Redis (the connection itself belongs to the caller). */
  async close(): Promise<void> {
    await this.stop();
    await this.#queue.close();
  }
}
