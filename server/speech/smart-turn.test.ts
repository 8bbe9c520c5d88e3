import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FRAMES, lastSeconds, loadSmartTurnModel, turnModelPath, whisperLogMel } from './smart-turn.ts';
import { readWavFile } from './wav.ts';

const SPEECH = join(import.meta.dirname, '../../../shared/speech');
const skip = !existsSync(SPEECH) && `${SPEECH} is absent: these tests use its recordings`;
const MODEL = turnModelPath(join(import.meta.dirname, '../../models'));

describe('Whisper log-mel features', { skip }, () => {
  it('match transformers/pipecat feature extraction on a recording', async () => {
    const wav = await readWavFile(join(SPEECH, 'spk1_snt1.wav'));
    const features = whisperLogMel(lastSeconds(wav.samples));
    assert.equal(features.length, 80 * FRAMES);
    // Reference values from pipecat's numpy compute_whisper_log_mel_features on the same audio,
    // zero-padded at the front to 8 s: the leading padding, mel band 40's last frames, the mean.
    const near = (actual: number | undefined, expected: number) => assert.ok(Math.abs((actual ?? Number.NaN) - expected) < 1e-4, `${actual} ≠ ${expected}`);
    near(features[0], -0.08378446);
    const band40 = [0.590396, 1.2405839, 1.165709, 0.7066047, 0.9903994];
    band40.forEach((v, i) => near(features[40 * FRAMES + 795 + i], v));
    near(features.reduce((a, b) => a + b, 0) / features.length, 0.19105832);
  });

  it('keep the last 8 s, zero-padded at the front', () => {
    const short = lastSeconds(Float32Array.of(1, 2));
    assert.deepEqual([short.length, short.at(-2), short.at(-1), short[0]], [128_000, 1, 2, 0]);
    const long = lastSeconds(Float32Array.from({ length: 130_000 }, (_, i) => i));
    assert.deepEqual([long.length, long[0]], [128_000, 2_000]);
  });
});

describe('Smart Turn v3', { skip: skip || (!existsSync(MODEL) && `${MODEL} is absent (npm run models:turn)`) }, () => {
  it('hears a finished sentence as finished and half a sentence as not', async () => {
    const model = await loadSmartTurnModel(MODEL);
    try {
      const whole = await readWavFile(join(SPEECH, 'spk2_snt2.wav'));
      assert.ok((await model.complete(whole.samples)) > 0.8, '"What joy there is in living"');
      const half = await readWavFile(join(SPEECH, 'spk1_snt3.wav'));
      assert.ok((await model.complete(half.samples.subarray(0, Math.round(1.3 * half.sampleRate)))) < 0.2, '"At that high level…"');
    } finally {
      await model.close();
    }
  });
});
