// Speech ports: voice activity detection, speech-to-text and text-to-speech. Audio inside the
// server is mono Float32 PCM in [-1, 1] at an explicit sample rate; the realtime protocol's pcm16
// is converted at the edge.

export interface AudioChunk {
  samples: Float32Array;
  sampleRate: number;
}

export interface VadOptions {
  /** Speech probability above which a frame counts as speech (Silero's default 0.5). */
  threshold: number;
  /** Shorter bursts (a cough, a click) never start a turn. */
  minSpeechMs: number;
  /** Silence that ends a turn. */
  endOfSpeechMs: number;
  /** Audio kept before the detected onset, so the first syllable reaches STT. */
  prefixPaddingMs: number;
}

export type VadEvent =
  /**
   * The first voiced frame: maybe speech, maybe a cough. Lets a caller react within one frame
   * (hold playback) before the minimum speech duration decides.
   */
  | { type: 'speech_candidate'; atMs: number }
  /** The candidate fell silent before the minimum speech duration: it was noise. */
  | { type: 'speech_abandoned'; atMs: number }
  /**
   * `atMs` is the onset within the stream (audio time, not wall-clock); `audio` is the turn so
   * far (padding included) at 16 kHz, and `speech_audio` events carry the rest as it arrives, so a
   * streaming recogniser can follow the speaker.
   */
  | { type: 'speech_start'; atMs: number; audio: Float32Array }
  /**
   * The speaker paused (each of `pauseMs`, when the detector has that option): `atMs` is where the
   * pause began, `silenceMs` how long it has lasted, `audio` the turn so far at 16 kHz. The caller
   * may judge whether the turn is over and say so with `endPause`; otherwise it ends after
   * `endOfSpeechMs` as usual.
   */
  | { type: 'speech_pause'; atMs: number; silenceMs: number; audio: Float32Array }
  /** More of the current turn's audio (16 kHz), in order, up to its `speech_end`. */
  | { type: 'speech_audio'; audio: Float32Array }
  /** `atMs` is where speech ended; `audio` is the utterance with its padding, at 16 kHz. */
  | { type: 'speech_end'; atMs: number; audio: Float32Array };

/** One per session: it keeps the model state across frames. */
export interface VoiceActivityDetector {
  /** Feed audio (any sample rate; resampled to the model's); returns what happened in it. */
  push(chunk: AudioChunk): Promise<VadEvent[]>;
  /** Audio time consumed so far, in ms. */
  readonly positionMs: number;
  reset(): void;
  /**
   * Sets how much silence ends the pause that began at `atMs` (a `speech_pause`): 0 ends the turn
   * at once. Applied after the pushes already made; returns the `speech_end` when that ends the
   * turn now, and nothing if speech resumed or the turn already ended meanwhile.
   */
  endPause?(atMs: number, silenceMs: number): Promise<VadEvent[]>;
  close(): Promise<void>;
}

export interface SttStream {
  accept(chunk: AudioChunk): void;
  /** Best transcript so far (streaming models); '' for offline models. */
  partial(): string;
  /** Ends the stream and returns the final transcript; the signal stops a cloud upload. */
  finish(options?: { signal?: AbortSignal }): Promise<string>;
}

export interface SttEngine {
  readonly kind: 'local' | 'cloud';
  readonly model: { id: string; streaming: boolean; languages: string[] };
  createStream(): SttStream;
  close(): Promise<void>;
}

export interface TtsEngine {
  readonly kind: 'local' | 'cloud' | 'espeak';
  readonly voice: { id: string; language: string; sampleRate: number };
  /** Audio for one sentence or short text; rejects with the signal's reason when aborted. */
  synthesize(text: string, options?: { signal?: AbortSignal; speed?: number }): Promise<AudioChunk>;
  close(): Promise<void>;
}
