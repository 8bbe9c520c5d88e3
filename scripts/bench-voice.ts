// Realtime voice benchmark: what a spoken turn costs through the real `/v1/realtime` socket of an
// in-process appliance, and how many sessions one box carries.
//
//   npm run bench:voice -- [--turns N] [--models-dir DIR] [--max-sessions N] [--only spoken|first-audio|turn-end] [--json]
//
// 1. Per-turn latency: WAVs from ../shared/speech streamed in real time (100 ms frames paced
//    by the wall clock, silence between turns, as a microphone would), from the end of speech to
//    speech_stopped, the transcript, the first text and the first audio of the answer.
// 2. Pipeline overhead: the part of end-of-speech → first audio not spent inside STT, the LLM or
//    TTS (from response.done's lectern_metrics), and the VAD's own inference per 100 ms frame.
// 3. Barge-in: speech streamed over an answer that is still arriving; from the frame holding the
//    speech onset to the last audio delta before the cancelled response.done.
// 4. Concurrency: sessions doing text turns at once, stepped 1, 2, 4, … until the p99 gap between
//    a response's consecutive events reaches 200 ms (or --max-sessions).
// 5. Memory per idle session: 50 idle sessions, held by a child process so that this process's
//    RSS and heap are the server's alone.
// 6. Spoken-answer length: "Who can develop breast cancer?" on the shared 76-page guide, spoken
//    by espeak-ng (or --models-dir's voice and LLM): seconds and characters said against the
//    written answer's. `--only spoken` runs this section alone.
// 7. First audio under load: 1, 8, 32 and 64 sessions each asking the guide a spoken question,
//    their starts spread over 2 s, audio paced at playback speed; response.create → first audio
//    p50/p99 with the first-sentence-first synthesis queue and without it (each sentence
//    synthesised as it comes). `--only first-audio` runs this section alone.
// 8. End of turn: every shared recording, and the Harvard sentences with a 1 s pause mid-sentence,
//    under server_vad and semantic_vad (each eagerness): end of speech → speech_stopped p50/p99 and
//    the turns cut off before the speaker finished. `--only turn-end` runs this section alone.
//
// Without --models-dir, tiny generated models (streaming CTC STT, VITS voice, random-weight GGUF)
// go into a temporary MODELS_DIR: the numbers then measure Lectern's own overhead, not real
// models. Apart from section 5 the client runs in the server's process, on the same cores.

import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { float32ToPcm16, resample } from '../server/speech/resample.ts';
import { TURN_MODEL_ID, turnModelPath } from '../server/speech/smart-turn.ts';
import { createSileroVad } from '../server/speech/vad.ts';
import { readWavFile } from '../server/speech/wav.ts';
import { writeTinyGguf } from '../test/fixtures/tiny-gguf.ts';
import { writeTinyStreamingCtcStt, writeTinyVitsTts } from '../test/fixtures/tiny-speech-models.ts';
import { setUp } from '../test/helpers/client.ts';
import { startTestServer } from '../test/helpers/server.ts';
import type { RealtimeLimits } from '../server/realtime/server.ts';
import { NO_RATE_LIMITS } from '../server/limits/testing.ts';

const SPEECH_DIR = path.resolve(import.meta.dirname, '../../shared/speech');
const GUIDE = path.resolve(import.meta.dirname, '../../shared/docs/pdf/cancer-council-understanding-breast-cancer-76p.pdf');
const GUIDE_QUESTION = 'Who can develop breast cancer?';
const GUIDE_QUESTIONS = [GUIDE_QUESTION, 'What are the symptoms of breast cancer?', 'What is a mastectomy?', 'What does radiation therapy involve?', 'What is hormone therapy?'];
const FIRST_AUDIO_SESSIONS = [1, 8, 32, 64];
const FIRST_AUDIO_SPREAD_MS = 2_000;
const RATE = 24_000;
const FRAME_MS = 100;
const FRAME_BYTES = ((RATE * FRAME_MS) / 1000) * 2;
/** The session's default turn detection, which speech_stopped waits out after the last word. */
const SILENCE_DURATION_MS = 600;
const OVERHEAD_GOAL_MS = 30;
const BARGE_IN_GOAL_MS = 150;
const EVENT_LATENCY_LIMIT_MS = 200;
const BARGE_IN_TRIALS = 5;
const CONCURRENT_TURNS = 2;
const IDLE_SESSIONS = 50;
const WAIT_MS = 30_000;

const DOCUMENTS = [
  {
    name: 'opening-hours.md',
    text: '# Opening hours\n\nThe clinic is open Monday to Friday from 8:00 to 18:00 and on Saturday from 9:00 to 12:00. It is closed on Sundays and public holidays.\n\nThe phone line opens at 7:30 for same-day appointments.',
  },
  {
    name: 'appointments.md',
    text: '# Appointments\n\nBook appointments by phone or at reception. Cancel at least 24 hours ahead; late cancellations are charged 30 euros.\n\nNew patients bring their insurance card and a list of current medicines.',
  },
];
const QUESTIONS = ['When is the clinic open on Saturday?', 'How much does a late cancellation cost?', 'What do new patients bring?', 'When does the phone line open?'];

// ---------------------------------------------------------------------------------------------
// Pure helpers (scripts/bench-voice.test.ts)

export interface Options {
  turns: number;
  modelsDir: string | null;
  maxSessions: number;
  /** Run one section alone. */
  only: 'spoken' | 'first-audio' | 'turn-end' | null;
  json: boolean;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { turns: { type: 'string' }, 'models-dir': { type: 'string' }, 'max-sessions': { type: 'string' }, only: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const count = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    turns: count('turns', values.turns, 10),
    modelsDir: values['models-dir'] ? path.resolve(values['models-dir']) : null,
    maxSessions: count('max-sessions', values['max-sessions'], 32),
    only: only(values.only),
    json: values.json ?? false,
  };
}

function only(raw: string | undefined): Options['only'] {
  if (raw === undefined) return null;
  if (raw !== 'spoken' && raw !== 'first-audio' && raw !== 'turn-end') throw new Error(`--only must be spoken, first-audio or turn-end, not ${JSON.stringify(raw)}`);
  return raw;
}

/** Nearest-rank percentile of the finite values; NaN when there are none. */
export function percentile(values: ReadonlyArray<number | null | undefined>, p: number): number {
  const sorted = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const rank = Math.min(Math.max(Math.ceil((p / 100) * sorted.length), 1), sorted.length);
  return sorted[rank - 1] ?? Number.NaN;
}

/** Milliseconds for a table cell; absent values (server metrics not reported) read "n/a". */
export function formatMs(value: number | null | undefined, digits = 0): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function markdownTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cell = (v: string | number) => String(v).replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [`| ${headers.map(cell).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** The session steps of the concurrency test: powers of two up to the cap, the cap itself last. */
export function sessionSteps(max: number): number[] {
  const steps: number[] = [];
  for (let n = 1; n < max; n *= 2) steps.push(n);
  steps.push(max);
  return steps;
}

/** Gaps between consecutive timestamps. */
export function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] ?? t));
}

// ---------------------------------------------------------------------------------------------
// The realtime client

type ServerEvent = Record<string, any>;
interface Stamped {
  at: number;
  index: number;
  event: ServerEvent;
}

/** A socket that stamps every server event with its arrival time and can wait for one. */
class RealtimeClient {
  readonly events: Stamped[] = [];
  readonly ws: WebSocket;
  #wake: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.events.push({ at: performance.now(), index: this.events.length, event: JSON.parse(String(data)) as ServerEvent });
      for (const wake of this.#wake.splice(0)) wake();
    });
  }

  static async open(url: string, key: string): Promise<RealtimeClient> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${key}` } });
    const client = new RealtimeClient(ws);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    if (!(await client.waitFor((e) => e['type'] === 'session.created', 0, WAIT_MS))) throw new Error('no session.created');
    return client;
  }

  get length(): number {
    return this.events.length;
  }

  send(event: ServerEvent): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(event));
  }

  /** The first event from `from` on that matches, or null after the timeout. */
  async waitFor(match: (e: ServerEvent) => boolean, from: number, timeoutMs: number): Promise<Stamped | null> {
    const end = performance.now() + timeoutMs;
    for (let at = from; ; ) {
      for (; at < this.events.length; at++) {
        const stamped = this.events[at];
        if (stamped && match(stamped.event)) return stamped;
      }
      const left = end - performance.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  find(match: (e: ServerEvent) => boolean, from = 0): Stamped | undefined {
    return this.events.slice(from).find((s) => match(s.event));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.ws.once('close', resolve));
    this.ws.close();
    await closed;
  }
}

/**
 * A microphone: one 100 ms frame every 100 ms of wall-clock time (on an absolute schedule, so late
 * timers do not accumulate drift), silence when nothing is queued. `sent[k]` is when frame k left.
 */
class PacedMicrophone {
  readonly sent: number[] = [];
  #queue: Buffer[] = [];
  #drained: Array<{ frame: number; resolve: () => void }> = [];
  #stopped = false;
  #loop: Promise<void> | null = null;
  readonly #client: RealtimeClient;

  constructor(client: RealtimeClient) {
    this.#client = client;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Queues audio; returns the index of its first frame and a promise for when its last is sent. */
  say(pcm: Buffer): { firstFrame: number; sent: Promise<void> } {
    const firstFrame = this.sent.length + this.#queue.length;
    for (let at = 0; at < pcm.length; at += FRAME_BYTES) {
      const frame = Buffer.alloc(FRAME_BYTES);
      pcm.copy(frame, 0, at, Math.min(at + FRAME_BYTES, pcm.length));
      this.#queue.push(frame);
    }
    const last = this.sent.length + this.#queue.length - 1;
    return { firstFrame, sent: new Promise((resolve) => this.#drained.push({ frame: last, resolve })) };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async #run(): Promise<void> {
    const silence = Buffer.alloc(FRAME_BYTES);
    const t0 = performance.now();
    for (let k = 0; !this.#stopped; k++) {
      const wait = t0 + k * FRAME_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.#stopped) break;
      const frame = this.#queue.shift() ?? silence;
      this.#client.send({ type: 'input_audio_buffer.append', audio: frame.toString('base64') });
      this.sent.push(performance.now());
      const index = this.sent.length - 1;
      this.#drained = this.#drained.filter((d) => (d.frame <= index ? (d.resolve(), false) : true));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Test material

interface Clip {
  file: string;
  reference: string;
  /** pcm16 at 24 kHz: lead silence, the recording, trailing silence. */
  pcm: Buffer;
  /** The VAD's own segmentation of the clip, in ms from its start: the first onset, the last end. */
  onsetMs: number;
  endMs: number;
  /** Turns the VAD alone hears in it with silence_duration_ms 600. */
  turns: number;
}

const LEAD_MS = 300;
const TAIL_MS = 1_000;

/**
 * Each WAV with lead and trailing silence, segmented by the VAD alone; recordings it hears as more
 * than one turn are left out. Timing every push gives the VAD's cost per 100 ms frame.
 */
/** The bench's knowledge base of clinic documents on a fresh server, and a viewer key to speak to it. */
async function clinic(base: string): Promise<{ owner: Awaited<ReturnType<typeof setUp>>['owner']; key: string; url: string }> {
  const { owner } = await setUp(base);
  const kbId = (await owner.post('/api/v1/kbs', { name: 'Clinic' })).json.id as string;
  await owner.upload(kbId, DOCUMENTS.map((d) => ({ name: d.name, bytes: d.text })));
  await owner.settle(kbId);
  const key = (await owner.post('/api/v1/api-keys', { name: 'bench', role: 'viewer' })).json.key as string;
  return { owner, key, url: `${base.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}` };
}

async function loadClips(): Promise<{ clips: Clip[]; all: Clip[]; leftOut: string[]; vadFrameMs: number[] }> {
  const rows = (await readFile(path.join(SPEECH_DIR, 'transcripts.tsv'), 'utf8')).trim().split('\n').slice(1).map((line) => line.split('\t'));
  const clips: Clip[] = [];
  const all: Clip[] = [];
  const leftOut: string[] = [];
  const vadFrameMs: number[] = [];
  for (const [file, , , , reference] of rows) {
    if (!file) continue;
    const wav = await readWavFile(path.join(SPEECH_DIR, file));
    const speech = resample(wav.samples, wav.sampleRate, RATE);
    const samples = new Float32Array(((LEAD_MS + TAIL_MS) * RATE) / 1000 + speech.length);
    samples.set(speech, (LEAD_MS * RATE) / 1000);
    const vad = await createSileroVad({ endOfSpeechMs: SILENCE_DURATION_MS });
    const events = [];
    const step = (RATE * FRAME_MS) / 1000;
    for (let at = 0; at < samples.length; at += step) {
      const started = performance.now();
      events.push(...(await vad.push({ samples: samples.subarray(at, at + step), sampleRate: RATE })));
      vadFrameMs.push(performance.now() - started);
    }
    await vad.close();
    const starts = events.filter((e) => e.type === 'speech_start');
    const ends = events.filter((e) => e.type === 'speech_end');
    const [start] = starts;
    const end = ends.at(-1);
    if (!start || !end) {
      leftOut.push(`${file} (no speech heard)`);
      continue;
    }
    const pcm = float32ToPcm16(samples);
    const clip = { file, reference: reference ?? '', pcm: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), onsetMs: start.atMs, endMs: end.atMs, turns: ends.length };
    all.push(clip);
    if (starts.length === 1 && ends.length === 1) clips.push(clip);
    else leftOut.push(`${file} (${ends.length} turns)`);
  }
  return { clips, all, leftOut, vadFrameMs };
}

async function tinyModels(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  await writeTinyGguf(path.join(dir, 'tiny.gguf'), { contextLength: 4096 });
  await writeTinyStreamingCtcStt(path.join(dir, 'bench-tiny-stt'));
  await writeFile(
    path.join(dir, 'bench-tiny-stt', 'lectern.json'),
    JSON.stringify({ id: 'bench-tiny-stt', role: 'stt', languages: ['en'], stt: { type: 'online-ctc', files: { model: 'model.onnx', tokens: 'tokens.txt' } } }),
  );
  await writeTinyVitsTts(path.join(dir, 'bench-tiny-voice'));
  await writeFile(
    path.join(dir, 'bench-tiny-voice', 'lectern.json'),
    JSON.stringify({ id: 'bench-tiny-voice', role: 'tts', languages: ['en'], tts: { type: 'vits', files: { model: 'model.onnx', tokens: 'tokens.txt' } } }),
  );
  return { MODELS_DIR: dir, LLM_MODEL: 'tiny.gguf', STT_MODEL: 'bench-tiny-stt', TTS_MODEL: 'bench-tiny-voice' };
}

// ---------------------------------------------------------------------------------------------
// 1 + 2: voice turns

interface LecternMetrics {
  speech_end_to_transcript_ms?: number | null;
  speech_end_to_first_token_ms?: number | null;
  speech_end_to_first_audio_ms?: number | null;
  stt_ms?: number | null;
  first_token_ms?: number | null;
  tts_first_sentence_ms?: number | null;
  tts_ms?: number | null;
}

interface Turn {
  clip: string;
  transcript: string | null;
  status: string;
  /** Server's speech end minus the reference's, in ms of audio: a check that both see the same turn. */
  endDriftMs: number | null;
  startDriftMs: number | null;
  toStopped: number | null;
  toTranscript: number | null;
  toFirstText: number | null;
  toFirstAudio: number | null;
  /** speech_stopped → first audio delta, as the client saw it. */
  stoppedToFirstAudio: number | null;
  metrics: LecternMetrics | null;
}

const since = (from: number, stamped: Stamped | null | undefined) => (stamped ? stamped.at - from : null);

async function voiceTurns(url: string, key: string, clips: Clip[], turns: number): Promise<Turn[]> {
  const client = await RealtimeClient.open(url, key);
  // The fixed timeout, whatever the default: the tiny recogniser's "a"s are no words to judge (section 8 compares).
  const updated = client.length;
  client.send({ type: 'session.update', session: { audio: { input: { turn_detection: { type: 'server_vad' } } } } });
  await client.waitFor((e) => e['type'] === 'session.updated', updated, WAIT_MS);
  const mic = new PacedMicrophone(client);
  mic.start();
  const results: Turn[] = [];
  try {
    for (let i = 0; i < turns; i++) {
      const clip = clips[i % clips.length] as Clip;
      const from = client.length;
      const { firstFrame } = mic.say(clip.pcm);
      const endFrame = firstFrame + Math.floor(clip.endMs / FRAME_MS);
      const turn: Turn = { clip: clip.file, transcript: null, status: 'no speech_stopped', endDriftMs: null, startDriftMs: null, toStopped: null, toTranscript: null, toFirstText: null, toFirstAudio: null, stoppedToFirstAudio: null, metrics: null };
      results.push(turn);
      const stopped = await client.waitFor((e) => e['type'] === 'input_audio_buffer.speech_stopped', from, WAIT_MS + clip.pcm.length / 48);
      // The frame holding the end of speech left the client at sent[endFrame]: it has by now.
      const endAt = mic.sent[endFrame];
      if (!stopped || endAt === undefined) continue;
      turn.endDriftMs = stopped.event['audio_end_ms'] - (firstFrame * FRAME_MS + clip.endMs);
      const startedEv = client.find((e) => e['type'] === 'input_audio_buffer.speech_started', from);
      turn.startDriftMs = startedEv ? startedEv.event['audio_start_ms'] - (firstFrame * FRAME_MS + clip.onsetMs) : null;
      turn.toStopped = stopped.at - endAt;
      const item = stopped.event['item_id'];
      const transcribed = await client.waitFor((e) => (e['type'] === 'conversation.item.input_audio_transcription.completed' && e['item_id'] === item) || e['type'] === 'error', stopped.index, WAIT_MS);
      if (transcribed?.event['type'] !== 'conversation.item.input_audio_transcription.completed') {
        turn.status = transcribed ? `error ${transcribed.event['error']?.code}` : 'no transcript';
        continue;
      }
      turn.transcript = transcribed.event['transcript'];
      turn.toTranscript = transcribed.at - endAt;
      if (!turn.transcript) {
        turn.status = 'empty transcript';
        continue;
      }
      const created = await client.waitFor((e) => e['type'] === 'response.created', transcribed.index, WAIT_MS);
      const id = created?.event['response']?.id;
      // The rest of a spoken answer is real-time playback (the server paces it): once the first
      // audio is in, cancelling ends the turn without changing anything measured.
      const audible = created && (await client.waitFor((e) => (e['type'] === 'response.output_audio.delta' && e['response_id'] === id) || (e['type'] === 'response.done' && e['response']?.id === id), created.index, WAIT_MS * 2));
      if (audible?.event['type'] === 'response.output_audio.delta') client.send({ type: 'response.cancel' });
      const done = created && (await client.waitFor((e) => e['type'] === 'response.done' && e['response']?.id === id, created.index, WAIT_MS * 2));
      if (!created || !done) {
        turn.status = 'no response.done';
        continue;
      }
      turn.status = done.event['response'].status;
      const firstText = client.find((e) => e['type'] === 'response.output_text.delta' && e['response_id'] === id, created.index);
      const firstAudio = client.find((e) => e['type'] === 'response.output_audio.delta' && e['response_id'] === id, created.index);
      turn.toFirstText = since(endAt, firstText);
      turn.toFirstAudio = since(endAt, firstAudio);
      turn.stoppedToFirstAudio = since(stopped.at, firstAudio);
      turn.metrics = (done.event['response']?.metadata?.lectern_metrics as LecternMetrics | undefined) ?? null;
    }
  } finally {
    await mic.stop();
    await client.close();
  }
  return results;
}

/** `total` minus the parts, or null when any is missing. */
function diff(total: number | null | undefined, ...parts: Array<number | null | undefined>): number | null {
  if (typeof total !== 'number' || parts.some((p) => typeof p !== 'number')) return null;
  return parts.reduce<number>((left, p) => left - (p ?? 0), total);
}

/** The time of a turn spent outside model inference, when the server reports its parts. */
const overhead = (total: number | null | undefined, m: LecternMetrics | null) => diff(total, m?.stt_ms, m?.first_token_ms, m?.tts_first_sentence_ms);

// ---------------------------------------------------------------------------------------------
// 8: end of turn, server_vad against semantic_vad

/** A pause inserted mid-sentence: longer than server_vad's 600 ms, as a speaker searching for a word. */
const MID_PAUSE_MS = 1_000;
/** A speech_stopped this much (ms of audio) before the clip's last speech end ended a turn the speaker had not finished. */
const CUT_TOLERANCE_MS = 200;
const TURN_END_GOAL_MS = 300;

interface TurnEnd {
  clip: string;
  /** end of speech (the frame holding it sent) → the speech_stopped that ended the clip's turn. */
  toStopped: number | null;
  /** speech_stopped events during the clip before the speaker had finished. */
  cutOff: number;
  /** Where (ms into the clip) the early stops were. */
  cutAtMs: number[];
}

export interface TurnEndRun {
  detection: string;
  ends: TurnEnd[];
}

/** The clip with MID_PAUSE_MS of silence at its quietest 40 ms between 35 % and 65 % of its speech. */
function withMidPause(clip: Clip): Clip {
  const ms = (t: number) => Math.round((t * RATE) / 1000) * 2;
  const window = ms(40);
  const from = ms(clip.onsetMs + 0.35 * (clip.endMs - clip.onsetMs));
  const to = ms(clip.onsetMs + 0.65 * (clip.endMs - clip.onsetMs));
  let best = from;
  let bestEnergy = Infinity;
  for (let at = from; at + window <= to; at += ms(10)) {
    let energy = 0;
    for (let i = at; i < at + window; i += 2) energy += clip.pcm.readInt16LE(i) ** 2;
    if (energy < bestEnergy) [best, bestEnergy] = [at + window / 2 - ((window / 2) % 2), energy];
  }
  const pcm = Buffer.concat([clip.pcm.subarray(0, best), Buffer.alloc(ms(MID_PAUSE_MS)), clip.pcm.subarray(best)]);
  return { ...clip, file: `${clip.file} + ${MID_PAUSE_MS / 1000} s pause mid-sentence`, pcm, endMs: clip.endMs + MID_PAUSE_MS };
}

/** Each clip spoken into one session with the given turn detection: when its turn ends, and whether it ended early. */
async function turnEndRun(url: string, key: string, clips: Clip[], detection: Record<string, unknown>): Promise<TurnEnd[]> {
  const client = await RealtimeClient.open(url, key);
  const updated = client.length;
  // Text answers: what is measured ends before the answer starts.
  client.send({ type: 'session.update', session: { output_modalities: ['text'], audio: { input: { turn_detection: detection } } } });
  if (!(await client.waitFor((e) => e['type'] === 'session.updated', updated, WAIT_MS))) throw new Error('no session.updated');
  const mic = new PacedMicrophone(client);
  mic.start();
  const ends: TurnEnd[] = [];
  try {
    for (const clip of clips) {
      const from = client.length;
      const { firstFrame, sent } = mic.say(clip.pcm);
      const clipStartMs = firstFrame * FRAME_MS;
      const finalEndMs = clipStartMs + clip.endMs;
      const stops = (e: ServerEvent) => e['type'] === 'input_audio_buffer.speech_stopped';
      const last = await client.waitFor((e) => stops(e) && e['audio_end_ms'] >= finalEndMs - CUT_TOLERANCE_MS, from, WAIT_MS + clip.pcm.length / 48);
      await sent;
      const endAt = mic.sent[firstFrame + Math.floor(clip.endMs / FRAME_MS)];
      const early = client.events.slice(from, last?.index ?? client.length).filter((s) => stops(s.event) && s.event['audio_end_ms'] < finalEndMs - CUT_TOLERANCE_MS);
      ends.push({ clip: clip.file, toStopped: last && endAt !== undefined ? last.at - endAt : null, cutOff: early.length, cutAtMs: early.map((s) => s.event['audio_end_ms'] - clipStartMs) });
      // Let the answer to the turn start and the session settle before the next clip.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await mic.stop();
    await client.close();
  }
  return ends;
}

const TURN_DETECTIONS: Array<{ name: string; detection: Record<string, unknown> }> = [
  { name: 'server_vad (600 ms)', detection: { type: 'server_vad' } },
  { name: 'semantic_vad auto (medium)', detection: { type: 'semantic_vad', eagerness: 'auto' } },
  { name: 'semantic_vad high', detection: { type: 'semantic_vad', eagerness: 'high' } },
  { name: 'semantic_vad low', detection: { type: 'semantic_vad', eagerness: 'low' } },
];

/** Section 8, on an appliance of its own with the turn model when it is installed. */
async function turnEnds(options: Options): Promise<{ models: string; clips: string[]; runs: TurnEndRun[] }> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'lectern-bench-turns-'));
  const env: Record<string, string> = { LOG_LEVEL: 'warn', ...NO_RATE_LIMITS };
  let models: string;
  if (options.modelsDir) {
    env['MODELS_DIR'] = options.modelsDir;
    for (const name of ['LLM_MODEL', 'STT_MODEL', 'TTS_MODEL', 'LLM_THREADS']) if (process.env[name]) env[name] = process.env[name];
    models = `models from ${options.modelsDir}`;
  } else {
    const dir = path.join(scratch, 'models');
    Object.assign(env, await tinyModels(dir));
    // The tiny recogniser hears speech as "a"s: words it does not have would only mislead the judge.
    env['STT_MODEL'] = 'off';
    models = 'no recogniser (the tiny one hears "a"s, not words), so pauses are judged by the turn model alone';
    // The turn model, when `npm run models:turn` has put it in ./models.
    const turnModel = turnModelPath(path.resolve(import.meta.dirname, '../models'));
    if (existsSync(turnModel)) {
      await mkdir(path.dirname(turnModelPath(dir)), { recursive: true });
      await copyFile(turnModel, turnModelPath(dir));
    }
  }
  const turnModel = existsSync(turnModelPath(env['MODELS_DIR'] as string));
  models += turnModel ? `; turn model ${TURN_MODEL_ID}` : '; NO TURN MODEL (npm run models:turn): semantic_vad judges by words alone';
  const server = await startTestServer({ env, dataDir: path.join(scratch, 'data') });
  try {
    const { key, url } = await clinic(server.url);
    const { all } = await loadClips();
    // Harvard sentences (one speaker's breath each) also with a pause in their middle.
    const clips = [...all, ...all.filter((c) => c.file.startsWith('spk')).map(withMidPause)];
    const runs: TurnEndRun[] = [];
    for (const { name, detection } of TURN_DETECTIONS) {
      progress(`turn end: ${name}`);
      runs.push({ detection: name, ends: await turnEndRun(url, key, clips, detection) });
    }
    return { models, clips: clips.map((c) => c.file), runs };
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

function printTurnEnds(print: (text?: string) => void, result: Awaited<ReturnType<typeof turnEnds>>): void {
  print('## 8. End of turn: server_vad against semantic_vad\n');
  print(
    `Each recording of ${SPEECH_DIR} (lead and ${TAIL_MS} ms trailing silence), then each Harvard sentence again with ${MID_PAUSE_MS} ms of silence inserted at its quietest point between 35 % and 65 % of its speech (a speaker pausing mid-sentence), ` +
      `streamed in real time into one session per turn detection (${result.models}). "End" is when the frame holding the clip's last speech end (the VAD's own segmentation) was sent; ` +
      `a turn is **cut off** when speech_stopped came more than ${CUT_TOLERANCE_MS} ms of audio before that end. Goal: semantic_vad p50 ≤ ${TURN_END_GOAL_MS} ms with none cut off.\n`,
  );
  const rows = result.runs.map((run) => {
    const whole = run.ends.filter((e) => !e.clip.includes('mid-sentence'));
    const paused = run.ends.filter((e) => e.clip.includes('mid-sentence'));
    const times = run.ends.map((e) => e.toStopped);
    return [
      run.detection,
      formatMs(percentile(whole.map((e) => e.toStopped), 50)),
      formatMs(percentile(whole.map((e) => e.toStopped), 99)),
      formatMs(percentile(times, 50)),
      formatMs(percentile(times, 99)),
      `${whole.filter((e) => e.cutOff).length} / ${whole.length}`,
      `${paused.filter((e) => e.cutOff).length} / ${paused.length}`,
      run.ends.filter((e) => e.toStopped === null).length,
    ];
  });
  print(markdownTable(['turn detection', 'recordings: end → speech_stopped p50 ms', 'p99 ms', 'all clips p50 ms', 'all clips p99 ms', 'recordings cut off', 'mid-sentence pauses cut off', 'no end seen'], rows));
  print('\nPer clip (end → speech_stopped ms; ✂ marks a turn cut off, at ms into the clip):\n');
  print(
    markdownTable(
      ['clip', ...result.runs.map((r) => r.detection)],
      result.clips.map((clip, i) => [clip, ...result.runs.map((r) => { const e = r.ends[i]; return e ? `${formatMs(e.toStopped)}${e.cutOff ? ` ✂ ${e.cutAtMs.map((t) => Math.round(t)).join(', ')}` : ''}` : 'n/a'; })]),
    ),
  );
  print();
}

// ---------------------------------------------------------------------------------------------
// 3: barge-in

interface BargeIn {
  outcome: string;
  onsetToLastAudio: number | null;
  onsetToSpeechStarted: number | null;
  onsetToResponseDone: number | null;
  /** Audio deltas that arrived after the onset frame was sent. */
  deltasAfterOnset: number;
}

async function bargeIn(url: string, key: string, clip: Clip, question: string): Promise<BargeIn> {
  const client = await RealtimeClient.open(url, key);
  const mic = new PacedMicrophone(client);
  mic.start();
  try {
    client.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: question }] } });
    client.send({ type: 'response.create' });
    const firstAudio = await client.waitFor((e) => e['type'] === 'response.output_audio.delta', 0, WAIT_MS);
    const result: BargeIn = { outcome: 'no audio', onsetToLastAudio: null, onsetToSpeechStarted: null, onsetToResponseDone: null, deltasAfterOnset: 0 };
    if (!firstAudio) return result;
    const id = firstAudio.event['response_id'];
    // Speak as soon as the answer starts playing.
    const { firstFrame } = mic.say(clip.pcm);
    const onsetFrame = firstFrame + Math.floor(clip.onsetMs / FRAME_MS);
    const done = await client.waitFor((e) => e['type'] === 'response.done' && e['response']?.id === id, firstAudio.index, WAIT_MS);
    // The onset frame may still be queued when the answer ends by itself.
    const started = await client.waitFor((e) => e['type'] === 'input_audio_buffer.speech_started', firstAudio.index, 5_000);
    const onsetAt = mic.sent[onsetFrame];
    if (!done) return { ...result, outcome: 'no response.done' };
    const status = done.event['response'].status as string;
    if (onsetAt === undefined) return { ...result, outcome: `${status} before the onset was sent` };
    const deltas = client.events.filter((s) => s.index < done.index && s.event['type'] === 'response.output_audio.delta' && s.event['response_id'] === id);
    const last = deltas.at(-1);
    return {
      outcome: status === 'cancelled' ? 'cancelled' : `${status} (not interrupted)`,
      onsetToLastAudio: since(onsetAt, last),
      onsetToSpeechStarted: since(onsetAt, started),
      onsetToResponseDone: since(onsetAt, done),
      deltasAfterOnset: deltas.filter((s) => s.at > onsetAt).length,
    };
  } finally {
    await mic.stop();
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 4: concurrency

interface Step {
  sessions: number;
  responses: number;
  notCompleted: number;
  /** Completed answers the LLM wrote no token of: the extractive fallback (e.g. the LLM queue was full). */
  extractive: number;
  gapP50: number;
  gapP99: number;
  gapMax: number;
  createdP99: number;
  firstDeltaP50: number;
  firstDeltaP99: number;
  turnP50: number;
  loopDelayP99: number;
  sustained: boolean;
}

async function concurrencyStep(url: string, key: string, sessions: number, llm: boolean): Promise<Step> {
  const clients = await Promise.all(
    Array.from({ length: sessions }, async () => {
      const client = await RealtimeClient.open(url, key);
      // Text only: a spoken answer's events are paced at playback speed, which would measure its length.
      const from = client.length;
      client.send({ type: 'session.update', session: { output_modalities: ['text'] } });
      await client.waitFor((e) => e['type'] === 'session.updated', from, WAIT_MS);
      return client;
    }),
  );
  const eventGaps: number[] = [];
  const toCreated: number[] = [];
  const toFirstDelta: number[] = [];
  const turnMs: number[] = [];
  let notCompleted = 0;
  let extractive = 0;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  try {
    await Promise.all(
      clients.map(async (client, s) => {
        for (let t = 0; t < CONCURRENT_TURNS; t++) {
          const from = client.length;
          const asked = performance.now();
          const text = QUESTIONS[(s + t) % QUESTIONS.length] as string;
          client.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
          client.send({ type: 'response.create' });
          const created = await client.waitFor((e) => e['type'] === 'response.created', from, WAIT_MS);
          const id = created?.event['response']?.id;
          const done = created && (await client.waitFor((e) => e['type'] === 'response.done' && e['response']?.id === id, created.index, WAIT_MS * 2));
          if (!created || !done) {
            notCompleted++;
            continue;
          }
          if (done.event['response'].status !== 'completed') notCompleted++;
          else if (!(done.event['response'].usage?.output_tokens > 0)) extractive++;
          toCreated.push(created.at - asked);
          turnMs.push(done.at - asked);
          const own = client.events.slice(created.index, done.index + 1).filter((x) => x.event['response_id'] === id || x.event['response']?.id === id);
          eventGaps.push(...gaps(own.map((x) => x.at)));
          const first = own.find((x) => x.event['type'] === 'response.output_text.delta');
          if (first) toFirstDelta.push(first.at - asked);
        }
      }),
    );
  } finally {
    delay.disable();
    await Promise.all(clients.map((c) => c.close()));
  }
  const gapP99 = percentile(eventGaps, 99);
  return {
    sessions,
    responses: sessions * CONCURRENT_TURNS,
    notCompleted,
    extractive,
    gapP50: percentile(eventGaps, 50),
    gapP99,
    gapMax: percentile(eventGaps, 100),
    createdP99: percentile(toCreated, 99),
    firstDeltaP50: percentile(toFirstDelta, 50),
    firstDeltaP99: percentile(toFirstDelta, 99),
    turnP50: percentile(turnMs, 50),
    loopDelayP99: delay.percentile(99) / 1e6,
    // Answers the LLM turned away are not carried, however quick their events.
    sustained: gapP99 < EVENT_LATENCY_LIMIT_MS && notCompleted === 0 && (!llm || extractive === 0),
  };
}

// ---------------------------------------------------------------------------------------------
// 5: memory per idle session

/** A child process holding idle sessions, so they cost the server, not this process's client. */
async function runIdleClients(): Promise<void> {
  const clients: RealtimeClient[] = [];
  process.on('message', async (message: { url: string; key: string; count: number } | 'close') => {
    if (message === 'close') {
      await Promise.all(clients.map((c) => c.close()));
      process.send?.('closed', () => process.exit(0));
      return;
    }
    for (let i = 0; i < message.count; i++) clients.push(await RealtimeClient.open(message.url, message.key));
    process.send?.('ready');
  });
}

function exposeGc(): { gc: (() => void) | null; how: string } {
  if (typeof globalThis.gc === 'function') {
    const gc = globalThis.gc;
    return { gc: () => void gc(), how: 'global.gc (--expose-gc)' };
  }
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    return { gc, how: 'gc exposed at run time (v8.setFlagsFromString)' };
  } catch {
    return { gc: null, how: 'no gc available: the numbers include garbage not yet collected' };
  }
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

async function settledMemory(gc: (() => void) | null): Promise<Memory> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    gc?.();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

async function idleSessionMemory(url: string, key: string, count: number) {
  const { gc, how } = exposeGc();
  const child = fork(new URL(import.meta.url), [], { env: { ...process.env, BENCH_VOICE_ROLE: 'idle-clients' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reply = () => new Promise<unknown>((resolve, reject) => (child.once('message', resolve), child.once('exit', (code) => reject(new Error(`idle clients exited with ${code}`)))));
  try {
    const before = await settledMemory(gc);
    child.send({ url, key, count });
    await reply();
    const open = await settledMemory(gc);
    child.send('close');
    await reply();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await settledMemory(gc);
    return { count, gc: how, before, open, after };
  } finally {
    child.kill();
  }
}

// ---------------------------------------------------------------------------------------------

/** Where the run is, on stderr: stdout is the report. */
const progress = (what: string) => process.stderr.write(`bench:voice ${(performance.now() / 1000).toFixed(0)} s: ${what}\n`);

interface SpokenLength {
  question: string;
  mode: string;
  voice: string | null;
  audioSeconds: number;
  charactersSaid: number;
  writtenCharacters: number;
  transcript: string;
}

/** An appliance of its own holding the shared guide, with espeak-ng as the voice (or --models-dir's voice and LLM). */
async function guideAppliance<T>(options: Options, realtime: Partial<RealtimeLimits>, use: (g: { url: string; key: string; owner: Awaited<ReturnType<typeof setUp>>['owner'] }) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'lectern-bench-guide-'));
  const env: Record<string, string> = { LOG_LEVEL: 'warn', REALTIME_MAX_SESSIONS: String(Math.max(...FIRST_AUDIO_SESSIONS) + 8), ...NO_RATE_LIMITS };
  if (options.modelsDir) {
    env['MODELS_DIR'] = options.modelsDir;
    for (const name of ['LLM_MODEL', 'TTS_MODEL', 'LLM_THREADS']) if (process.env[name]) env[name] = process.env[name];
  }
  const server = await startTestServer({ env, dataDir: path.join(scratch, 'data'), realtime });
  try {
    const { owner } = await setUp(server.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Guides' })).json.id as string;
    await owner.upload(kbId, [{ name: path.basename(GUIDE), bytes: await readFile(GUIDE), type: 'application/pdf' }]);
    await owner.settle(kbId, 300_000);
    const key = (await owner.post('/api/v1/api-keys', { name: 'bench', role: 'viewer' })).json.key as string;
    return await use({ url: `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`, key, owner });
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Section 6: how long the spoken answer to GUIDE_QUESTION is. */
function spokenAnswerLength(options: Options): Promise<SpokenLength> {
  return guideAppliance(options, { audioLeadMs: 600_000 }, async ({ url, key, owner }) => {
    const client = await RealtimeClient.open(url, key);
    client.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: GUIDE_QUESTION }] } });
    client.send({ type: 'response.create' });
    const done = await client.waitFor((e) => e['type'] === 'response.done', 0, WAIT_MS * 4);
    await client.close();
    if (!done) throw new Error('the spoken answer got no response.done');
    const pick = (type: string, field: string) => String(client.find((e) => e['type'] === type)?.event[field] ?? '');
    const metrics = done.event['response']?.metadata?.lectern_metrics;
    const conversationId = done.event['response']?.metadata?.lectern_conversation_id as string;
    const messages = (await owner.get(`/api/v1/conversations/${conversationId}`)).json.messages as Array<Record<string, any>>;
    const session = client.find((e) => e['type'] === 'session.created')?.event['session'];
    return {
      question: GUIDE_QUESTION,
      mode: String(messages.at(-1)?.['mode'] ?? 'unknown'),
      voice: (session?.audio?.output?.voice as string | null) ?? null,
      audioSeconds: Number(metrics?.audio_out_seconds ?? NaN),
      charactersSaid: Number(metrics?.characters_synthesised ?? NaN),
      writtenCharacters: pick('response.output_text.done', 'text').length,
      transcript: pick('response.output_audio_transcript.done', 'transcript'),
    };
  });
}

interface FirstAudioStep {
  sessions: number;
  queue: 'first sentence first' | 'as they come';
  answered: number;
  p50: number;
  p99: number;
  /** From lectern_metrics: response start → first text (the answer), and the first sentence's synthesis, its wait in the queue included. */
  firstTextP50: number;
  synthesisP50: number;
  synthesisP99: number;
}

/** One step of section 7: `sessions` spoken questions starting within FIRST_AUDIO_SPREAD_MS; response.create → first audio of each. */
async function firstAudioStep(url: string, key: string, sessions: number): Promise<Array<{ firstAudioMs: number; firstTextMs: number | null; synthesisMs: number | null }>> {
  const clients = await Promise.all(Array.from({ length: sessions }, () => RealtimeClient.open(url, key)));
  const firstAudio = await Promise.all(
    clients.map(async (client, i) => {
      await new Promise((resolve) => setTimeout(resolve, sessions === 1 ? 0 : (FIRST_AUDIO_SPREAD_MS * i) / (sessions - 1)));
      const from = client.length;
      const sent = performance.now();
      client.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: GUIDE_QUESTIONS[i % GUIDE_QUESTIONS.length] }] } });
      client.send({ type: 'response.create' });
      const audio = await client.waitFor((e) => e['type'] === 'response.output_audio.delta' || e['type'] === 'response.done', from, WAIT_MS * 2);
      const at = audio?.event['type'] === 'response.output_audio.delta' ? audio.at - sent : null;
      // The rest of the answer plays on, paced, competing with the others' first sentences.
      const done = await client.waitFor((e) => e['type'] === 'response.done', from, WAIT_MS * 4);
      await client.close();
      const metrics = done?.event['response']?.metadata?.lectern_metrics;
      return at === null ? null : { firstAudioMs: at, firstTextMs: (metrics?.first_token_ms as number | null) ?? null, synthesisMs: (metrics?.tts_first_sentence_ms as number | null) ?? null };
    }),
  );
  return firstAudio.filter((t) => t !== null);
}

/** Section 7, once with the first-sentence-first queue and once without. */
async function firstAudioUnderLoad(options: Options): Promise<FirstAudioStep[]> {
  const steps: FirstAudioStep[] = [];
  for (const firstSentencesFirst of [true, false]) {
    await guideAppliance(options, { firstSentencesFirst }, async ({ url, key }) => {
      await firstAudioStep(url, key, 1); // warm-up
      for (const sessions of FIRST_AUDIO_SESSIONS) {
        progress(`first audio: ${sessions} session(s), ${firstSentencesFirst ? 'queued' : 'unqueued'}`);
        const turns = await firstAudioStep(url, key, sessions);
        const times = turns.map((t) => t.firstAudioMs);
        const synthesis = turns.map((t) => t.synthesisMs);
        steps.push({
          sessions,
          queue: firstSentencesFirst ? 'first sentence first' : 'as they come',
          answered: turns.length,
          p50: percentile(times, 50),
          p99: percentile(times, 99),
          firstTextP50: percentile(turns.map((t) => t.firstTextMs), 50),
          synthesisP50: percentile(synthesis, 50),
          synthesisP99: percentile(synthesis, 99),
        });
      }
    });
  }
  return steps;
}

function printFirstAudio(print: (text?: string) => void, steps: FirstAudioStep[]): void {
  print('## 7. First audio under load\n');
  print(
    `Sessions each asking the shared guide one spoken question (output audio, paced at playback speed), their starts spread evenly over ${FIRST_AUDIO_SPREAD_MS / 1000} s; ` +
      'response.create → first output_audio.delta. "first sentence first": synthesis through the process\'s queue, a turn that has not spoken yet ahead of later sentences; "as they come": each sentence synthesised at once, all sessions competing.\n',
  );
  print(
    markdownTable(
      ['sessions', 'synthesis', 'answered', 'first audio p50 ms', 'first audio p99 ms', 'first text p50 ms', 'first sentence synthesis p50 / p99 ms'],
      steps.map((s) => [s.sessions, s.queue, `${s.answered}/${s.sessions}`, formatMs(s.p50), formatMs(s.p99), formatMs(s.firstTextP50), `${formatMs(s.synthesisP50)} / ${formatMs(s.synthesisP99)}`]),
    ),
  );
  print();
}

function printSpoken(print: (text?: string) => void, s: SpokenLength): void {
  print('## 6. Spoken-answer length\n');
  print(`"${s.question}" over /v1/realtime on the shared 76-page breast cancer guide (${s.mode} answer, voice ${s.voice ?? 'none'}), the organisation's default voice.answerSeconds (20 s).\n`);
  print(markdownTable(['audio out s', 'characters said', 'written answer characters', 'characters/s'], [[s.audioSeconds.toFixed(2), s.charactersSaid, s.writtenCharacters, (s.charactersSaid / s.audioSeconds).toFixed(1)]]));
  print(`\nSaid: "${s.transcript}"\n`);
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  if (options.only) {
    const lines: string[] = [];
    const print = (text = '') => lines.push(text);
    const out: Record<string, unknown> = {};
    if (options.only === 'spoken') printSpoken(print, (out['spoken'] = await spokenAnswerLength(options)) as SpokenLength);
    else if (options.only === 'turn-end') printTurnEnds(print, (out['turnEnds'] = await turnEnds(options)) as Awaited<ReturnType<typeof turnEnds>>);
    else printFirstAudio(print, (out['firstAudio'] = await firstAudioUnderLoad(options)) as FirstAudioStep[]);
    console.log(options.json ? JSON.stringify(out, null, 2) : lines.join('\n'));
    return;
  }
  const started = performance.now();
  const scratch = await mkdtemp(path.join(tmpdir(), 'lectern-bench-voice-'));
  const env: Record<string, string> = { LOG_LEVEL: 'warn', REALTIME_MAX_SESSIONS: String(Math.max(options.maxSessions, IDLE_SESSIONS) + 16), INGEST_CONCURRENCY: '1', ...NO_RATE_LIMITS };
  let note: string;
  if (options.modelsDir) {
    Object.assign(env, { MODELS_DIR: options.modelsDir });
    for (const name of ['LLM_MODEL', 'STT_MODEL', 'TTS_MODEL', 'LLM_THREADS']) {
      const value = process.env[name];
      if (value) env[name] = value;
    }
    note = `models from ${options.modelsDir}`;
  } else {
    Object.assign(env, await tinyModels(path.join(scratch, 'models')));
    note = 'TINY GENERATED MODELS (streaming CTC STT that hears loudness as "a", tone-per-character VITS, random-weight GGUF): the numbers measure Lectern\'s overhead, not real models';
  }

  const loadStarted = performance.now();
  const server = await startTestServer({ env, dataDir: path.join(scratch, 'data') });
  const loadMs = performance.now() - loadStarted;
  const out: Record<string, unknown> = { models: note };
  const lines: string[] = [];
  const print = (text = '') => lines.push(text);
  try {
    const { owner, key, url } = await clinic(server.url);
    const components = ((await owner.get('/readyz')).json?.components ?? []) as Array<{ name: string; kind: string; state: string; message?: string }>;
    const engines = components
      .filter((c) => c.name === 'voice' || c.name === 'llm')
      .map((c) => `${c.name} ${c.kind} (${c.state}${c.message ? `: ${c.message}` : ''})`)
      .join('; ');

    // Warm-up: the first answer loads lazily-initialised paths (LLM sequences, TTS session).
    const warm = await RealtimeClient.open(url, key);
    warm.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Warm-up: is the clinic open?' }] } });
    warm.send({ type: 'response.create' });
    // Spoken answers are paced at playback speed: once audio flows, the rest is waiting.
    const warmAudio = await warm.waitFor((e) => e['type'] === 'response.output_audio.delta' || e['type'] === 'response.done', 0, WAIT_MS * 2);
    if (warmAudio?.event['type'] === 'response.output_audio.delta') warm.send({ type: 'response.cancel' });
    const warmDone = await warm.waitFor((e) => e['type'] === 'response.done', 0, WAIT_MS * 2);
    const modalities = (warm.find((e) => e['type'] === 'session.created')?.event['session']?.output_modalities as string[] | undefined) ?? [];
    await warm.close();
    if (!warmDone) throw new Error('the warm-up text turn got no response.done');

    print('# Voice benchmark\n');
    print(`Models: ${note}. Appliance start incl. model load: ${formatMs(loadMs)} ms. Engines: ${engines}. Session output: ${modalities.join('+') || 'n/a'}.`);
    print('The client runs in the server\'s process (except section 5\'s idle sessions), on the same cores.\n');

    // 5 first, while the heap holds little else: RSS then follows the sessions, not the reuse of
    // pages an earlier section freed.
    progress('idle-session memory');
    const memory = await idleSessionMemory(url, key, IDLE_SESSIONS);
    out['memory'] = memory;

    // 1 + 2
    progress('voice turns');
    const { clips, leftOut, vadFrameMs } = await loadClips();
    if (!clips.length) throw new Error(`no usable WAV in ${SPEECH_DIR}`);
    const turns = await voiceTurns(url, key, clips, options.turns);
    out['turns'] = turns;
    const metricsSeen = turns.some((t) => t.metrics);
    const answered = turns.some((t) => t.toFirstText !== null || t.toFirstAudio !== null);
    const noMetrics = answered ? 'n/a: the server does not report lectern_metrics yet' : 'n/a: no voice turn was answered (see status)';
    const col = (pick: (t: Turn) => number | null | undefined) => turns.map(pick);
    const stat = (pick: (t: Turn) => number | null | undefined, p: number) => formatMs(percentile(col(pick), p));
    const picks: Array<(t: Turn) => number | null | undefined> = [
      (t) => t.toStopped,
      (t) => t.toTranscript,
      (t) => t.toFirstText,
      (t) => t.toFirstAudio,
      (t) => t.metrics?.stt_ms,
      (t) => t.metrics?.first_token_ms,
      (t) => t.metrics?.tts_first_sentence_ms,
      (t) => t.metrics?.speech_end_to_first_audio_ms,
    ];
    print('## 1. Per-turn latency\n');
    print(
      `${options.turns} turns, WAVs from ${SPEECH_DIR} streamed in real time (100 ms frames of 24 kHz pcm16, paced by the wall clock; silence between turns), one session. ` +
        `"End" is when the frame holding the end of speech (by the VAD's own segmentation of the clip alone) was sent; "VAD end Δ" is how much later (ms of audio) the server's detector, running across turns, put it. ` +
        `The session uses server_vad: speech_stopped comes after silence_duration_ms (${SILENCE_DURATION_MS} ms) of silence, so every client column includes that wait (section 8 measures semantic_vad). ` +
        `Each answer is cancelled once its first audio arrives (the rest is paced playback). ` +
        `Server columns are response.done's lectern_metrics${metricsSeen ? ' (server clock, from the VAD\'s speech end)' : ` — ${noMetrics}`}.\n`,
    );
    print(
      markdownTable(
        ['turn', 'clip', 'transcript', 'status', 'VAD end Δ', 'end → speech_stopped', 'end → transcript', 'end → first text', 'end → first audio', 'stt_ms', 'first_token_ms', 'tts_first_sentence_ms', 'server end → first audio'],
        [
          ...turns.map((t, i) => [i + 1, t.clip, JSON.stringify((t.transcript ?? '').slice(0, 32)), t.status, formatMs(t.endDriftMs), ...picks.map((pick) => formatMs(pick(t)))]),
          ['p50', '', '', '', '', ...picks.map((pick) => stat(pick, 50))],
          ['p99', '', '', '', '', ...picks.map((pick) => stat(pick, 99))],
        ],
      ),
    );
    print(`\nClips left out (the VAD hears more than one turn in them): ${leftOut.join(', ') || 'none'}.\n`);

    print('## 2. Pipeline overhead\n');
    print(`Time not spent inside model inference: end → first audio minus (stt_ms + first_token_ms + tts_first_sentence_ms). The VAD row times createSileroVad().push on each 100 ms frame of the same clips (${vadFrameMs.length} frames).\n`);
    const serverOverhead = turns.map((t) => overhead(t.metrics?.speech_end_to_first_audio_ms, t.metrics));
    const clientOverhead = turns.map((t) => overhead(t.stoppedToFirstAudio, t.metrics));
    const overheadRow = (label: string, values: Array<number | null>, digits = 0, goal = true) => [
      label,
      formatMs(percentile(values, 50), digits),
      formatMs(percentile(values, 99), digits),
      values.filter((v) => v !== null).length,
      goal ? `≤ ${OVERHEAD_GOAL_MS} ms` : '',
    ];
    print(
      markdownTable(
        ['measure', 'p50 ms', 'p99 ms', 'n', 'goal'],
        [
          overheadRow('server: speech_end_to_first_audio_ms − inference', serverOverhead),
          overheadRow('client: speech_stopped → first audio delta − inference', clientOverhead),
          overheadRow('… of which speech end → transcript, outside STT (speech_end_to_transcript_ms − stt_ms)', turns.map((t) => diff(t.metrics?.speech_end_to_transcript_ms, t.metrics?.stt_ms)), 0, false),
          overheadRow('… transcript → first token, outside the agent (speech_end_to_first_token_ms − speech_end_to_transcript_ms − first_token_ms)', turns.map((t) => diff(t.metrics?.speech_end_to_first_token_ms, t.metrics?.speech_end_to_transcript_ms, t.metrics?.first_token_ms)), 0, false),
          overheadRow('… first token → first audio, outside TTS (speech_end_to_first_audio_ms − speech_end_to_first_token_ms − tts_first_sentence_ms)', turns.map((t) => diff(t.metrics?.speech_end_to_first_audio_ms, t.metrics?.speech_end_to_first_token_ms, t.metrics?.tts_first_sentence_ms)), 0, false),
          overheadRow('VAD inference per 100 ms frame', vadFrameMs, 2),
        ],
      ),
    );
    print(
      metricsSeen
        ? '\n"Inference" is stt_ms + first_token_ms + tts_first_sentence_ms. first_token_ms runs from the question to the first token (retrieval included), so the last breakdown row also holds the LLM writing the rest of the first sentence, which TTS waits for. ' +
            'The client row starts at speech_stopped as the client received it: in-process, the server\'s synchronous work can delay the client\'s reading of one event and bunch it with the next, so the server row is the reliable one.'
        : `\nThe overhead rows need response.done's lectern_metrics (stt_ms, first_token_ms, tts_first_sentence_ms): ${noMetrics}.`,
    );
    out['overhead'] = { server: serverOverhead, client: clientOverhead, vadFrameMs: { p50: percentile(vadFrameMs, 50), p99: percentile(vadFrameMs, 99), frames: vadFrameMs.length } };
    print();

    // 3
    progress('barge-in');
    print('## 3. Barge-in\n');
    if (!modalities.includes('audio')) {
      print('n/a: the session has no speech output (no TTS voice and no espeak-ng).\n');
    } else {
      // The shortest clip: its onset comes early and the speech is over soon.
      const clip = [...clips].sort((a, b) => a.pcm.length - b.pcm.length)[0] as Clip;
      const trials: BargeIn[] = [];
      for (let i = 0; i < BARGE_IN_TRIALS; i++) trials.push(await bargeIn(url, key, clip, QUESTIONS[i % QUESTIONS.length] as string));
      out['bargeIn'] = trials;
      const cancelled = trials.filter((t) => t.outcome === 'cancelled');
      print(`${BARGE_IN_TRIALS} trials: a text question, then ${clip.file} (speech onset ${formatMs(clip.onsetMs)} ms into the clip, by the VAD's own segmentation) streamed in real time from the first response.output_audio.delta on. "Onset" is when the frame holding the speech onset was sent; the measure is onset → the last output_audio.delta received before response.done (cancelled); negative when none arrived after the onset frame left. p50/p99 over the cancelled trials (${cancelled.length} of ${trials.length}).\n`);
      const pct = (pick: (t: BargeIn) => number | null, p: number) => formatMs(percentile(cancelled.map(pick), p));
      print(
        markdownTable(
          ['trial', 'outcome', 'onset → last audio delta', 'onset → speech_started', 'onset → response.done', 'audio deltas after onset', 'goal'],
          [
            ...trials.map((t, i) => [i + 1, t.outcome, formatMs(t.onsetToLastAudio), formatMs(t.onsetToSpeechStarted), formatMs(t.onsetToResponseDone), t.deltasAfterOnset, '']),
            ['p50', '', pct((t) => t.onsetToLastAudio, 50), pct((t) => t.onsetToSpeechStarted, 50), pct((t) => t.onsetToResponseDone, 50), '', `≤ ${BARGE_IN_GOAL_MS} ms`],
            ['p99', '', pct((t) => t.onsetToLastAudio, 99), pct((t) => t.onsetToSpeechStarted, 99), pct((t) => t.onsetToResponseDone, 99), '', `≤ ${BARGE_IN_GOAL_MS} ms`],
          ],
        ),
      );
      print();
    }

    // 4
    print('## 4. Concurrency\n');
    const llm = components.some((c) => c.name === 'llm' && c.state === 'ok');
    const steps: Step[] = [];
    for (const sessions of sessionSteps(options.maxSessions)) {
      progress(`concurrency: ${sessions} session(s)`);
      const step = await concurrencyStep(url, key, sessions, llm);
      steps.push(step);
      if (!step.sustained) break;
    }
    out['concurrency'] = steps;
    const sustained = steps.filter((s) => s.sustained).at(-1)?.sessions ?? 0;
    print(
      `Sessions each asking ${CONCURRENT_TURNS} text questions back to back (conversation.item.create + response.create), all starting together, output_modalities ['text'] ` +
        `(a spoken answer's events are paced at playback speed, so they would measure its length). ` +
        `**Event latency = the gap between consecutive server events of one response, response.created through response.done.** ` +
        `A step is sustained when that p99 is under ${EVENT_LATENCY_LIMIT_MS} ms, every response completed${llm ? ' and the LLM wrote every answer (none fell back to the extractive answer because its queue was full)' : ''}; ` +
        `stepping stops at the first step that is not, or at --max-sessions (${options.maxSessions}). ` +
        `The wait for the first token is one gap per answer, under 1 % of a long answer's gaps: it shows in "worst gap" and "create → first text", not in the p99.\n`,
    );
    print(
      markdownTable(
        ['sessions', 'responses', 'not completed', 'extractive', 'event gap p50 ms', 'event gap p99 ms', 'worst gap ms', 'create → created p99 ms', 'create → first text p50 / p99 ms', 'turn p50 ms', 'event-loop delay p99 ms', `sustained (p99 < ${EVENT_LATENCY_LIMIT_MS} ms)`],
        steps.map((s) => [
          s.sessions,
          s.responses,
          s.notCompleted,
          llm ? s.extractive : 'n/a (no LLM)',
          formatMs(s.gapP50, 1),
          formatMs(s.gapP99, 1),
          formatMs(s.gapMax),
          formatMs(s.createdP99),
          `${formatMs(s.firstDeltaP50)} / ${formatMs(s.firstDeltaP99)}`,
          formatMs(s.turnP50),
          formatMs(s.loopDelayP99, 1),
          s.sustained ? 'yes' : 'no',
        ]),
      ),
    );
    print(`\nMax sustained: **${sustained} session${sustained === 1 ? '' : 's'}**${steps.at(-1)?.sustained ? ` (the cap, --max-sessions ${options.maxSessions})` : ''}.\n`);

    // 5
    print('## 5. Memory per idle session\n');
    const kb = (bytes: number) => (bytes / 1024).toFixed(1);
    const perSession = (pick: (m: Memory) => number) => kb((pick(memory.open) - pick(memory.before)) / memory.count);
    print(`${memory.count} idle sessions opened by a child process (so this process holds only their server side), measured first, after one warm-up turn; process.memoryUsage() of the server process before, with them open, and after they closed (closed sessions stay resumable for REALTIME_RESUME_SECONDS, so some of it is still held then). GC: ${memory.gc}.\n`);
    print(
      markdownTable(
        ['measure', 'before MB', `${memory.count} open MB`, 'after close MB', 'per session KB'],
        (['rss', 'heapUsed', 'external'] as const).map((k) => [k, (memory.before[k] / 2 ** 20).toFixed(1), (memory.open[k] / 2 ** 20).toFixed(1), (memory.after[k] / 2 ** 20).toFixed(1), perSession((m) => m[k])]),
      ),
    );
    print(`\nTotal run: ${formatMs((performance.now() - started) / 1000, 0)} s.`);
    const errors = server.logs.filter((l) => Number(l['level']) >= 50);
    if (errors.length) print(`Server logged ${errors.length} error(s); first: ${JSON.stringify(errors[0]?.['msg'])}.`);
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
  // 6, on an appliance of its own: the guide, and a real voice rather than the tiny one.
  progress('spoken-answer length');
  const spoken = await spokenAnswerLength(options);
  out['spoken'] = spoken;
  printSpoken(print, spoken);
  progress('first audio under load');
  const firstAudio = await firstAudioUnderLoad(options);
  out['firstAudio'] = firstAudio;
  printFirstAudio(print, firstAudio);
  progress('end of turn');
  const ends = await turnEnds(options);
  out['turnEnds'] = ends;
  printTurnEnds(print, ends);
  console.log(options.json ? JSON.stringify(out, null, 2) : lines.join('\n'));
}

if (import.meta.main) {
  if (process.env['BENCH_VOICE_ROLE'] === 'idle-clients') await runIdleClients();
  else await main(process.argv.slice(2));
}
