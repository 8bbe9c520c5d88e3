// One response of a realtime session: the grounded answer streamed as text, spoken sentence by
// sentence as it is written, its sources named at the end, and its timings kept. Everything it
// starts hangs off one AbortController, so `response.cancel`, barge-in and a closing socket stop the
// answer and the voice alike.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Citation } from '../agent/types.ts';
import type { Acting } from '../auth/principal.ts';
import type { AnswerService } from '../conversations/answer.ts';
import type { VoiceMetrics } from '../conversations/conversations.ts';
import { createResampler, float32ToPcm16 } from '../speech/resample.ts';
import type { TtsEngine } from '../speech/speech.ts';
import { serverEvents as ev, type TurnMetrics, type Usage } from './protocol.ts';
import { createSentenceSplitter, speakable, spokenSources, type SpokenSentence } from './speakable.ts';
import { defaultOrganisationSettings } from '../organisations/organisations.ts';
import { answerCharacters, SpokenAnswer } from './spoken-answer.ts';
import { synthesizeQueued, type SynthesisQueue } from './synthesis-queue.ts';
import { inSpan } from '../tracing/spans.ts';

/** ~100 ms of audio per `response.output_audio.delta`. */
export const CHUNK_MS = 100;
const DEFAULT_AUDIO_LEAD_MS = 800;

/** An assistant item whose audio the client may truncate. */
export interface SpokenItem {
  messageId: string | null;
  sentences: SpokenSentence[];
  /** All the audio sent for the item, the spoken sources included. */
  audioMs: number;
}

/** What the response needs to know of the user turn it answers (absent for text turns). */
export interface TurnTiming {
  /** When the server saw the end of speech (speech_stopped or a manual commit). */
  endedAt: number | null;
  transcribedAt: number | null;
  sttMs: number | null;
  audioSeconds: number;
  /** Speculative prompt evaluation started while the person spoke; the answer waits for it. */
  speculation: Promise<number> | null;
}

export interface ResponseDeps {
  id: string;
  item: string;
  question: string;
  turn: TurnTiming | null;
  acting: Acting;
  kbId: string;
  answers: Pick<AnswerService, 'ask' | 'recordVoice'>;
  /** Null: answer in text only. */
  tts: TtsEngine | null;
  /** The recogniser that heard the turn, for the record. */
  sttModel: string | null;
  outRate: number;
  /** The local LLM's cache group: the session id. */
  sessionKey: string;
  conversation: { get(): string | null; set(id: string): void };
  emit: (event: Record<string, unknown>) => void;
  fail: (err: unknown) => void;
  now: () => number;
  audioLeadMs?: number | undefined;
  /** How long the spoken part of an answer may take (the organisation's `voice.answerSeconds`), read as the response starts. */
  voiceAnswerSeconds?: (() => Promise<number>) | undefined;
  /** The process's synthesis queue for a voice: first sentences before later ones. Without it each sentence is synthesised at once. */
  synthesis?: ((tts: TtsEngine) => SynthesisQueue) | undefined;
  /** Told each spoken turn's metrics as response.done goes out (the process's voice latency metrics). */
  onTurn?: ((metrics: TurnMetrics) => void) | undefined;
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms));
const concat = (a: Float32Array, b: Float32Array): Float32Array => {
  if (a.length === 0) return b;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/**
 * A sentence's audio as ~100 ms chunks at the output rate, converted lazily, a chunk at a time:
 * the first chunk goes out after ~1 ms of resampling rather than after the whole sentence's, and
 * the rest of the work is spread between sends. Every chunk but the last is exactly CHUNK_MS long.
 */
export function* chunksAt(samples: Float32Array, fromRate: number, toRate: number): Generator<Float32Array> {
  const resampler = fromRate === toRate ? null : createResampler(fromRate, toRate);
  const inStep = Math.round((fromRate * CHUNK_MS) / 1000);
  const outStep = (toRate * CHUNK_MS) / 1000;
  let pending: Float32Array = new Float32Array(0);
  for (let at = 0; at < samples.length; at += inStep) {
    const piece = samples.subarray(at, at + inStep);
    const last = at + inStep >= samples.length;
    pending = concat(pending, resampler ? resampler.process(piece) : piece);
    if (last && resampler) pending = concat(pending, resampler.flush());
    while (pending.length >= outStep || (last && pending.length > 0)) {
      yield pending.subarray(0, outStep);
      pending = pending.subarray(Math.min(outStep, pending.length));
    }
  }
}

export class RealtimeResponse {
  readonly id: string;
  readonly item: string;
  readonly controller = new AbortController();
  readonly spoken: SpokenItem = { messageId: null, sentences: [], audioMs: 0 };
  /**
   * Settles as response.done goes out, before the turn's metrics are recorded: a client may ask
   * for the next response the moment it reads response.done, however slow the store is.
   */
  readonly ended: Promise<void>;
  #end!: () => void;
  readonly #d: ResponseDeps;
  readonly #startedAt: number;
  #firstTokenAt: number | null = null;
  #firstAudioAt: number | null = null;
  #ttsFirstSentenceMs: number | null = null;
  #ttsMs = 0;
  #speculativeTokens = 0;
  #audioOutSamples = 0;
  #characters = 0;

  constructor(deps: ResponseDeps) {
    this.ended = new Promise((resolve) => (this.#end = resolve));
    this.#d = deps;
    this.id = deps.id;
    this.item = deps.item;
    this.#startedAt = deps.now();
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Once cancelled, nothing but the final response.done goes out. */
  #emit(event: Record<string, unknown>): void {
    if (!this.aborted || event['type'] === 'response.done') this.#d.emit(event);
  }

  /** Answers, speaks and records; never rejects (failures go to `fail`). `final` says whether response.done may still be sent. */
  run(final: () => boolean): Promise<void> {
    // Under the spoken turn it answers (or a trace of its own for a typed item): its search,
    // generation and synthesis are its children.
    return inSpan('realtime response', { 'lectern.realtime.response.id': this.id, 'lectern.speech.voice': Boolean(this.#d.tts) }, () => this.#run(final));
  }

  async #run(final: () => boolean): Promise<void> {
    const { signal } = this.controller;
    const { tts, question } = this.#d;
    const part = (type: string, fields: Record<string, unknown> = {}) => this.#emit(ev.part(type, this.id, this.item, fields));
    this.#emit(ev.response(this.id, 'in_progress', null, this.#d.conversation.get()));
    const splitter = createSentenceSplitter();
    let voice = Promise.resolve();
    let transcript = '';
    // What is said, in the order said; the transcript events carry it, the text events the whole answer.
    const speak = (sentences: string[], written = true) => {
      if (!tts) return;
      for (const sentence of sentences) {
        const said = speakable(sentence);
        if (!said) continue;
        const delta = `${transcript ? ' ' : ''}${said}`;
        transcript += delta;
        part('response.output_audio_transcript.delta', { delta });
        voice = voice.then(() => this.#speak(tts, sentence, written));
      }
    };
    let spoken = new SpokenAnswer(question, answerCharacters(defaultOrganisationSettings.voice.answerSeconds));
    let text = '';
    const citations: Citation[] = [];
    let usage: Usage | null = null;
    let status: 'completed' | 'cancelled' | 'failed' = 'completed';
    try {
      // The speculation holds the cache this answer is about to use: let it finish rather than race it.
      if (this.#d.turn?.speculation) this.#speculativeTokens = await this.#d.turn.speculation;
      if (tts && this.#d.voiceAnswerSeconds) spoken = new SpokenAnswer(question, answerCharacters(await this.#d.voiceAnswerSeconds()));
      const outcome = await this.#d.answers.ask(
        this.#d.acting,
        this.#d.kbId,
        { question, conversationId: this.#d.conversation.get() ?? undefined, sessionKey: this.#d.sessionKey },
        {
          signal,
          onConversation: (c) => this.#d.conversation.set(c._id),
          onMessage: (m) => (this.spoken.messageId = m._id),
          onEvent: (event) => {
            if (event.type === 'delta') {
              this.#firstTokenAt ??= this.#d.now();
              text += event.text;
              part('response.output_text.delta', { delta: event.text });
              if (tts) speak(spoken.written(splitter.push(event.text)));
            } else if (event.type === 'citation') {
              citations.push(event.citation);
              this.#emit(ev.citation(this.id, event.citation));
            }
          },
        },
      );
      if (tts) speak(spoken.finished(outcome.answer, splitter.flush()));
      // The sources of what was said, named once at the end ("From intake policy, page 4.").
      const all = outcome.answer.citations.length ? outcome.answer.citations : citations;
      const said = all.filter((c) => spoken.cited.has(c.n));
      const sources = tts ? spokenSources(said.length ? said : all) : null;
      if (sources) speak([sources], false);
      await voice;
      signal.throwIfAborted();
      part('response.output_text.done', { text });
      if (tts) {
        part('response.output_audio_transcript.done', { transcript });
        part('response.output_audio.done');
      }
      const { promptTokens, completionTokens } = outcome.answer.usage;
      usage = { input_tokens: promptTokens, output_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    } catch (err) {
      await voice.catch(() => {});
      status = signal.aborted ? 'cancelled' : 'failed';
      if (!signal.aborted) this.#d.fail(err);
    }
    const metrics = this.metrics();
    if (this.#d.turn) this.#d.onTurn?.(metrics);
    if (final()) this.#emit(ev.response(this.id, status, usage, this.#d.conversation.get(), metrics, this.spoken.messageId));
    this.#end();
    if (this.spoken.messageId) await this.#record(this.spoken.messageId, metrics);
  }

  metrics(): TurnMetrics {
    const turn = this.#d.turn;
    const end = turn?.endedAt ?? null;
    const since = (at: number | null) => (end === null || at === null ? null : round(at - end));
    return {
      speech_end_to_transcript_ms: since(turn?.transcribedAt ?? null),
      speech_end_to_first_token_ms: since(this.#firstTokenAt),
      speech_end_to_first_audio_ms: since(this.#firstAudioAt),
      stt_ms: round(turn?.sttMs ?? null),
      first_token_ms: this.#firstTokenAt === null ? null : round(this.#firstTokenAt - this.#startedAt),
      tts_first_sentence_ms: round(this.#ttsFirstSentenceMs),
      tts_ms: Math.round(this.#ttsMs),
      audio_in_seconds: Math.round((turn?.audioSeconds ?? 0) * 100) / 100,
      audio_out_seconds: Math.round((this.#audioOutSamples / this.#d.outRate) * 100) / 100,
      characters_synthesised: this.#characters,
      speculative_prompt_tokens: this.#speculativeTokens,
    };
  }

  /** Metrics are kept with the message and the ledger; a failure to keep them never fails the turn. */
  async #record(messageId: string, m: TurnMetrics): Promise<void> {
    const voice: VoiceMetrics = {
      speechEndToTranscriptMs: m.speech_end_to_transcript_ms,
      speechEndToFirstTokenMs: m.speech_end_to_first_token_ms,
      speechEndToFirstAudioMs: m.speech_end_to_first_audio_ms,
      sttMs: m.stt_ms,
      firstTokenMs: m.first_token_ms,
      ttsFirstSentenceMs: m.tts_first_sentence_ms,
      ttsMs: m.tts_ms,
      audioInSeconds: m.audio_in_seconds,
      audioOutSeconds: m.audio_out_seconds,
      charactersSynthesised: m.characters_synthesised,
      stt: m.audio_in_seconds > 0 ? this.#d.sttModel : null,
      voice: this.#d.tts?.voice.id ?? null,
    };
    try {
      await this.#d.answers.recordVoice(this.#d.acting, messageId, voice);
    } catch (err) {
      this.#d.fail(err);
    }
  }

  /**
   * Synthesises one sentence and sends it in ~100 ms chunks, at most `audioLeadMs` ahead of real
   * time: a client then holds little unplayed audio, and barge-in has little to take back.
   */
  async #speak(tts: TtsEngine, sentence: string, written: boolean): Promise<void> {
    const { signal } = this.controller;
    const { now, outRate: rate } = this.#d;
    const said = speakable(sentence);
    if (!said) return;
    signal.throwIfAborted();
    const started = now();
    // A turn that has not spoken yet goes ahead of other sessions' later sentences.
    const first = this.#characters === 0;
    const spoken = this.#d.synthesis ? await synthesizeQueued(this.#d.synthesis(tts), tts, said, first, signal) : await tts.synthesize(said, { signal });
    const took = now() - started;
    this.#ttsMs += took;
    this.#ttsFirstSentenceMs ??= took;
    this.#characters += said.length;
    signal.throwIfAborted();
    const startMs = (this.#audioOutSamples / rate) * 1000;
    const durationMs = (spoken.samples.length / spoken.sampleRate) * 1000;
    if (written) this.spoken.sentences.push({ text: sentence, startMs, endMs: startMs + durationMs });
    const lead = this.#d.audioLeadMs ?? DEFAULT_AUDIO_LEAD_MS;
    for (const out of chunksAt(spoken.samples, spoken.sampleRate, rate)) {
      const ahead = (this.#audioOutSamples / rate) * 1000 - (this.#firstAudioAt === null ? 0 : now() - this.#firstAudioAt);
      if (ahead > lead) await sleep(ahead - lead, undefined, { signal });
      signal.throwIfAborted();
      const chunk = float32ToPcm16(out);
      this.#firstAudioAt ??= now();
      this.#audioOutSamples += chunk.length;
      this.spoken.audioMs = (this.#audioOutSamples / rate) * 1000;
      this.#emit(ev.part('response.output_audio.delta', this.id, this.item, { delta: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('base64') }));
    }
  }
}
