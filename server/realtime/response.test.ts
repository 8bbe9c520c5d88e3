import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resample } from '../speech/resample.ts';
import { chunksAt } from './response.ts';

test('a sentence goes out in exact 100 ms chunks at the output rate, the same audio as a whole-buffer conversion', () => {
  const voice = Float32Array.from({ length: 22_050 * 2.35 }, (_, i) => 0.5 * Math.sin(i / 7));
  const chunks = [...chunksAt(voice, 22_050, 24_000)];
  assert.ok(chunks.slice(0, -1).every((c) => c.length === 2_400), chunks.map((c) => c.length).join(','));
  const joined = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (joined.set(c, at), at + c.length), 0);
  const whole = resample(voice, 22_050, 24_000);
  assert.equal(joined.length, whole.length);
  assert.ok(joined.every((x, i) => Math.abs(x - (whole[i] ?? NaN)) < 1e-6), 'streaming conversion equals the whole-buffer one');
  // Same rate: the audio is only cut.
  const same = [...chunksAt(voice.subarray(0, 24_000 * 0.25), 24_000, 24_000)].map((c) => c.length);
  assert.deepEqual(same, [2_400, 2_400, 1_200]);
});
