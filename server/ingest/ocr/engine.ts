// One Tesseract engine (tesseract.js: Tesseract 5 compiled to WebAssembly, in a worker thread of
// its own) for the duration of one OCR call, then terminated. Nothing is kept between calls: a
// parse worker may be retired or replaced after any document, and starting an engine costs only
// ~0.5 s (compile the WASM core, gunzip 3 MB of language data) against seconds per page of
// recognition.
//
// tesseract.js assumes a friendly environment; three of its habits are guarded here:
// - A failed language load or init never settles `createWorker`; it only calls `errorHandler`.
// - Without `errorHandler`, a failed job is re-thrown from a message listener: an uncaught exception.
// - Its Node `Worker` has no 'error' or 'exit' listener, and terminating it leaves pending jobs
//   unsettled forever.
// So the engine's thread is captured as it is spawned, and every job races one signal that fires
// on the caller's abort, on a thread crash and on any reported job failure.

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Worker as Thread } from 'node:worker_threads';
import Tesseract from 'tesseract.js';
import { IngestError } from '../types.ts';
import { raceAbort } from './abort.ts';
import type { StagedLanguages } from './languages.ts';
import { encodePgm, turnHalfway, type GrayImage } from './raster.ts';

export interface Recognition {
  text: string;
  /** Tesseract's mean word confidence, 0..1. */
  confidence: number;
}

export interface OcrEngine {
  /** Reads the image upright or, if that reads poorly, upside down: whichever is more confident (see `read` below). */
  read(image: GrayImage): Promise<Recognition>;
  close(): Promise<void>;
}

/**
 * Upright text reads at 0.85–0.95 on clean scans; the same pages upside down measured 0.29–0.39,
 * as Tesseract still "finds" words in it. Below this, the page is read again turned half way.
 */
const UPRIGHT_CONFIDENCE = 0.7;
/** The turned reading must beat the first by this much, so noise never turns an upright page. */
const TURN_MARGIN = 0.05;

function engineError(reason: unknown): IngestError {
  const message = reason instanceof Error ? reason.message : String(reason);
  const code = /memory|\boom\b/i.test(message) ? 'out_of_memory' : 'internal';
  return new IngestError(code, `the OCR engine failed: ${message}`, { retryable: true, cause: reason });
}

export async function startEngine(staged: StagedLanguages, signal: AbortSignal | undefined): Promise<OcrEngine> {
  signal?.throwIfAborted();
  const failure = new AbortController();
  const stop = signal ? AbortSignal.any([signal, failure.signal]) : failure.signal;
  const fail = (reason: unknown): void => failure.abort(engineError(reason));

  // createWorker spawns its thread synchronously, before its first await: the only thread this
  // channel reports while subscribed is ours.
  let thread: Thread | undefined;
  const capture = (message: unknown): void => {
    thread ??= (message as { worker: Thread }).worker;
  };
  subscribe('worker_threads', capture);
  let creating: Promise<Tesseract.Worker>;
  try {
    creating = Tesseract.createWorker(staged.langs, Tesseract.OEM.LSTM_ONLY, {
      langPath: staged.langPath,
      gzip: staged.gzip,
      // Language data is read from disk on every start; never written to a cache beside the process.
      cacheMethod: 'none',
      errorHandler: fail,
    });
  } finally {
    unsubscribe('worker_threads', capture);
  }
  let closed = false;
  thread?.on('error', fail);
  thread?.once('exit', (code) => {
    if (!closed) fail(`its thread exited with code ${code}`);
  });
  // Terminating the thread is what actually stops a long recognition.
  stop.addEventListener('abort', () => void thread?.terminate(), { once: true });
  const terminate = async (): Promise<void> => {
    closed = true;
    if (thread) await thread.terminate();
    else await creating.then((worker) => worker.terminate(), () => undefined);
  };

  let worker: Tesseract.Worker;
  try {
    worker = await raceAbort(creating, stop);
    await raceAbort(
      worker.setParameters({
        // The API's default treats the page as one block of text; AUTO finds columns and form fields, as the tesseract CLI does.
        tessedit_pageseg_mode: Tesseract.PSM.AUTO,
        // Tesseract's diagnostics ("Estimating resolution as 244") would otherwise land on the server's stdout.
        debug_file: '/dev/null',
      }),
      stop,
    );
  } catch (error) {
    await terminate();
    throw error;
  }

  const recognize = async (image: GrayImage): Promise<Recognition> => {
    const params: Partial<Tesseract.RecognizeOptions & Tesseract.WorkerParams> = image.dpi ? { user_defined_dpi: String(image.dpi) } : {};
    const { data } = await raceAbort(worker.recognize(encodePgm(image), params), stop);
    return { text: data.text.trim(), confidence: data.confidence / 100 };
  };

  return {
    // Only a half turn is ever tried: in AUTO mode Tesseract finds vertical lines and reads the page
    // turned a quarter one way by itself, so a page lying a quarter turn the other way reads right
    // once turned half way. On the scan turned through all four orientations, two readings at
    // most found the text every time, and trying all four would quadruple the cost of every page
    // that reads poorly anyway (handwriting, faint copies).
    async read(image) {
      const first = await recognize(image);
      // A page with no text at all reads no better turned.
      if (first.text === '' || first.confidence >= UPRIGHT_CONFIDENCE) return first;
      const turned = await recognize(turnHalfway(image));
      return turned.confidence > first.confidence + TURN_MARGIN ? turned : first;
    },
    async close() {
      if (!closed) await terminate();
    },
  };
}
