// Streaming sample-rate conversion for the audio worklets: microphone audio at the device's rate
// down to 24 kHz, and the answer's 24 kHz speech up to the device's rate. Linear interpolation,
// with a low-pass in front when going down so that what cannot be represented at the lower rate
// does not fold back as noise into the band speech recognition listens to. State carries across
// blocks, so converting in 128-sample render quanta gives the same samples as converting at once.

export interface Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  process(input: Float32Array): Float32Array;
  /** Forgets the stream so far (a new utterance, a flushed queue). */
  reset(): void;
}

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
  z1: number;
  z2: number;
}

/** The RBJ cookbook low-pass, normalised. */
function lowpass(rate: number, cutoff: number, q: number): Biquad {
  const w0 = (2 * Math.PI * cutoff) / rate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  const a0 = 1 + alpha;
  return { b0: (1 - cos) / 2 / a0, b1: (1 - cos) / a0, b2: (1 - cos) / 2 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0, z1: 0, z2: 0 };
}

// The two sections of a fourth-order Butterworth: flat in the pass band, 24 dB/octave beyond.
const BUTTERWORTH_Q = [0.5412, 1.3066];

export function createResampler(fromRate: number, toRate: number): Resampler {
  if (!(fromRate > 0) || !(toRate > 0)) throw new RangeError(`bad sample rates ${fromRate} → ${toRate}`);
  const step = fromRate / toRate;
  const filters = () => (fromRate > toRate ? BUTTERWORTH_Q.map((q) => lowpass(fromRate, 0.45 * toRate, q)) : []);
  let sections = filters();
  // Where the next output sample falls, in input samples from the start of the next block; -1 is
  // the last sample of the previous block, kept in `previous`.
  let position = 0;
  let previous = 0;

  const filter = (input: Float32Array): Float32Array => {
    if (sections.length === 0) return input;
    const out = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      let x = input[i] ?? 0;
      for (const f of sections) {
        const y = f.b0 * x + f.z1;
        f.z1 = f.b1 * x - f.a1 * y + f.z2;
        f.z2 = f.b2 * x - f.a2 * y;
        x = y;
      }
      out[i] = x;
    }
    return out;
  };

  return {
    fromRate,
    toRate,
    process(input) {
      if (input.length === 0) return new Float32Array(0);
      if (fromRate === toRate) return input.slice();
      const x = filter(input);
      const last = x.length - 1;
      const out = new Float32Array(Math.max(0, Math.ceil((last - position) / step) + 1));
      let n = 0;
      for (;;) {
        const i = Math.floor(position);
        if (i + 1 > last) break;
        const a = i < 0 ? previous : (x[i] ?? 0);
        const b = x[i + 1] ?? 0;
        out[n++] = a + (position - i) * (b - a);
        position += step;
      }
      position -= x.length;
      previous = x[last] ?? 0;
      return n === out.length ? out : out.subarray(0, n);
    },
    reset() {
      sections = filters();
      position = 0;
      previous = 0;
    },
  };
}

/** Cuts a stream of samples into frames of exactly `size` samples. */
export class FrameChunker {
  readonly size: number;
  #frame: Float32Array;
  #filled = 0;

  constructor(size: number) {
    if (!(size > 0)) throw new RangeError(`bad frame size ${size}`);
    this.size = size;
    this.#frame = new Float32Array(size);
  }

  /** The frames completed by these samples; a partial frame waits for more. */
  push(samples: Float32Array): Float32Array[] {
    const frames: Float32Array[] = [];
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(this.size - this.#filled, samples.length - at);
      this.#frame.set(samples.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled === this.size) {
        frames.push(this.#frame);
        this.#frame = new Float32Array(this.size);
        this.#filled = 0;
      }
    }
    return frames;
  }

  /** Samples waiting in the partial frame. */
  get pending(): number {
    return this.#filled;
  }

  reset(): void {
    this.#filled = 0;
  }
}
