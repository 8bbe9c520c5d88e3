// Runs each parse in its own worker thread so a hostile or pathological document can only hurt
// that worker: V8 heap/stack limits bound its memory, a wall-clock timer terminates it, and the
// caller's AbortSignal terminates it too. The main thread never parses, so the server stays
// responsive. A fresh worker per document is the isolation unit. Its cost, end to end on the
// 2-core dev box (median of 5, compile cache warm): ~60 ms for the bare worker, ~130 ms to parse a
// small text or HTML file, ~220 ms for Markdown (micromark's many modules), ~450 ms for a 1-page
// PDF (loading pdf.js and its cold JIT dominate); the 76-page guide takes ~1.8 s against ~1.0 s
// warm in-thread. That is small beside embedding the text afterwards.

import { isMarkedAsUntransferable, Worker } from 'node:worker_threads';
import { oversized } from './parse.ts';
import {
  IngestError,
  type IngestErrorCode,
  type ParsedDocument,
  type ParseLimits,
  type ParseProgress,
  type ParseStage,
} from './types.ts';

export { parseDocument } from './parse.ts';

export interface WorkerRequest {
  bytes: Uint8Array;
  filename: string;
  limits: ParseLimits;
}

export type WorkerReply =
  | { type: 'progress'; stage: ParseStage; fraction: number }
  | { type: 'result'; document: ParsedDocument }
  | { type: 'error'; code: IngestErrorCode; message: string; retryable: boolean };

const WORKER = new URL('./parse-worker.ts', import.meta.url);

/** Parses documents for the ingestion pipeline; opened once by the appliance and closed at shutdown. */
export interface Parser {
  parse(input: { bytes: Uint8Array; filename: string }, limits: ParseLimits, onProgress: ParseProgress, signal: AbortSignal): Promise<ParsedDocument>;
  close(): Promise<void>;
}

/** Opens the isolated parser: each document in a worker thread of its own. */
export function openParser(_options: { concurrency: number }): Parser {
  return { parse: parseIsolated, close: async () => undefined };
}

/** Moves the bytes to the worker without copying when the caller owns the whole buffer. */
function transferable(bytes: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  const buffer = bytes.buffer;
  const whole = bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength;
  if (buffer instanceof ArrayBuffer && whole && !isMarkedAsUntransferable(buffer)) return { bytes, transfer: [buffer] };
  const copy = new Uint8Array(bytes); // a real copy even for a Buffer, whose slice() is a view
  return { bytes: copy, transfer: [copy.buffer] };
}

/**
 * Parses a document in an isolated worker. The input's buffer is transferred to the worker (and
 * so detached for the caller) when it is not shared with other data; otherwise it is copied.
 * Rejects with an IngestError, or with `signal.reason` when aborted.
 */
export function parseIsolated(
  input: { bytes: Uint8Array; filename: string },
  limits: ParseLimits,
  onProgress?: ParseProgress,
  signal?: AbortSignal,
): Promise<ParsedDocument> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const tooLarge = oversized(input.bytes, limits);
  if (tooLarge) return Promise.reject(tooLarge);
  const { bytes, transfer } = transferable(input.bytes);
  const request: WorkerRequest = { bytes, filename: input.filename, limits };
  let worker: Worker;
  try {
    worker = new Worker(WORKER, {
      workerData: request,
      transferList: transfer,
      resourceLimits: {
        maxOldGenerationSizeMb: limits.maxMemoryMb,
        maxYoungGenerationSizeMb: Math.min(64, Math.max(4, Math.round(limits.maxMemoryMb / 8))),
        stackSizeMb: 4,
      },
    });
  } catch (error) {
    // Not the document's fault (e.g. the process is out of threads or file descriptors).
    return Promise.reject(new IngestError('internal', `Could not start the parser: ${(error as Error).message}`, { retryable: true, cause: error }));
  }
  return new Promise<ParsedDocument>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const fail = (error: unknown) => settle(() => reject(error));
    const onAbort = () => fail(signal?.reason);
    const timer = setTimeout(() => fail(new IngestError('timeout', `Parsing took longer than ${limits.timeoutMs} ms`)), limits.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'progress') onProgress?.(reply.stage, reply.fraction);
      else if (reply.type === 'result') settle(() => resolve(reply.document));
      else fail(new IngestError(reply.code, reply.message, { retryable: reply.retryable }));
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        fail(new IngestError('out_of_memory', `Parsing needed more than the ${limits.maxMemoryMb} MB memory limit`, { cause: error }));
      } else {
        const transient = error.code === 'ERR_WORKER_INIT_FAILED';
        fail(new IngestError('internal', `The parser crashed: ${error.message}`, { retryable: transient, cause: error }));
      }
    });
    worker.on('exit', (code) => fail(new IngestError('internal', `The parser exited unexpectedly (exit code ${code})`)));
  });
}
