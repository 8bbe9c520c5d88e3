// The answer's speech waiting to be played, as the playback worklet holds it. It counts what was
// actually played, per assistant item, because barge-in has to tell the server how much of the
// answer was heard (conversation.item.truncate's audio_end_ms) and only the audio thread knows.

interface Chunk {
  itemId: string;
  samples: Float32Array;
  /** Samples of this chunk already played. */
  at: number;
}

export interface Flushed {
  /** The item that was playing (or last played); null when nothing ever played. */
  itemId: string | null;
  /** Milliseconds of that item that were played. */
  playedMs: number;
  /** Whether audio was still queued: only then was anything cut off. */
  cut: boolean;
}

/** How many played items are remembered; older ones cannot be truncated any more anyway. */
const REMEMBERED_ITEMS = 8;

export class FrameQueue {
  /** Rate of the queued samples (the output device's). */
  readonly rate: number;
  #chunks: Chunk[] = [];
  #queued = 0;
  #played = 0;
  #current: string | null = null;
  readonly #perItem = new Map<string, number>();

  constructor(rate: number) {
    this.rate = rate;
  }

  push(itemId: string, samples: Float32Array): void {
    if (samples.length === 0) return;
    this.#chunks.push({ itemId, samples, at: 0 });
    this.#queued += samples.length;
  }

  /** Fills `out` from the queue; returns how many samples were real audio (the rest is left as it was). */
  pull(out: Float32Array): number {
    let written = 0;
    while (written < out.length) {
      const chunk = this.#chunks[0];
      if (!chunk) break;
      const take = Math.min(out.length - written, chunk.samples.length - chunk.at);
      out.set(chunk.samples.subarray(chunk.at, chunk.at + take), written);
      chunk.at += take;
      written += take;
      this.#count(chunk.itemId, take);
      if (chunk.at === chunk.samples.length) this.#chunks.shift();
    }
    this.#queued -= written;
    this.#played += written;
    return written;
  }

  /** Drops everything queued at once and says how far the interrupted item got. */
  flush(): Flushed {
    const cut = this.#queued > 0;
    // The head of the queue is what is playing or about to: an answer cut before its first sample was heard at 0 ms.
    const itemId = this.#chunks[0]?.itemId ?? this.#current;
    this.#chunks = [];
    this.#queued = 0;
    return { itemId, playedMs: itemId === null ? 0 : this.playedMs(itemId), cut };
  }

  /** Samples waiting to be played. */
  get queued(): number {
    return this.#queued;
  }

  /** Samples played since the queue was made, across items and flushes: only ever grows. */
  get played(): number {
    return this.#played;
  }

  /** The item being played (or last played). */
  get current(): string | null {
    return this.#current;
  }

  playedMs(itemId: string): number {
    return Math.round(((this.#perItem.get(itemId) ?? 0) * 1000) / this.rate);
  }

  #count(itemId: string, samples: number): void {
    if (this.#current !== itemId) {
      this.#current = itemId;
      if (!this.#perItem.has(itemId) && this.#perItem.size >= REMEMBERED_ITEMS) {
        const oldest = this.#perItem.keys().next().value;
        if (oldest !== undefined) this.#perItem.delete(oldest);
      }
    }
    this.#perItem.set(itemId, (this.#perItem.get(itemId) ?? 0) + samples);
  }
}
