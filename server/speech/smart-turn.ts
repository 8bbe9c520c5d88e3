// End-of-turn detection from audio with Smart Turn v3 (BSD-2-Clause, by Daily/pipecat): a small
// Whisper-encoder classifier that hears, from the last 8 s of a turn, whether the speaker has
// finished (intonation, pace, a trailing "and…") — in any language, with no transcript. The ONNX
// file ships inside the `pipecat-ai` wheel on PyPI (`npm run models:turn` extracts it into
// MODELS_DIR/smart-turn-v3/). Its input is Whisper's log-mel spectrogram, computed here as
// transformers' WhisperFeatureExtractor(chunk_length=8) does: the waveform zero-mean/unit-variance
// normalised, a centred 400-point STFT (periodic Hann, hop 160, reflect padding), power through an
// 80-band Slaney mel filterbank, log10, clamped to 8 below the maximum, then (x + 4) / 4.

import { existsSync } from 'node:fs';
import path from 'node:path';

export const TURN_MODEL_ID = 'smart-turn-v3';
export const TURN_MODEL_FILE = 'smart-turn-v3.2-cpu.onnx';
const RATE = 16_000;
const SAMPLES = 8 * RATE;
const N_FFT = 400;
const HOP = 160;
const N_MELS = 80;
const BINS = N_FFT / 2 + 1;
export const FRAMES = SAMPLES / HOP;

export interface TurnModel {
  readonly id: string;
  /** The probability (0–1) that the speaker has finished, from the turn's audio at 16 kHz up to the pause. */
  complete(audio: Float32Array): Promise<number>;
  close(): Promise<void>;
}

/** Where the model is looked for in MODELS_DIR. */
export const turnModelPath = (modelsDir: string) => path.join(modelsDir, TURN_MODEL_ID, TURN_MODEL_FILE);

/** The installed turn model, or null (with the reason) when it is not there or does not load. */
export async function openTurnModel(modelsDir: string): Promise<{ model: TurnModel | null; reason?: string }> {
  const file = turnModelPath(modelsDir);
  if (!existsSync(file)) return { model: null, reason: `${TURN_MODEL_ID} is not in MODELS_DIR (npm run models:turn): turns are judged by their words alone` };
  try {
    return { model: await loadSmartTurnModel(file) };
  } catch (err) {
    return { model: null, reason: `${file} could not be loaded: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export async function loadSmartTurnModel(file: string): Promise<TurnModel> {
  const ort = await import('onnxruntime-node');
  // Two threads: a judgement is on the turn's critical path (70 ms on one core, 40 ms on two), and
  // it runs once per pause, not per frame like the VAD.
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  if (!session.inputNames.includes('input_features')) {
    await session.release();
    throw new Error(`${file} is not a Smart Turn v3 model (inputs ${session.inputNames.join(', ')})`);
  }
  const output = session.outputNames[0] ?? 'logits';
  return {
    id: TURN_MODEL_ID,
    async complete(audio) {
      const features = new ort.Tensor('float32', whisperLogMel(lastSeconds(audio)), [1, N_MELS, FRAMES]);
      const out = await session.run({ input_features: features });
      const probability = (out[output]?.data as Float32Array | undefined)?.[0];
      if (probability === undefined) throw new Error('Smart Turn returned no output');
      return probability;
    },
    close: () => session.release(),
  };
}

/** The last 8 s, zero-padded at the front when shorter, as the model was trained. */
export function lastSeconds(audio: Float32Array): Float32Array {
  if (audio.length >= SAMPLES) return audio.slice(audio.length - SAMPLES);
  const out = new Float32Array(SAMPLES);
  out.set(audio, SAMPLES - audio.length);
  return out;
}

// --- Whisper log-mel features -----------------------------------------------------------------

const hzToMel = (hz: number) => (hz < 1000 ? (3 * hz) / 200 : 15 + Math.log(hz / 1000) * (27 / Math.log(6.4)));
const melToHz = (mel: number) => (mel < 15 ? (200 * mel) / 3 : 1000 * Math.exp((Math.log(6.4) / 27) * (mel - 15)));

/** Slaney-normalised triangular filters: each filter's first non-zero bin and its weights. */
function melFilters(): Array<{ from: number; weights: Float64Array }> {
  const maxMel = hzToMel(RATE / 2);
  const edges = Array.from({ length: N_MELS + 2 }, (_, i) => melToHz((maxMel * i) / (N_MELS + 1)));
  return Array.from({ length: N_MELS }, (_, m) => {
    const [lo, mid, hi] = [edges[m] ?? 0, edges[m + 1] ?? 0, edges[m + 2] ?? 0];
    const norm = 2 / (hi - lo);
    const dense = Array.from({ length: BINS }, (_, k) => {
      const hz = (k * (RATE / 2)) / (BINS - 1);
      return Math.max(0, Math.min((hz - lo) / (mid - lo), (hi - hz) / (hi - mid))) * norm;
    });
    const from = Math.max(0, dense.findIndex((w) => w > 0));
    const to = BINS - [...dense].reverse().findIndex((w) => w > 0);
    return { from, weights: Float64Array.from(dense.slice(from, Math.max(from, to))) };
  });
}

// The 400-point DFT as 16 × 25 (Cooley–Tukey, one level): 25 DFTs of 16, twiddles, 16 DFTs of 25,
// keeping only the 201 bins of a real input. Tables are indexed by the product's residue.
const N1 = 16;
const N2 = 25;
const tables = (() => {
  const angle = (k: number, n: number) => (2 * Math.PI * k) / n;
  const hann = Float64Array.from({ length: N_FFT }, (_, i) => 0.5 - 0.5 * Math.cos(angle(i, N_FFT)));
  // [k1 * N1 + n1] → W16^(n1·k1); [n2 * N1 + k1] → W400^(n2·k1); [k2 * N2 + n2] → W25^(n2·k2).
  const c1 = Float64Array.from({ length: N1 * N1 }, (_, i) => Math.cos(angle((i % N1) * Math.floor(i / N1), N1)));
  const s1 = Float64Array.from({ length: N1 * N1 }, (_, i) => -Math.sin(angle((i % N1) * Math.floor(i / N1), N1)));
  const tc = Float64Array.from({ length: N1 * N2 }, (_, i) => Math.cos(angle((i % N1) * Math.floor(i / N1), N_FFT)));
  const ts = Float64Array.from({ length: N1 * N2 }, (_, i) => -Math.sin(angle((i % N1) * Math.floor(i / N1), N_FFT)));
  const c2 = Float64Array.from({ length: N2 * N2 }, (_, i) => Math.cos(angle((i % N2) * Math.floor(i / N2), N2)));
  const s2 = Float64Array.from({ length: N2 * N2 }, (_, i) => -Math.sin(angle((i % N2) * Math.floor(i / N2), N2)));
  return { hann, c1, s1, tc, ts, c2, s2, mel: melFilters() };
})();

/** |DFT|² of one windowed 400-sample frame, bins 0–200, into `power`. */
function powerSpectrum(frame: Float64Array, power: Float64Array, re: Float64Array, im: Float64Array): void {
  const { c1, s1, tc, ts, c2, s2 } = tables;
  for (let n2 = 0; n2 < N2; n2++) {
    for (let k1 = 0; k1 < N1; k1++) {
      let r = 0;
      let i = 0;
      const row = k1 * N1;
      for (let n1 = 0; n1 < N1; n1++) {
        const x = frame[N2 * n1 + n2] as number;
        r += x * (c1[row + n1] as number);
        i += x * (s1[row + n1] as number);
      }
      const t = n2 * N1 + k1;
      const wr = tc[t] as number;
      const wi = ts[t] as number;
      re[t] = r * wr - i * wi;
      im[t] = r * wi + i * wr;
    }
  }
  for (let k1 = 0; k1 < N1; k1++) {
    for (let k2 = 0; k1 + N1 * k2 < BINS; k2++) {
      let r = 0;
      let i = 0;
      const row = k2 * N2;
      for (let n2 = 0; n2 < N2; n2++) {
        const ar = re[n2 * N1 + k1] as number;
        const ai = im[n2 * N1 + k1] as number;
        const cr = c2[row + n2] as number;
        const ci = s2[row + n2] as number;
        r += ar * cr - ai * ci;
        i += ar * ci + ai * cr;
      }
      power[k1 + N1 * k2] = r * r + i * i;
    }
  }
}

/** Whisper's log-mel spectrogram of exactly 8 s at 16 kHz: [80 mels × 800 frames], mel-major. */
export function whisperLogMel(audio: Float32Array): Float32Array {
  if (audio.length !== SAMPLES) throw new Error(`expected ${SAMPLES} samples, got ${audio.length}`);
  let mean = 0;
  for (const x of audio) mean += x;
  mean /= SAMPLES;
  let variance = 0;
  for (const x of audio) variance += (x - mean) ** 2;
  const scale = 1 / Math.sqrt(variance / SAMPLES + 1e-7);
  const pad = N_FFT / 2;
  // Normalised, with numpy's reflect padding at both ends.
  const padded = new Float64Array(SAMPLES + 2 * pad);
  for (let j = 0; j < padded.length; j++) {
    const i = j < pad ? pad - j : j - pad >= SAMPLES ? 2 * SAMPLES - 2 - (j - pad) : j - pad;
    padded[j] = ((audio[i] as number) - mean) * scale;
  }
  // Frames that lie wholly in the leading silence (the zero padding of a short turn) are alike.
  let leading = 0;
  while (leading < SAMPLES && audio[leading] === 0) leading++;
  const out = new Float32Array(N_MELS * FRAMES);
  const frame = new Float64Array(N_FFT);
  const power = new Float64Array(BINS);
  const re = new Float64Array(N1 * N2);
  const im = new Float64Array(N1 * N2);
  const logs = new Float64Array(N_MELS);
  const { hann, mel } = tables;
  let max = -Infinity;
  for (let f = 0; f < FRAMES; f++) {
    const start = f * HOP;
    const silent = f > 0 && start >= pad && start + N_FFT <= pad + leading;
    if (!silent || f === 1 || start < pad) {
      for (let n = 0; n < N_FFT; n++) frame[n] = (padded[start + n] as number) * (hann[n] as number);
      powerSpectrum(frame, power, re, im);
      for (let m = 0; m < N_MELS; m++) {
        const { from, weights } = mel[m] as { from: number; weights: Float64Array };
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += (weights[k] as number) * (power[from + k] as number);
        logs[m] = Math.log10(Math.max(sum, 1e-10));
      }
    }
    for (let m = 0; m < N_MELS; m++) {
      const v = logs[m] as number;
      out[m * FRAMES + f] = v;
      if (v > max) max = v;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = (Math.max(out[i] as number, max - 8) + 4) / 4;
  return out;
}
