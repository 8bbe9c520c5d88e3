// RIFF/WAVE reading and writing for test material, benchmarks and synthesized speech. Reads the
// formats recorders and TTS tools actually produce (8/16/24/32-bit integer PCM, 32/64-bit float,
// plain or WAVE_FORMAT_EXTENSIBLE headers, any channel count) and down-mixes to mono Float32.

import { readFile } from 'node:fs/promises';
import { float32ToPcm16 } from './resample.ts';
import type { AudioChunk } from './speech.ts';

export interface WavAudio extends AudioChunk {
  /** Channels in the file; `samples` is always their mono mix. */
  channels: number;
}

const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

function sampleReader(view: DataView, format: number, bits: number): (at: number) => number {
  if (format === FLOAT && bits === 32) return (at) => view.getFloat32(at, true);
  if (format === FLOAT && bits === 64) return (at) => view.getFloat64(at, true);
  if (format === PCM && bits === 8) return (at) => (view.getUint8(at) - 128) / 128;
  if (format === PCM && bits === 16) return (at) => view.getInt16(at, true) / 32768;
  if (format === PCM && bits === 24) return (at) => ((view.getInt8(at + 2) << 16) | view.getUint16(at, true)) / 8388608;
  if (format === PCM && bits === 32) return (at) => view.getInt32(at, true) / 2147483648;
  throw new Error(`unsupported WAV sample format ${format} with ${bits} bits`);
}

export function decodeWav(bytes: Uint8Array): WavAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || fourcc(view, 0) !== 'RIFF' || fourcc(view, 8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
  let data: { at: number; size: number } | null = null;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = fourcc(view, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ' && size >= 16 && body + size <= bytes.length) {
      let format = view.getUint16(body, true);
      // The extensible header's sub-format GUID starts with the plain format code.
      if (format === EXTENSIBLE && size >= 40) format = view.getUint16(body + 24, true);
      fmt = { format, channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      // Streamed recordings leave the size at 0 or 0xffffffff; a truncated file ends early: read what is there.
      const available = bytes.length - body;
      data = { at: body, size: size === 0 || size > available ? available : size };
      if (fmt) break;
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw new Error('WAV file has no fmt chunk');
  if (!data) throw new Error('WAV file has no data chunk');
  if (fmt.channels < 1 || fmt.sampleRate < 1) throw new Error('WAV header has no channels or no sample rate');
  const read = sampleReader(view, fmt.format, fmt.bits);
  const width = fmt.bits / 8;
  const frame = width * fmt.channels;
  const frames = Math.floor(data.size / frame);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < fmt.channels; c++) sum += read(data.at + i * frame + c * width);
    samples[i] = sum / fmt.channels;
  }
  return { samples, sampleRate: fmt.sampleRate, channels: fmt.channels };
}

export async function readWavFile(path: string): Promise<WavAudio> {
  return decodeWav(await readFile(path));
}

/** Mono 16-bit PCM WAV, the format every player and STT tool accepts. */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  float32ToPcm16(samples).forEach((s, i) => view.setInt16(44 + i * 2, s, true));
  return bytes;
}
