// espeak-ng: the voice that needs no model download. Robotic, but always there once the Debian
// package is installed, so the appliance can speak answers before anyone fetches a neural voice.
//
// The text goes to the child's stdin, never its argv, and no shell is involved: whatever a user
// types is only ever read by espeak-ng as text to speak. SSML (`-m`) stays off, so `<speak>` and
// friends are plain characters too.

import { spawn, type ChildProcess } from 'node:child_process';
import type { AudioChunk, TtsEngine } from './speech.ts';
import { decodeWav } from './wav.ts';

export interface EspeakOptions {
  /** espeak-ng voice name (`espeak-ng --voices` lists them). */
  voice?: string;
  /** Words per minute at speed 1. */
  speed?: number;
  binary?: string;
  /** A synthesis that takes longer is killed; a sentence takes tens of milliseconds. */
  timeoutMs?: number;
  /** Longer text is refused: callers split answers into sentences before speaking them. */
  maxChars?: number;
}

export interface EspeakProbe {
  engine: TtsEngine | null;
  /** Why `engine` is null, worded for an operator. */
  reason?: string;
}

const DEFAULT_VOICE = 'en-us';
const DEFAULT_WPM = 175;
// espeak-ng's own accepted range; outside it the speech is unintelligible or clamped anyway.
const MIN_WPM = 80;
const MAX_WPM = 450;
// Control characters can switch espeak-ng's embedded-command parsing on (Ctrl-A) or end input
// early; spoken text never needs them.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
// A sentence of speech at 22 kHz is well under a megabyte; this guards memory against a stuck child.
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

/** Spawns without a shell, feeds stdin, collects output; kills the child on abort or timeout. */
function run(
  binary: string,
  args: string[],
  input: string,
  options: { signal?: AbortSignal; timeoutMs: number; children: Set<ChildProcess> },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    options.children.add(child);
    const stdout: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: unknown;
    const fail = (error: unknown) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const onAbort = () => fail(options.signal?.reason);
    const timer = setTimeout(() => fail(new Error(`${binary} did not finish within ${options.timeoutMs} ms`)), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (data: Buffer) => {
      size += data.length;
      if (size > MAX_OUTPUT_BYTES) fail(new Error(`${binary} produced more than ${MAX_OUTPUT_BYTES} bytes`));
      else stdout.push(data);
    });
    child.stderr.on('data', (data: Buffer) => {
      if (stderr.length < 4096) stderr += data.toString();
    });
    // EPIPE when the child dies before reading all of stdin: the exit handler reports it.
    child.stdin.on('error', () => {});
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      options.children.delete(child);
      if (failure !== undefined) reject(failure);
      else resolve({ stdout: Buffer.concat(stdout), stderr: stderr.trim(), code });
    });
    child.stdin.end(input);
  });
}

/** Whether espeak-ng runs here and speaks the voice, and the engine if so. */
export async function probeEspeakTts(options: EspeakOptions = {}): Promise<EspeakProbe> {
  const binary = options.binary ?? 'espeak-ng';
  const voice = options.voice ?? DEFAULT_VOICE;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxChars = options.maxChars ?? 2000;
  const baseWpm = options.speed ?? DEFAULT_WPM;
  const children = new Set<ChildProcess>();
  const synthesizeRaw = async (text: string, extra: { signal?: AbortSignal; speed?: number } = {}): Promise<AudioChunk> => {
    const wpm = Math.round(Math.min(MAX_WPM, Math.max(MIN_WPM, baseWpm * (extra.speed ?? 1))));
    const result = await run(binary, ['--stdout', '-v', voice, '-s', String(wpm)], text, {
      signal: extra.signal,
      timeoutMs,
      children,
    });
    if (result.code !== 0) throw new Error(`${binary} failed (exit ${result.code}): ${result.stderr || 'no message'}`);
    // espeak-ng writes to a pipe and cannot seek back to fill in the sizes; decodeWav reads to the end.
    const { samples, sampleRate } = decodeWav(result.stdout);
    return { samples, sampleRate };
  };

  let sampleRate: number;
  try {
    // A one-word synthesis checks the binary, the voice and the output format in one go.
    ({ sampleRate } = await synthesizeRaw('ok'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `${binary} is not installed (apt-get install espeak-ng)`
        : `${binary} cannot speak voice "${voice}": ${(error as Error).message}`;
    return { engine: null, reason };
  }

  const engine: TtsEngine = {
    kind: 'espeak',
    voice: { id: `espeak-ng:${voice}`, language: voice.split(/[-+]/)[0] ?? voice, sampleRate },
    async synthesize(text, extra = {}) {
      extra.signal?.throwIfAborted();
      const clean = text.replace(CONTROL_CHARS, ' ').trim();
      if (clean.length > maxChars) {
        throw new RangeError(`text of ${clean.length} characters is longer than the ${maxChars} espeak-ng speaks at once`);
      }
      if (clean === '') return { samples: new Float32Array(0), sampleRate };
      return synthesizeRaw(clean, extra);
    },
    async close() {
      for (const child of children) child.kill('SIGKILL');
    },
  };
  return { engine };
}

export async function createEspeakTts(options: EspeakOptions = {}): Promise<TtsEngine | null> {
  return (await probeEspeakTts(options)).engine;
}
