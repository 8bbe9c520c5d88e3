import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeWav, encodeWav, readWavFile } from './wav.ts';

const SPEECH = join(import.meta.dirname, '../../../shared/speech');

/** A WAV with an arbitrary fmt chunk, for formats encodeWav does not write. */
function wav(fmt: number[], data: Uint8Array, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const fmtBytes = new Uint8Array(fmt.length * 2);
  const fmtView = new DataView(fmtBytes.buffer);
  fmt.forEach((v, i) => fmtView.setUint16(i * 2, v, true));
  const chunk = (id: string, body: Uint8Array) => {
    const out = new Uint8Array(8 + body.length + (body.length & 1));
    out.set([...id].map((c) => c.charCodeAt(0)));
    new DataView(out.buffer).setUint32(4, body.length, true);
    out.set(body, 8);
    return out;
  };
  const parts = [new TextEncoder().encode('WAVE'), chunk('fmt ', fmtBytes), chunk('LIST', extra), chunk('data', data)];
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (body.set(p, at), at + p.length), 0);
  return chunk('RIFF', body);
}

/** fmt fields as 16-bit words: format, channels, rate (2 words), byte rate (2 words), block align, bits. */
function fmtWords(format: number, channels: number, rate: number, bits: number): number[] {
  const byteRate = (rate * channels * bits) / 8;
  return [format, channels, rate & 0xffff, rate >>> 16, byteRate & 0xffff, byteRate >>> 16, (channels * bits) / 8, bits];
}

test('encode then decode keeps mono pcm16 audio', () => {
  const samples = Float32Array.from([0, 0.5, -0.5, 0.25, -1]);
  const back = decodeWav(encodeWav(samples, 16_000));
  assert.equal(back.sampleRate, 16_000);
  assert.equal(back.channels, 1);
  back.samples.forEach((v, i) => assert.ok(Math.abs(v - (samples[i] ?? 0)) < 1 / 32000));
});

test('stereo float32 is mixed to mono, skipping unknown chunks', () => {
  const data = new Float32Array([0.5, 0.1, -0.2, -0.4]);
  const out = decodeWav(wav(fmtWords(3, 2, 44_100, 32), new Uint8Array(data.buffer), new Uint8Array(3)));
  assert.equal(out.sampleRate, 44_100);
  assert.equal(out.channels, 2);
  assert.deepEqual([...out.samples].map((v) => Math.round(v * 1000)), [300, -300]);
});

test('extensible 24-bit PCM is read through its sub-format', () => {
  const data = Uint8Array.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
  const fmt = [...fmtWords(0xfffe, 1, 48_000, 24), 22, 24, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
  assert.deepEqual([...decodeWav(wav(fmt, data)).samples], [0.5, -0.5]);
});

test('a truncated data chunk yields the samples present; garbage is refused', () => {
  const full = encodeWav(Float32Array.from([0.1, 0.2, 0.3, 0.4]), 8000);
  assert.equal(decodeWav(full.subarray(0, 44 + 5)).samples.length, 2);
  assert.throws(() => decodeWav(new TextEncoder().encode('not audio at all')), /RIFF/);
  assert.throws(() => decodeWav(wav(fmtWords(1, 1, 8000, 12), new Uint8Array(4))), /unsupported/);
  assert.throws(() => decodeWav(full.subarray(0, 36)), /data chunk/);
});

test('reads the shared recordings at their documented rates and durations', { skip: !existsSync(SPEECH) && `${SPEECH} is absent` }, async () => {
  const rows = readFileSync(join(SPEECH, 'transcripts.tsv'), 'utf8').trim().split('\n').slice(1).map((line) => line.split('\t'));
  assert.ok(rows.length >= 10);
  for (const [file, rate, channels, duration] of rows) {
    const audio = await readWavFile(join(SPEECH, file ?? ''));
    assert.equal(audio.sampleRate, Number(rate), `${file} rate`);
    assert.equal(audio.channels, Number(channels), `${file} channels`);
    assert.ok(Math.abs(audio.samples.length / audio.sampleRate - Number(duration)) < 0.01, `${file} duration`);
    assert.ok(audio.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0) > 0.05, `${file} has signal`);
  }
});
