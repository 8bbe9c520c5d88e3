// Sample-format and sample-rate conversion for the speech pipeline. Clients send pcm16 at whatever
// rate their microphone runs (48 kHz browsers, 8 kHz telephony, 24 kHz realtime clients); the
// models want Float32 at 16 kHz. Linear interpolation would alias everything above 8 kHz straight
// into the speech band when downsampling 48 kHz, so this is a windowed-sinc polyphase resampler
// with exact phases for rational rate ratios. It streams: chunk boundaries leave no seams.

/** Little-endian pcm16 (raw bytes or samples) to Float32 in [-1, 1). */
export function pcm16ToFloat32(pcm: Uint8Array | Int16Array): Float32Array {
  const samples = pcm instanceof Int16Array ? pcm : new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + (pcm.byteLength & ~1)));
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i] ?? 0) / 32768;
  return out;
}

/** Float32 to pcm16, clipping out-of-range samples instead of letting them wrap. */
export function float32ToPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    out[i] = Math.max(-32768, Math.min(32767, Math.round((samples[i] ?? 0) * 32768)));
  }
  return out;
}

export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Converts the next piece of the stream; output lags input by the filter's half-width. */
  process(input: Float32Array): Float32Array;
  /** Ends the stream: returns the remaining output, as if followed by silence. */
  flush(): Float32Array;
}

/** Zero crossings of the sinc on each side of the centre: ~70 dB stop band with a Blackman window. */
const ZEROS = 16;
/** Beyond this many phases (awkward ratios such as 44 101 → 16 000) phases are quantised. */
const MAX_PHASES = 1024;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function createResampler(fromRate: number, toRate: number): Resampler {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
    throw new RangeError(`sample rates must be positive integers, got ${fromRate} → ${toRate}`);
  }
  const divisor = gcd(fromRate, toRate);
  // Output sample n sits at input position n·step/up.
  const up = toRate / divisor;
  const step = fromRate / divisor;
  const phases = Math.min(up, MAX_PHASES);
  // Cut off a little below the lower Nyquist so the transition band does not alias.
  const cutoff = Math.min(1, toRate / fromRate) * 0.94;
  const half = Math.ceil(ZEROS / cutoff);
  const taps = 2 * half;
  // Row p holds the taps for fractional offset p/phases, applied to inputs base-half+1 .. base+half.
  const kernel = new Float32Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const x = k - half + 1 - frac;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
      const w = (x + half) / (2 * half);
      const window = 0.42 - 0.5 * Math.cos(2 * Math.PI * w) + 0.08 * Math.cos(4 * Math.PI * w);
      const v = w <= 0 || w >= 1 ? 0 : sinc * window;
      kernel[p * taps + k] = v;
      sum += v;
    }
    // Unit DC gain in every phase, so a constant stays constant whatever the ratio.
    for (let k = 0; k < taps; k++) kernel[p * taps + k] = (kernel[p * taps + k] ?? 0) / sum;
  }

  // The history starts with half-1 zeros so the first output sample is centred on input 0.
  let history = new Float32Array(half - 1);
  /** Absolute input index of history[0]. */
  let historyStart = -(half - 1);
  let consumed = 0;
  let produced = 0;

  const run = (input: Float32Array, final: boolean): Float32Array => {
    // A flush reads up to `half` samples past the end: they are the zeros that follow the signal.
    const buffer = new Float32Array(history.length + input.length + (final ? half : 0));
    buffer.set(history);
    buffer.set(input, history.length);
    consumed += input.length;
    // When flushing, stop at the output that corresponds to the last real input sample.
    const limit = final ? Math.ceil((consumed * up) / step) : Infinity;
    const out = new Float32Array(Math.max(0, Math.ceil(((consumed + half) * up) / step) - produced));
    let n = 0;
    for (;;) {
      if (produced >= limit) break;
      const position = produced * step;
      const base = Math.floor(position / up);
      if (!final && base + half > consumed - 1) break;
      const phase = Math.floor(((position % up) * phases) / up);
      const row = phase * taps;
      const first = base - half + 1 - historyStart;
      let acc = 0;
      // The hot loop of every conversion: indices are in range by construction (see the break above).
      for (let k = 0; k < taps; k++) acc += buffer[first + k]! * kernel[row + k]!;
      out[n++] = acc;
      produced++;
    }
    const kept = history.length + input.length;
    const keepFrom = Math.max(0, Math.floor((produced * step) / up) - half + 1 - historyStart);
    history = buffer.slice(Math.min(keepFrom, kept), kept);
    historyStart += Math.min(keepFrom, kept);
    return out.slice(0, n);
  };

  return {
    fromRate,
    toRate,
    process: (input) => (fromRate === toRate ? input.slice() : run(input, false)),
    flush: () => (fromRate === toRate ? new Float32Array(0) : run(new Float32Array(0), true)),
  };
}

/** Whole-buffer conversion: same duration out as in. */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return samples.slice();
  const resampler = createResampler(fromRate, toRate);
  const head = resampler.process(samples);
  const tail = resampler.flush();
  const out = new Float32Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
