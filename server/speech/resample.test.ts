import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createResampler, float32ToPcm16, pcm16ToFloat32, resample } from './resample.ts';

function tone(hz: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

/** RMS over the middle, away from the filter's start-up and tail. */
function rms(samples: Float32Array): number {
  const middle = samples.subarray(Math.floor(samples.length / 4), Math.floor((3 * samples.length) / 4));
  return Math.sqrt(middle.reduce((s, v) => s + v * v, 0) / middle.length);
}

test('pcm16 round-trips and clips instead of wrapping', () => {
  const pcm = Int16Array.from([0, 1, -1, 32767, -32768, 12345]);
  assert.deepEqual(float32ToPcm16(pcm16ToFloat32(pcm)), pcm);
  const bytes = new Uint8Array(pcm.buffer);
  assert.deepEqual(pcm16ToFloat32(bytes.subarray(2, 6)), Float32Array.from([1 / 32768, -1 / 32768]));
  assert.deepEqual(float32ToPcm16(Float32Array.from([1.5, -2, 0.5])), Int16Array.from([32767, -32768, 16384]));
});

test('downsampling keeps an in-band tone at its frequency and level', () => {
  for (const from of [48_000, 44_100, 24_000, 22_050]) {
    const out = resample(tone(440, from, 0.5), from, 16_000);
    assert.equal(out.length, 8000, `${from} Hz: length`);
    const expected = tone(440, 16_000, 0.5);
    const error = rms(out.map((v, i) => v - (expected[i] ?? 0)));
    assert.ok(error < 0.005, `${from} Hz: error ${error}`);
  }
});

test('downsampling removes content above the new Nyquist instead of aliasing it', () => {
  // 10 kHz at 48 kHz would fold to 6 kHz at 16 kHz; it must be filtered out.
  const out = resample(tone(10_000, 48_000, 0.5), 48_000, 16_000);
  assert.ok(rms(out) < 0.5 * 0.01, `aliased energy ${rms(out)}`);
});

test('upsampling interpolates a tone smoothly', () => {
  const out = resample(tone(1000, 8000, 0.25), 8000, 16_000);
  const expected = tone(1000, 16_000, 0.25);
  assert.equal(out.length, expected.length);
  assert.ok(rms(out.map((v, i) => v - (expected[i] ?? 0))) < 0.005);
});

test('streaming in uneven chunks gives exactly the one-shot result', () => {
  const input = tone(300, 24_000, 0.3).map((v, i) => v + 0.2 * Math.sin(i * 0.37));
  const whole = resample(input, 24_000, 16_000);
  const resampler = createResampler(24_000, 16_000);
  const parts: number[] = [];
  for (let at = 0, size = 1; at < input.length; at += size, size = (size * 7 + 3) % 997) {
    parts.push(...resampler.process(input.subarray(at, at + size)));
  }
  parts.push(...resampler.flush());
  assert.equal(parts.length, whole.length);
  parts.forEach((v, i) => assert.ok(Math.abs(v - (whole[i] ?? 0)) < 1e-6, `sample ${i}`));
});

test('same-rate conversion is a copy; bad rates are refused', () => {
  const input = Float32Array.from([0.1, 0.2]);
  const out = resample(input, 16_000, 16_000);
  assert.deepEqual(out, input);
  assert.notEqual(out, input);
  assert.throws(() => createResampler(0, 16_000), RangeError);
  assert.throws(() => createResampler(44_100.5, 16_000), RangeError);
});
