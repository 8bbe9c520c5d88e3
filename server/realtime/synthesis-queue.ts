// One process's speech synthesis, shared by every realtime session. Sessions answering at once
// compete for the same cores; in arrival order a session's first sentence waits behind every
// other session's second and third, and the listener hears nothing for seconds. Here a turn that
// has not spoken yet goes first: later sentences have the audio already playing to hide behind.

import { availableParallelism } from 'node:os';
import type { AudioChunk, TtsEngine } from '../speech/speech.ts';

interface Waiting {
  start: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Runs tasks `concurrency` at a time: first sentences before later ones, each kind in arrival order. */
export class SynthesisQueue {
  readonly #concurrency: number;
  #running = 0;
  readonly #first: Waiting[] = [];
  readonly #later: Waiting[] = [];

  constructor(concurrency: number) {
    this.#concurrency = Math.max(1, concurrency);
  }

  /** Tasks waiting for a slot (for tests and the benchmark). */
  get waiting(): number {
    return this.#first.length + this.#later.length;
  }

  async run<T>(first: boolean, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.#running >= this.#concurrency) await this.#slot(first ? this.#first : this.#later, signal);
    else this.#running += 1;
    try {
      signal?.throwIfAborted();
      return await task();
    } finally {
      this.#release();
    }
  }

  /** Waits for a slot; the slot is already counted as running when this resolves. */
  #slot(line: Waiting[], signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiting: Waiting = {
        start: resolve,
        reject,
        signal,
        onAbort: () => {
          const at = line.indexOf(waiting);
          if (at >= 0) line.splice(at, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiting.onAbort, { once: true });
      line.push(waiting);
    });
  }

  #release(): void {
    const next = this.#first.shift() ?? this.#later.shift();
    if (!next) {
      this.#running -= 1;
      return;
    }
    next.signal?.removeEventListener('abort', next.onAbort);
    next.start();
  }
}

/**
 * Queues per kind of engine: the local voice synthesises one sentence at a time anyway, espeak-ng
 * runs a process per sentence (one per core), a cloud voice waits on the network.
 */
export function createSynthesisQueues(cores = availableParallelism()): (tts: TtsEngine) => SynthesisQueue {
  const queues = new Map<TtsEngine['kind'], SynthesisQueue>();
  const concurrency = { local: 1, espeak: cores, cloud: 8 } as const;
  return (tts) => {
    let queue = queues.get(tts.kind);
    if (!queue) queues.set(tts.kind, (queue = new SynthesisQueue(concurrency[tts.kind])));
    return queue;
  };
}

/** One sentence through the queue. */
export function synthesizeQueued(queue: SynthesisQueue, tts: TtsEngine, text: string, first: boolean, signal: AbortSignal): Promise<AudioChunk> {
  return queue.run(first, () => tts.synthesize(text, { signal }), signal);
}
