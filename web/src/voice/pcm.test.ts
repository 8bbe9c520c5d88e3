import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base64ToBytes, bytesToBase64, float32ToPcm16, framesToMs, meterLevel, pcm16FromBytes, pcm16ToBytes, pcm16ToFloat32, rms } from './pcm.ts';

test('float ↔ pcm16: full scale without wrapping, clipping beyond it', () => {
  assert.deepEqual([...float32ToPcm16(Float32Array.of(0, 1, -1, 0.5, 2, -3, Number.NaN))], [0, 32767, -32768, 16384, 32767, -32768, 0]);
  const back = pcm16ToFloat32(Int16Array.of(0, 16384, -32768, 32767));
  assert.deepEqual([...back].map((v) => Math.round(v * 1000) / 1000), [0, 0.5, -1, 1]);
});

test('pcm16 bytes are little-endian both ways; an odd trailing byte is dropped', () => {
  const bytes = pcm16ToBytes(Int16Array.of(1, -2, 0x1234));
  assert.deepEqual([...bytes], [0x01, 0x00, 0xfe, 0xff, 0x34, 0x12]);
  assert.deepEqual([...pcm16FromBytes(bytes)], [1, -2, 0x1234]);
  assert.deepEqual([...pcm16FromBytes(Uint8Array.of(0x01, 0x00, 0x07))], [1]);
  // An unaligned view (a slice of a larger buffer) reads the same.
  const shifted = new Uint8Array(7);
  shifted.set(bytes, 1);
  assert.deepEqual([...pcm16FromBytes(shifted.subarray(1))], [1, -2, 0x1234]);
});

test('base64 round-trips a 100 ms frame and matches the platform encoder', () => {
  const frame = pcm16ToBytes(float32ToPcm16(Float32Array.from({ length: 2400 }, (_, i) => Math.sin(i / 7))));
  const encoded = bytesToBase64(frame);
  assert.equal(encoded, Buffer.from(frame).toString('base64'));
  assert.deepEqual(base64ToBytes(encoded), frame);
  const big = new Uint8Array(200_000).map((_, i) => i % 251);
  assert.deepEqual(base64ToBytes(bytesToBase64(big)), big, 'longer than one String.fromCharCode slice');
  assert.equal(bytesToBase64(new Uint8Array(0)), '');
});

test('the meter is logarithmic: silence is empty, full scale is full, -30 dB is half', () => {
  assert.equal(rms(new Float32Array(0)), 0);
  assert.equal(rms(Float32Array.of(0.5, -0.5)), 0.5);
  assert.equal(meterLevel(0), 0);
  assert.equal(meterLevel(1), 1);
  assert.equal(meterLevel(4), 1);
  assert.ok(Math.abs(meterLevel(10 ** (-30 / 20)) - 0.5) < 1e-9);
  assert.equal(meterLevel(1e-5), 0, 'below the floor');
  assert.equal(framesToMs(2400, 24_000), 100);
});
