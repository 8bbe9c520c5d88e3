// A fixed number of long-lived parse workers taking documents one at a time by message. With a
// fresh worker per document, starting it and loading the parsers was most of the ~250 ms of CPU a
// one-abstract Markdown file cost; a pooled worker pays that once. Isolation is kept per worker,
// not per document: each runs under V8 resource limits, one document at a time, and a worker that
// hit a limit, was cut off (timeout, abort) or crashed is terminated and never given another
// document. Healthy workers are still retired after a number of documents, or once a document
// leaves their heap large, so one big document's garbage or a parser's slow leak does not follow
// later ones.

import { isMarkedAsUntransferable, MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { oversized } from './parse.ts';
import { feedBytes } from './source.ts';
import {
  IngestError,
  type IngestErrorCode,
  type ParsedDocument,
  type ParseInput,
  type ParseLimits,
  type ParseProgress,
  type ParseStage,
} from './types.ts';

export interface WorkerRequest {
  id: number;
  filename: string;
  limits: ParseLimits;
  /** The file's bytes, or its size and the port they are fed on a batch at a time (see ./source.ts). */
  file: { bytes: Uint8Array } | { size: number; port: MessagePort };
}

/** Replies to one request, by its id; `heapMb` is the worker's used heap after the document. */
export type WorkerReply =
  | { id: number; type: 'progress'; stage: ParseStage; fraction: number }
  | { id: number; type: 'result'; document: ParsedDocument; heapMb: number }
  | { id: number; type: 'error'; code: IngestErrorCode; message: string; retryable: boolean; heapMb: number };

export interface PoolOptions {
  /** Workers at most, and so documents parsed at once. */
  size: number;
  /** A worker is replaced after this many documents. */
  maxDocumentsPerWorker?: number;
  /** A worker whose used heap exceeds this after a document is replaced. */
  recycleHeapMb?: number;
  /** A worker left without work this long is ended. */
  idleMs?: number;
}

export interface PoolWorker {
  threadId: number;
  documents: number;
  busy: boolean;
}

const WORKER = new URL('./parse-worker.ts', import.meta.url);

// After a document, a worker's used heap measured 11–25 MB for text, Markdown, HTML and DOCX and
// 40–65 MB once pdf.js had run (the shared documents); past 96 MB the next document would start in
// a heap that mostly holds an earlier one's leftovers. 500 documents bound what a slow leak in a
// parser library can gather, at ~0.3 ms per document for the restart.
const DEFAULTS = { maxDocumentsPerWorker: 500, recycleHeapMb: 96, idleMs: 60_000 };

// Failures after which the worker's state is not trusted: it ran long, or the parser threw something unforeseen.
const UNTRUSTED: ReadonlySet<IngestErrorCode> = new Set(['timeout', 'out_of_memory', 'internal']);

interface Job {
  id: number;
  input: ParseInput;
  /** Feeds a streamed input's bytes to the worker while it runs. */
  feed: ReturnType<typeof feedBytes> | undefined;
  limits: ParseLimits;
  onProgress: ParseProgress | undefined;
  signal: AbortSignal | undefined;
  resolve(document: ParsedDocument): void;
  reject(error: unknown): void;
  onAbort(): void;
}

interface Slot {
  worker: Worker;
  /** The heap limit it was started with: documents asking for another one need another worker. */
  memoryMb: number;
  documents: number;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
  idle: NodeJS.Timeout | undefined;
}

/** Moves the bytes to the worker without copying when the caller owns the whole buffer. */
function transferable(bytes: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  const buffer = bytes.buffer;
  const whole = bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength;
  if (buffer instanceof ArrayBuffer && whole && !isMarkedAsUntransferable(buffer)) return { bytes, transfer: [buffer] };
  const copy = new Uint8Array(bytes); // a real copy even for a Buffer, whose slice() is a view
  return { bytes: copy, transfer: [copy.buffer] };
}

export class ParsePool {
  readonly #size: number;
  readonly #o: typeof DEFAULTS;
  readonly #slots = new Set<Slot>();
  readonly #waiting: Job[] = [];
  #nextId = 1;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: PoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`pool size must be a positive integer, got ${options.size}`);
    this.#size = options.size;
    this.#o = {
      maxDocumentsPerWorker: options.maxDocumentsPerWorker ?? DEFAULTS.maxDocumentsPerWorker,
      recycleHeapMb: options.recycleHeapMb ?? DEFAULTS.recycleHeapMb,
      idleMs: options.idleMs ?? DEFAULTS.idleMs,
    };
  }

  /**
   * Parses a document in a pooled worker, waiting for one when all are busy. Bytes given whole
   * are transferred to the worker (and so detached for the caller) when their buffer is not
   * shared with other data, otherwise copied; a streamed input is opened when the worker starts
   * on it and fed to it as it reads. Rejects with an IngestError, or with `signal.reason`.
   */
  parse(input: ParseInput, limits: ParseLimits, onProgress?: ParseProgress, signal?: AbortSignal): Promise<ParsedDocument> {
    if (this.#closed) return Promise.reject(new IngestError('internal', 'The parser is shut down', { retryable: true }));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const tooLarge = oversized('bytes' in input ? input.bytes.byteLength : input.size, limits);
    if (tooLarge) return Promise.reject(tooLarge);
    return new Promise<ParsedDocument>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, input, feed: undefined, limits, onProgress, signal, resolve, reject, onAbort: () => this.#abort(job) };
      signal?.addEventListener('abort', job.onAbort, { once: true });
      this.#waiting.push(job);
      this.#dispatch();
    });
  }

  /** The running workers, for health reports and tests. */
  workers(): PoolWorker[] {
    return [...this.#slots].map((s) => ({ threadId: s.worker.threadId, documents: s.documents, busy: s.job !== undefined }));
  }

  /** Ends every worker; documents waiting or in progress are rejected as retryable. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    const shutDown = () => new IngestError('internal', 'The parser was shut down before the document was parsed', { retryable: true });
    for (const job of this.#waiting.splice(0)) this.#settle(job, () => job.reject(shutDown()));
    this.#closing = Promise.allSettled([...this.#slots].map((slot) => this.#discard(slot, shutDown()))).then(() => undefined);
    return this.#closing;
  }

  /** Hands waiting documents to idle workers, starting workers up to the pool's size. */
  #dispatch(): void {
    while (this.#waiting.length > 0 && !this.#closed) {
      const job = this.#waiting[0] as Job;
      const memoryMb = job.limits.maxMemoryMb;
      const idle = [...this.#slots].filter((s) => !s.job);
      let slot = idle.find((s) => s.memoryMb === memoryMb);
      if (!slot) {
        if (this.#slots.size >= this.#size) {
          // Only an idle worker with other limits is left: it makes way for one with these.
          const other = idle[0];
          if (!other) return;
          void this.#discard(other);
        }
        try {
          slot = this.#start(memoryMb);
        } catch (error) {
          // Not the document's fault (e.g. the process is out of threads or file descriptors).
          this.#waiting.shift();
          this.#settle(job, () => job.reject(new IngestError('internal', `Could not start the parser: ${(error as Error).message}`, { retryable: true, cause: error })));
          continue;
        }
      }
      this.#waiting.shift();
      this.#run(slot, job);
    }
  }

  #start(memoryMb: number): Slot {
    const worker = new Worker(WORKER, {
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        // A text read a piece at a time makes short-lived strings fast: with 64 MB of young
        // generation a worker reading one held ~45 MB more at its peak, and PDFs parsed no faster.
        maxYoungGenerationSizeMb: Math.min(16, Math.max(4, Math.round(memoryMb / 8))),
        stackSizeMb: 4,
      },
    });
    const slot: Slot = { worker, memoryMb, documents: 0, job: undefined, timer: undefined, idle: undefined };
    this.#slots.add(slot);
    worker.on('message', (reply: WorkerReply) => this.#reply(slot, reply));
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.#end(slot, new IngestError('out_of_memory', `Parsing needed more than the ${memoryMb} MB memory limit`, { cause: error }));
      } else {
        const transient = error.code === 'ERR_WORKER_INIT_FAILED';
        this.#end(slot, new IngestError('internal', `The parser crashed: ${error.message}`, { retryable: transient, cause: error }));
      }
    });
    worker.on('exit', (code) => this.#end(slot, new IngestError('internal', `The parser exited unexpectedly (exit code ${code})`)));
    this.#rest(slot);
    return slot;
  }

  #run(slot: Slot, job: Job): void {
    clearTimeout(slot.idle);
    slot.worker.ref();
    slot.job = job;
    slot.documents++;
    let file: WorkerRequest['file'];
    let transfer: Array<ArrayBuffer | MessagePort>;
    if ('bytes' in job.input) {
      const { bytes, transfer: buffers } = transferable(job.input.bytes);
      file = { bytes };
      transfer = buffers;
    } else {
      const { port1, port2 } = new MessageChannel();
      job.feed = feedBytes(port1, job.input.stream);
      file = { size: job.input.size, port: port2 };
      transfer = [port2];
    }
    const request: WorkerRequest = { id: job.id, filename: job.input.filename, limits: job.limits, file };
    slot.worker.postMessage(request, transfer);
    const { timeoutMs } = job.limits;
    slot.timer = setTimeout(() => this.#end(slot, new IngestError('timeout', `Parsing took longer than ${timeoutMs} ms`)), timeoutMs);
  }

  #reply(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (!job || reply.id !== job.id) return;
    if (reply.type === 'progress') {
      job.onProgress?.(reply.stage, reply.fraction);
      return;
    }
    clearTimeout(slot.timer);
    slot.job = undefined;
    // When the stored file could not be read, that error is the cause, not the worker's view of it.
    const readFailure = job.feed?.failure();
    if (reply.type === 'result') this.#settle(job, () => job.resolve(reply.document));
    else if (readFailure !== undefined) this.#settle(job, () => job.reject(readFailure));
    else this.#settle(job, () => job.reject(new IngestError(reply.code, reply.message, { retryable: reply.retryable })));
    if (reply.type === 'error' && UNTRUSTED.has(reply.code)) {
      void this.#discard(slot);
    } else if (slot.documents >= this.#o.maxDocumentsPerWorker || reply.heapMb > this.#o.recycleHeapMb) {
      void this.#discard(slot);
      this.#prewarm(slot.memoryMb);
    } else {
      this.#rest(slot);
    }
    this.#dispatch();
  }

  #abort(job: Job): void {
    const at = this.#waiting.indexOf(job);
    if (at >= 0) {
      this.#waiting.splice(at, 1);
      this.#settle(job, () => job.reject(job.signal?.reason));
      return;
    }
    const slot = [...this.#slots].find((s) => s.job === job);
    if (slot) this.#end(slot, job.signal?.reason);
  }

  /** Takes a worker out of the pool for good, failing its document (if any) with `error`. */
  #discard(slot: Slot, error?: unknown): Promise<number> | undefined {
    if (!this.#slots.delete(slot)) return undefined;
    clearTimeout(slot.timer);
    clearTimeout(slot.idle);
    const job = slot.job;
    slot.job = undefined;
    if (job) this.#settle(job, () => job.reject(error));
    return slot.worker.terminate();
  }

  /** #discard for events from outside the dispatch loop: the freed place goes to the next document. */
  #end(slot: Slot, error?: unknown): void {
    void this.#discard(slot, error);
    this.#dispatch();
  }

  /**
   * Replaces a worker retired in good health at once, so its successor starts while the main
   * thread still chunks and indexes the document just parsed. A worker lost to a failure (or to
   * shutdown) is replaced only when a document needs one, so a worker that cannot start is never
   * restarted in a loop.
   */
  #prewarm(memoryMb: number): void {
    if (this.#closed || this.#slots.size >= this.#size) return;
    try {
      this.#start(memoryMb);
    } catch {
      // The next document starts one, and reports the failure if it persists.
    }
  }

  /** An idle worker does not keep the process alive, and ends after `idleMs`. */
  #rest(slot: Slot): void {
    slot.worker.unref();
    slot.idle = setTimeout(() => void this.#discard(slot), this.#o.idleMs);
    slot.idle.unref();
  }

  #settle(job: Job, outcome: () => void): void {
    job.signal?.removeEventListener('abort', job.onAbort);
    job.feed?.close();
    outcome();
  }
}
