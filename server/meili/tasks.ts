// Meilisearch applies every write as an asynchronous task; the port's writes are complete when
// they return, so each one waits for its task, within a limit.

import { MeilisearchApiError, MeilisearchRequestError, MeilisearchRequestTimeOutError, MeilisearchTaskTimeOutError, type EnqueuedTaskPromise, type Task } from 'meilisearch';
import { AppError, errors } from '../errors.ts';

/** A task Meilisearch refused or could not apply; `code` is its error code (e.g. `index_not_found`). */
export class MeiliTaskError extends Error {
  readonly code: string;
  readonly taskUid: number;
  constructor(task: Task) {
    super(`Meilisearch task ${task.uid} (${task.type}) ${task.status}: ${task.error?.message ?? 'no reason given'}`);
    this.name = 'MeiliTaskError';
    this.code = task.error?.code ?? `task_${task.status}`;
    this.taskUid = task.uid;
  }
}

/** Polling interval: a small write finishes in milliseconds, and searches right after it should see it. */
const POLL_MS = 10;

/** Waits for the task; throws `unavailable` when it takes longer than `timeoutMs`, MeiliTaskError when it fails. */
export async function settle(enqueued: EnqueuedTaskPromise, timeoutMs: number): Promise<Task> {
  let task: Task;
  try {
    task = await enqueued.waitTask({ timeout: timeoutMs, interval: POLL_MS });
  } catch (err) {
    if (err instanceof MeilisearchTaskTimeOutError) {
      throw new AppError(503, 'unavailable', `Search is busy: Meilisearch did not finish task ${err.cause.taskUid} within ${timeoutMs / 1000} s (MEILI_TASK_TIMEOUT_SECONDS).`, { cause: err });
    }
    throw unreachable(err);
  }
  if (task.status !== 'succeeded') throw new MeiliTaskError(task);
  return task;
}

/** Meilisearch's error code for a refused request or failed task, if that is what `err` is. */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof MeiliTaskError) return err.code;
  if (err instanceof MeilisearchApiError) return err.cause?.code;
  return undefined;
}

/** A connection failure or request timeout becomes `unavailable` (503); anything else stays as it is. */
export function unreachable(err: unknown): unknown {
  if (err instanceof MeilisearchRequestError || err instanceof MeilisearchRequestTimeOutError) {
    return errors.unavailable(`Search is not reachable: ${err.message}`);
  }
  return err;
}
