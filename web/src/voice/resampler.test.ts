import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createResampler, FrameChunker } from './resampler.ts';

const tone = (hz: number, rate: number, seconds: number, amplitude = 0.5) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, n) => amplitude * Math.sin((2 * Math.PI * hz * n) / rate));

/** Amplitude of `hz` in `x` (a single-bin DFT), from the middle of the signal so filter warm-up does not count. */
function amplitudeAt(x: Float32Array, rate: number, hz: number): number {
  const from = Math.floor(x.length / 4);
  const to = Math.floor((x.length * 3) / 4);
  let re = 0;
  let im = 0;
  for (let n = from; n < to; n++) {
    re += (x[n] ?? 0) * Math.cos((2 * Math.PI * hz * n) / rate);
    im -= (x[n] ?? 0) * Math.sin((2 * Math.PI * hz * n) / rate);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

/** Converts in blocks of `block` samples, as a worklet's render quanta do. */
function inBlocks(rs: ReturnType<typeof createResampler>, x: Float32Array, block: number): Float32Array {
  const parts: number[] = [];
  for (let at = 0; at < x.length; at += block) parts.push(...rs.process(x.subarray(at, at + block)));
  return Float32Array.from(parts);
}

for (const from of [48_000, 44_100, 16_000]) {
  test(`${from} Hz → 24 kHz keeps speech-band tones and the length, block by block as at once`, () => {
    const x = tone(440, from, 1);
    const whole = createResampler(from, 24_000).process(x);
    const blocked = inBlocks(createResampler(from, 24_000), x, 128);
    assert.ok(Math.abs(whole.length - 24_000) <= 2, `${whole.length} samples`);
    assert.equal(blocked.length, whole.length);
    for (let i = 0; i < whole.length; i++) assert.ok(Math.abs((whole[i] ?? 0) - (blocked[i] ?? 0)) < 1e-6, `sample ${i}`);
    assert.ok(Math.abs(amplitudeAt(whole, 24_000, 440) - 0.5) < 0.02, `440 Hz amplitude ${amplitudeAt(whole, 24_000, 440)}`);
  });
}

test('going down, what 24 kHz cannot hold is filtered rather than folded back', () => {
  // 20 kHz at 48 kHz would alias to 4 kHz at 24 kHz.
  const out = createResampler(48_000, 24_000).process(tone(20_000, 48_000, 1));
  assert.ok(amplitudeAt(out, 24_000, 4_000) < 0.05, `alias at 4 kHz: ${amplitudeAt(out, 24_000, 4_000)}`);
  const voice = createResampler(48_000, 24_000).process(tone(3_000, 48_000, 1));
  assert.ok(amplitudeAt(voice, 24_000, 3_000) > 0.45, 'speech band passes');
});

test('24 kHz → 48 kHz doubles the samples and keeps the tone; reset starts over', () => {
  const rs = createResampler(24_000, 48_000);
  const x = tone(1_000, 24_000, 0.5);
  const up = inBlocks(rs, x, 2400);
  assert.ok(Math.abs(up.length - 24_000) <= 2);
  assert.ok(Math.abs(amplitudeAt(up, 48_000, 1_000) - 0.5) < 0.02);
  rs.reset();
  assert.deepEqual(rs.process(x.subarray(0, 4)), createResampler(24_000, 48_000).process(x.subarray(0, 4)));
  assert.equal(rs.process(new Float32Array(0)).length, 0);
  assert.deepEqual(createResampler(24_000, 24_000).process(Float32Array.of(0.1, 0.2)), Float32Array.of(0.1, 0.2));
  assert.throws(() => createResampler(0, 24_000), RangeError);
});

test('frames are cut exactly, across pushes of any size', () => {
  const chunker = new FrameChunker(4);
  assert.deepEqual(chunker.push(Float32Array.of(1, 2, 3)), []);
  assert.equal(chunker.pending, 3);
  const frames = chunker.push(Float32Array.of(4, 5, 6, 7, 8, 9, 10));
  assert.deepEqual(frames.map((f) => [...f]), [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
  ]);
  assert.equal(chunker.pending, 2);
  chunker.reset();
  assert.deepEqual(chunker.push(Float32Array.of(11, 12, 13, 14)).map((f) => [...f]), [[11, 12, 13, 14]]);
  assert.throws(() => new FrameChunker(0), RangeError);
});
