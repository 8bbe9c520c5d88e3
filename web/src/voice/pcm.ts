// PCM helpers shared by the page and the audio worklets. The realtime protocol carries mono pcm16
// little-endian at 24 kHz, base64 in JSON; Web Audio works in Float32 at the device's rate.

/** The rate the console speaks to /v1/realtime in, both ways. */
export const VOICE_RATE = 24_000;
/** About 100 ms per input_audio_buffer.append, as docs/realtime.md recommends. */
export const FRAME_SAMPLES = VOICE_RATE / 10;

export function float32ToPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] ?? 0));
    // Asymmetric on purpose: -1 reaches -32768 and +1 reaches 32767 without wrapping.
    out[i] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
  }
  return out;
}

export function pcm16ToFloat32(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = (pcm[i] ?? 0) / 0x8000;
  return out;
}

/** Little-endian bytes → samples, whatever the platform's byte order; a trailing odd byte is dropped. */
export function pcm16FromBytes(bytes: Uint8Array): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int16Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

export function pcm16ToBytes(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i] ?? 0, true);
  return out;
}

// btoa/atob take "binary strings"; building one in slices keeps String.fromCharCode's argument
// list well under engines' limits for a 100 ms frame and far beyond.
const SLICE = 0x8000;

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += SLICE) binary += String.fromCharCode(...bytes.subarray(at, at + SLICE));
  return btoa(binary);
}

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Root mean square of a block, 0 for an empty one. */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

const FLOOR_DB = -60;

/** A level meter's fill (0–1) for an RMS: decibels, so a whisper shows as well as a shout. */
export function meterLevel(value: number): number {
  if (!(value > 0)) return 0;
  const db = 20 * Math.log10(value);
  return Math.max(0, Math.min(1, (db - FLOOR_DB) / -FLOOR_DB));
}

export const framesToMs = (frames: number, rate: number): number => Math.round((frames * 1000) / rate);
