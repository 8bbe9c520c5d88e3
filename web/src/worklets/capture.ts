// The microphone's audio worklet: on the audio thread, every 128-sample render quantum at the
// device's rate is brought down to 24 kHz and cut into 100 ms pcm16 frames, which go to the page
// (transferred, not copied) to be sent as input_audio_buffer.append. It also measures the level
// for the meter, so the page never touches raw audio.
// Bundled on its own by scripts/build-web.ts and loaded with audioWorklet.addModule.

import { float32ToPcm16, FRAME_SAMPLES, VOICE_RATE } from '../voice/pcm.ts';
import { createResampler, FrameChunker } from '../voice/resampler.ts';

// The AudioWorkletGlobalScope, which TypeScript's DOM library does not describe.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

/** Level reports per second: smooth enough for a meter, few enough messages. */
const LEVELS_PER_SECOND = 20;

export interface CaptureFrame {
  type: 'frame';
  /** 100 ms of 24 kHz pcm16. */
  pcm: ArrayBuffer;
}

export interface CaptureLevel {
  type: 'level';
  rms: number;
}

class CaptureProcessor extends AudioWorkletProcessor {
  readonly #resampler = createResampler(sampleRate, VOICE_RATE);
  readonly #chunker = new FrameChunker(FRAME_SAMPLES);
  #squares = 0;
  #counted = 0;
  readonly #levelEvery = Math.round(sampleRate / LEVELS_PER_SECOND);

  process(inputs: Float32Array[][]): boolean {
    const channels = inputs[0];
    const first = channels?.[0];
    // No input yet (the track is starting or muted): keep the processor alive.
    if (!channels || !first) return true;
    let mono = first;
    if (channels.length > 1) {
      mono = new Float32Array(first.length);
      for (const channel of channels) for (let i = 0; i < mono.length; i++) mono[i] = (mono[i] ?? 0) + (channel[i] ?? 0) / channels.length;
    }
    for (const s of mono) this.#squares += s * s;
    this.#counted += mono.length;
    if (this.#counted >= this.#levelEvery) {
      this.port.postMessage({ type: 'level', rms: Math.sqrt(this.#squares / this.#counted) } satisfies CaptureLevel);
      this.#squares = 0;
      this.#counted = 0;
    }
    for (const frame of this.#chunker.push(this.#resampler.process(mono))) {
      const pcm = float32ToPcm16(frame).buffer as ArrayBuffer;
      this.port.postMessage({ type: 'frame', pcm } satisfies CaptureFrame, [pcm]);
    }
    return true;
  }
}

registerProcessor('lectern-capture', CaptureProcessor);
