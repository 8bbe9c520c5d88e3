// The answer's voice, played on the audio thread: 24 kHz pcm16 chunks from
// response.output_audio.delta are brought to the device's rate and queued. The queue reports what
// it has played, so the page can tell the server how much of an interrupted answer was heard
// (conversation.item.truncate), and it flushes at once when the person starts speaking.
// Bundled on its own by scripts/build-web.ts and loaded with audioWorklet.addModule.

import { FrameQueue } from '../voice/frame-queue.ts';
import { pcm16ToFloat32, VOICE_RATE } from '../voice/pcm.ts';
import { createResampler } from '../voice/resampler.ts';

declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

export type PlaybackCommand =
  /** pcm: 24 kHz pcm16 samples of the assistant item `itemId`. */
  | { type: 'push'; itemId: string; pcm: ArrayBuffer }
  | { type: 'flush'; id: number };

export interface PlaybackStatus {
  type: 'status';
  /** Everything played so far, in 24 kHz frames; only ever grows. */
  playedFrames: number;
  /** Waiting to be played, in 24 kHz frames. */
  queuedFrames: number;
}

export interface PlaybackFlushed {
  type: 'flushed';
  id: number;
  itemId: string | null;
  playedMs: number;
  cut: boolean;
  playedFrames: number;
}

/** Status reports per second while audio plays. */
const REPORTS_PER_SECOND = 20;

class PlaybackProcessor extends AudioWorkletProcessor {
  readonly #queue = new FrameQueue(sampleRate);
  readonly #resampler = createResampler(VOICE_RATE, sampleRate);
  #item: string | null = null;
  #sinceReport = 0;
  #wasPlaying = false;
  readonly #reportEvery = Math.round(sampleRate / REPORTS_PER_SECOND);

  constructor() {
    super();
    this.port.onmessage = (e: MessageEvent<PlaybackCommand>) => {
      const command = e.data;
      if (command.type === 'push') {
        // A new answer starts a fresh stream: no interpolation across the join.
        if (command.itemId !== this.#item) {
          this.#item = command.itemId;
          this.#resampler.reset();
        }
        this.#queue.push(command.itemId, this.#resampler.process(pcm16ToFloat32(new Int16Array(command.pcm))));
        this.#report();
      } else if (command.type === 'flush') {
        const flushed = this.#queue.flush();
        this.#resampler.reset();
        this.#item = null;
        this.port.postMessage({ type: 'flushed', id: command.id, ...flushed, playedFrames: this.#frames(this.#queue.played) } satisfies PlaybackFlushed);
        this.#report();
      }
    };
  }

  #frames(samples: number): number {
    return Math.round((samples * VOICE_RATE) / sampleRate);
  }

  #report(): void {
    this.#sinceReport = 0;
    this.#wasPlaying = this.#queue.queued > 0;
    this.port.postMessage({ type: 'status', playedFrames: this.#frames(this.#queue.played), queuedFrames: this.#frames(this.#queue.queued) } satisfies PlaybackStatus);
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]?.[0];
    if (!out) return true;
    const written = this.#queue.pull(out);
    // Fill every output channel the node was given (mono is asked for; be safe with more).
    for (const channel of outputs[0]?.slice(1) ?? []) channel.set(out);
    this.#sinceReport += written;
    const playing = this.#queue.queued > 0;
    if ((written > 0 && this.#sinceReport >= this.#reportEvery) || playing !== this.#wasPlaying) this.#report();
    return true;
  }
}

registerProcessor('lectern-playback', PlaybackProcessor);
