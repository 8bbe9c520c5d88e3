// The job queue port: durable background work with retries, shared by every process of an
// instance. On the store (StoreQueue, store-queue.ts) or on Redis (server/redis/queue.ts, BullMQ);
// either way a running job is leased to one process, which keeps renewing the lease, and a job
// whose process died runs again elsewhere once its lease has run out.

export interface Job<P = unknown> {
  id: string;
  type: string;
  payload: P;
  /** 1 on the first run. A run cut short by a dying process counts; one interrupted by stop() does not. */
  attempt: number;
  maxAttempts: number;
}

export interface JobContext {
  /** Aborted when the job is cancelled (from any process), the queue stops, or the lease was lost; the handler should give up promptly. */
  signal: AbortSignal;
}

export type JobHandler<P> = (job: Job<P>, ctx: JobContext) => Promise<void>;

export interface HandlerOptions<P> {
  /** Called once when a job has failed for good (a PermanentJobError, or attempts exhausted). */
  onFailed?: (job: Job<P>, error: unknown) => Promise<void>;
}

export interface EnqueueOptions {
  /** Enqueueing an id that is already pending or running is a no-op: jobs are idempotent by id. */
  jobId?: string;
  maxAttempts?: number;
  delayMs?: number;
}

export interface QueueCounts {
  pending: number;
  running: number;
  failed: number;
}

export interface JobQueue {
  readonly kind: string;
  enqueue<P>(type: string, payload: P, options?: EnqueueOptions): Promise<string>;
  handle<P>(type: string, handler: JobHandler<P>, options?: HandlerOptions<P>): void;
  /** Starts taking jobs, including those whose process died (once their lease has run out). */
  start(): Promise<void>;
  /** Stops taking jobs, aborts running ones and returns them to the queue (they resume on next start). */
  stop(): Promise<void>;
  /**
   * Removes a pending or failed job, or aborts a running one, here or in another process, and
   * resolves once it is gone; true if there was one.
   */
  cancel(jobId: string): Promise<boolean>;
  counts(): Promise<QueueCounts>;
}

/** A handler as registered with a queue implementation. */
export interface RegisteredHandler {
  handler: JobHandler<unknown>;
  options: HandlerOptions<unknown>;
}

/** Why a running job's signal was aborted, which decides what happens to its record. */
export type AbortReason = 'stopping' | 'cancelled' | 'lost';

/**
 * The delay before retry number `attempt` (1 after the first failure): doubling from `firstMs` up
 * to `maxMs`, with ±25 % jitter so the retries of a burst spread out.
 */
export function retryDelay(attempt: number, policy: { firstMs: number; maxMs: number; random: () => number }): number {
  const base = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + policy.random() * 0.5));
}

/** Thrown by a handler for failures that retrying cannot fix (a corrupt file). */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}
