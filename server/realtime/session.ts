// One realtime session: audio in → VAD turns → STT → the grounded answer → text and TTS audio out.
// Everything a session does is ordered through one queue (audio frames, commits, responses are
// handled in arrival order), and everything it starts hangs off one AbortController per response,
// so `response.cancel`, barge-in and a closing socket stop the answer and the voice alike.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Citation } from '../agent/types.ts';
import type { Acting } from '../auth/principal.ts';
import type { AnswerService } from '../conversations/answer.ts';
import type { VoiceMetrics } from '../conversations/conversations.ts';
import { AppError, errors } from '../errors.ts';
import { float32ToPcm16, pcm16ToFloat32, resample } from '../speech/resample.ts';
import type { SttEngine, SttStream, TtsEngine, VoiceActivityDetector } from '../speech/speech.ts';
import type { SileroVadModel, SileroVadOptions } from '../speech/vad.ts';
import { serverEvents as ev, type ClientEvent, type SessionConfig, type SessionUpdate, type TurnMetrics, type Usage } from './protocol.ts';
import { heardText, speakable, spokenSources, type SpokenSentence } from './speakable.ts';

export interface RealtimeSpeech {
  vad: SileroVadModel | null;
  vadReason?: string | undefined;
  stt: SttEngine | null;
  sttReason?: string | undefined;
  tts: TtsEngine | null;
  ttsReason?: string | undefined;
}

/** What a dropped session leaves behind so a reconnecting client can carry on. */
export interface SessionSnapshot {
  config: SessionConfig;
  conversationId: string | null;
  lastItem: string | null;
  items: Array<[string, SpokenItem]>;
}

/** An assistant item whose audio the client may truncate. */
interface SpokenItem {
  messageId: string | null;
  sentences: SpokenSentence[];
  /** All the audio sent for the item, the spoken sources included. */
  audioMs: number;
}

export interface RealtimeSessionDeps {
  acting: Acting;
  kbId: string;
  model: string;
  answers: Pick<AnswerService, 'ask' | 'prepare' | 'truncate' | 'recordVoice'>;
  speech: RealtimeSpeech;
  newId: (prefix: string) => string;
  send: (event: Record<string, unknown>) => void;
  /** Reports a failure to the client (and the log, when unexpected). */
  fail: (err: unknown) => void;
  /** Shorter sounds neither start a turn nor interrupt an answer. */
  minSpeechMs?: number | undefined;
  /** Monotonic milliseconds, for the per-turn metrics. */
  now?: () => number;
  /** How far audio may run ahead of real-time playback; beyond it, sending is paced. */
  audioLeadMs?: number;
  /** A session carried over from a dropped connection. */
  resume?: SessionSnapshot | undefined;
  /** An existing conversation the session continues (when not resuming). */
  conversationId?: string | null | undefined;
}

/** Audio kept for a manual commit (turn detection off) before older audio is dropped. */
const MAX_BUFFER_MS = 60_000;
const CHUNK_MS = 100;
/** A sentence end: punctuation, optional citation markers or closing quotes, then whitespace. */
const SENTENCE_END = /[.!?…](?:\[\d+\]|["')\]])*\s+/g;
/** Long run-on text is spoken in pieces rather than waiting for a full stop. */
const MAX_SENTENCE = 400;
/** Assistant items remembered for `conversation.item.truncate`. */
const MAX_ITEMS = 16;
const DEFAULT_AUDIO_LEAD_MS = 800;
const SPECULATE_AFTER_WORDS = 4;

const unavailable = (code: string, message: string) => new AppError(503, code, message);
const round = (ms: number | null) => (ms === null ? null : Math.round(ms));

/** Splits streamed text into speakable sentences as it arrives. */
export function createSentenceSplitter(): { push(text: string): string[]; flush(): string[] } {
  let buffer = '';
  const take = (upTo: number) => {
    const sentence = buffer.slice(0, upTo).trim();
    buffer = buffer.slice(upTo);
    return sentence ? [sentence] : [];
  };
  return {
    push(text) {
      buffer += text;
      const out: string[] = [];
      for (;;) {
        SENTENCE_END.lastIndex = 0;
        const match = SENTENCE_END.exec(buffer);
        if (match) out.push(...take(match.index + match[0].length));
        else if (buffer.length > MAX_SENTENCE) out.push(...take(Math.max(buffer.lastIndexOf(' ', MAX_SENTENCE), 1)));
        else return out;
      }
    },
    flush: () => take(buffer.length),
  };
}

/** A user turn in audio, from speech onset to its transcript. */
interface Turn {
  item: string;
  stream: SttStream | null;
  partial: string;
  /** When the server saw the end of speech (speech_stopped or a manual commit). */
  endedAt: number | null;
  transcribedAt: number | null;
  sttMs: number | null;
  audioSeconds: number;
  /** Speculative prompt evaluation started while the person speaks; the answer waits for it. */
  speculation: Promise<number> | null;
  /** The partial transcript the current speculation was built from. */
  speculatedOn: string | null;
}

/** A response in progress: its cancellation, its spoken item and its timings. */
interface Response {
  id: string;
  item: string;
  controller: AbortController;
  done: Promise<void>;
  spoken: SpokenItem;
  turn: Turn | null;
  startedAt: number;
  firstTokenAt: number | null;
  firstAudioAt: number | null;
  ttsFirstSentenceMs: number | null;
  ttsMs: number;
  speculativeTokens: number;
  audioOutSamples: number;
  outRate: number;
  characters: number;
}

export class RealtimeSession {
  readonly #d: RealtimeSessionDeps;
  readonly #config: SessionConfig;
  readonly #now: () => number;
  #detector: VoiceActivityDetector | null = null;
  /** Input audio since the last turn, at the session rate, for a manual commit. */
  #buffer: Float32Array[] = [];
  #bufferedSamples = 0;
  #turn: Turn | null = null;
  #lastItem: string | null;
  #pendingText: string[] = [];
  #conversationId: string | null;
  #items: Map<string, SpokenItem>;
  #response: Response | null = null;
  /** While a maybe-speech sound is judged, the answer's events wait here instead of playing on. */
  #held: Array<Record<string, unknown>> | null = null;
  #queue: Promise<void> = Promise.resolve();
  /** Client events received and not yet handled (audio waiting for the VAD, say). */
  #pending = 0;
  #drained: Array<{ below: number; resolve: () => void }> = [];
  #closed = false;
  /** Stops work that outlives a turn (a cloud transcription) when the socket goes. */
  readonly #lifetime = new AbortController();
  #vadMissingReported = false;

  constructor(deps: RealtimeSessionDeps) {
    this.#d = deps;
    this.#now = deps.now ?? (() => performance.now());
    const resumed = deps.resume;
    this.#config = resumed?.config ?? {
      id: deps.newId('sess'),
      object: 'realtime.session',
      type: 'realtime',
      model: deps.model,
      output_modalities: deps.speech.tts ? ['audio'] : ['text'],
      audio: {
        input: { format: { type: 'audio/pcm', rate: 24_000 }, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 600 } },
        output: { format: { type: 'audio/pcm', rate: 24_000 }, voice: deps.speech.tts?.voice.id ?? null },
      },
    };
    this.#conversationId = resumed?.conversationId ?? deps.conversationId ?? null;
    this.#lastItem = resumed?.lastItem ?? null;
    this.#items = new Map(resumed?.items ?? []);
    this.#resetDetector();
  }

  get config(): SessionConfig {
    return this.#config;
  }

  /** What a reconnecting client needs to continue: the settings and the conversation. */
  snapshot(): SessionSnapshot {
    return { config: structuredClone(this.#config), conversationId: this.#conversationId, lastItem: this.#lastItem, items: [...this.#items] };
  }

  start(): void {
    this.#d.send(ev.sessionCreated(this.#config));
    if (this.#d.resume) this.#d.send(ev.resumed(this.#config.id, this.#conversationId));
  }

  /** Handles one validated client event; failures become `error` events, never exceptions. */
  handle(event: ClientEvent): void {
    this.#pending++;
    this.#enqueue(async () => {
      try {
        await this.#dispatch(event);
      } finally {
        this.#pending--;
        this.#drained = this.#drained.filter((w) => (this.#pending <= w.below ? (w.resolve(), false) : true));
      }
    });
  }

  /** Events received and not yet handled: a client sending audio faster than it is processed shows here. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves once no more than `below` events wait. */
  drained(below: number): Promise<void> {
    if (this.#pending <= below) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push({ below, resolve }));
  }

  /** The socket is gone: stop the answer and the voice, release the detector. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#lifetime.abort(new Error('the realtime client disconnected'));
    this.#response?.controller.abort(new Error('the realtime client disconnected'));
    await this.#queue;
    await this.#response?.done;
    await this.#detector?.close();
  }

  #enqueue(task: () => Promise<void> | void): void {
    this.#queue = this.#queue.then(task).catch((err: unknown) => this.#d.fail(err));
  }

  async #dispatch(event: ClientEvent): Promise<void> {
    if (this.#closed) return;
    switch (event.type) {
      case 'session.update':
        return this.#update(event.session);
      case 'input_audio_buffer.append':
        return this.#append(Buffer.from(event.audio, 'base64'));
      case 'input_audio_buffer.clear':
        this.#clearBuffer();
        this.#detector?.reset();
        this.#turn = null;
        this.#release();
        return this.#d.send(ev.cleared());
      case 'input_audio_buffer.commit':
        return this.#commit();
      case 'conversation.item.create': {
        const text = event.item.content.map((c) => c.text).join('\n').trim();
        if (!text) throw errors.badRequest('The message has no text.');
        const id = event.item.id ?? this.#d.newId('item');
        this.#pendingText.push(text);
        this.#d.send(ev.itemCreated({ id, role: 'user', text }, this.#lastItem));
        this.#lastItem = id;
        return;
      }
      case 'conversation.item.truncate':
        return this.#truncate(event.item_id, event.content_index, event.audio_end_ms);
      case 'response.create': {
        const question = this.#pendingText.join('\n').trim();
        if (!question) throw errors.badRequest('There is no user message to respond to: send conversation.item.create or audio first.');
        this.#pendingText = [];
        return this.#respond(question, null);
      }
      case 'response.cancel':
        if (!this.#response) throw new AppError(400, 'response_cancel_not_active', 'There is no response in progress to cancel.');
        this.#response.controller.abort(new Error('cancelled by the client'));
        return;
    }
  }

  #update(update: SessionUpdate): void {
    const input = update.audio?.input;
    const audio = this.#config.audio;
    if (input?.format) audio.input.format = input.format;
    if (update.audio?.output?.format) audio.output.format = update.audio.output.format;
    if (input?.turn_detection !== undefined) {
      const current = audio.input.turn_detection ?? { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 600 };
      audio.input.turn_detection = input.turn_detection && { ...current, ...input.turn_detection };
    }
    if (update.output_modalities) this.#config.output_modalities = update.output_modalities;
    if (input) this.#resetDetector();
    this.#d.send(ev.sessionUpdated(this.#config));
  }

  #resetDetector(): void {
    this.#release();
    const old = this.#detector;
    this.#detector = null;
    void old?.close();
    this.#clearBuffer();
    this.#turn = null;
    const turns = this.#config.audio.input.turn_detection;
    if (!turns || !this.#d.speech.vad) return;
    const options: SileroVadOptions = {
      threshold: turns.threshold,
      prefixPaddingMs: turns.prefix_padding_ms,
      endOfSpeechMs: turns.silence_duration_ms,
      ...(this.#d.minSpeechMs ? { minSpeechMs: this.#d.minSpeechMs } : {}),
    };
    this.#detector = this.#d.speech.vad.createDetector(options);
  }

  #clearBuffer(): void {
    this.#buffer = [];
    this.#bufferedSamples = 0;
  }

  async #append(bytes: Buffer): Promise<void> {
    const rate = this.#config.audio.input.format.rate;
    const samples = pcm16ToFloat32(bytes);
    this.#buffer.push(samples);
    this.#bufferedSamples += samples.length;
    while (this.#bufferedSamples > (rate * MAX_BUFFER_MS) / 1000 && this.#buffer.length > 1) this.#bufferedSamples -= this.#buffer.shift()?.length ?? 0;
    if (!this.#detector) {
      // Said once, not once per 100 ms of audio.
      if (this.#config.audio.input.turn_detection && !this.#vadMissingReported) {
        this.#vadMissingReported = true;
        throw unavailable('vad_unavailable', `Voice activity detection is not available: ${this.#d.speech.vadReason ?? 'no model'}. Commit turns manually with input_audio_buffer.commit.`);
      }
      return;
    }
    for (const event of await this.#detector.push({ samples, sampleRate: rate })) {
      switch (event.type) {
        case 'speech_candidate':
          // Maybe the listener is talking over the answer: stop playing it on until we know.
          if (this.#response && !this.#response.controller.signal.aborted) this.#held ??= [];
          break;
        case 'speech_abandoned':
          this.#release();
          break;
        case 'speech_start': {
          this.#bargeIn();
          const stt = this.#d.speech.stt;
          const stream = stt?.model.streaming ? stt.createStream() : null;
          this.#turn = this.#newTurn(stream);
          this.#d.send(ev.speechStarted(this.#turn.item, event.atMs));
          // The prompt's start (instructions, the conversation so far) does not depend on what is being said.
          this.#speculate(this.#turn, '');
          this.#follow(event.audio);
          break;
        }
        case 'speech_audio':
          this.#follow(event.audio);
          break;
        case 'speech_end': {
          const turn = this.#turn ?? this.#newTurn(null);
          this.#turn = null;
          this.#clearBuffer();
          turn.endedAt = this.#now();
          this.#d.send(ev.speechStopped(turn.item, event.atMs));
          await this.#userAudio(turn, event.audio, 16_000);
          break;
        }
      }
    }
  }

  /** Feeds the current turn's audio to a streaming recogniser and passes on what it hears so far. */
  #follow(audio: Float32Array): void {
    const turn = this.#turn;
    if (!turn?.stream) return;
    turn.stream.accept({ samples: audio, sampleRate: 16_000 });
    const partial = turn.stream.partial();
    // Deltas only ever append; a recogniser that revises its guess shows it in the final transcript.
    if (partial.length > turn.partial.length && partial.startsWith(turn.partial)) {
      this.#d.send(ev.transcriptionDelta(turn.item, partial.slice(turn.partial.length)));
      turn.partial = partial;
      // Once the question has a few words, its retrieval and passages can be evaluated too.
      if (turn.speculatedOn === '' && partial.trim().split(/\s+/).length >= SPECULATE_AFTER_WORDS) this.#speculate(turn, partial);
    }
  }

  #newTurn(stream: SttStream | null): Turn {
    return { item: this.#d.newId('item'), stream, partial: '', endedAt: null, transcribedAt: null, sttMs: null, audioSeconds: 0, speculation: null, speculatedOn: null };
  }

  /** Evaluates the prompt the turn will most likely get, after any speculation already running. */
  #speculate(turn: Turn, question: string): void {
    turn.speculatedOn = question;
    const before = turn.speculation ?? Promise.resolve(0);
    turn.speculation = before.then(async (done) => {
      if (this.#closed) return done;
      const request = { question, conversationId: this.#conversationId ?? undefined, sessionKey: this.#config.id, signal: this.#lifetime.signal };
      return done + (await this.#d.answers.prepare(this.#d.acting, this.#d.kbId, request).catch(() => 0));
    });
  }

  /** A maybe-speech sound was only noise: the held answer plays on. */
  #release(): void {
    const held = this.#held;
    this.#held = null;
    for (const event of held ?? []) this.#d.send(event);
  }

  async #commit(): Promise<void> {
    const rate = this.#config.audio.input.format.rate;
    if (this.#bufferedSamples < rate / 10) throw errors.badRequest('The input audio buffer holds less than 100 ms of audio: nothing to commit.');
    const audio = new Float32Array(this.#bufferedSamples);
    this.#buffer.reduce((at, part) => (audio.set(part, at), at + part.length), 0);
    this.#clearBuffer();
    this.#detector?.reset();
    const turn = this.#turn ?? this.#newTurn(null);
    this.#turn = null;
    turn.endedAt = this.#now();
    // A streaming recogniser that followed part of this audio would hear it twice: start afresh.
    turn.stream = null;
    await this.#userAudio(turn, audio, rate);
  }

  /** A finished user turn in audio: commit it, transcribe it, answer it. */
  async #userAudio(turn: Turn, samples: Float32Array, sampleRate: number): Promise<void> {
    this.#d.send(ev.committed(turn.item, this.#lastItem));
    this.#lastItem = turn.item;
    turn.audioSeconds = samples.length / sampleRate;
    const stt = this.#d.speech.stt;
    if (!stt) throw unavailable('stt_unavailable', `Speech recognition is not available: ${this.#d.speech.sttReason ?? 'no STT model is installed'}.`);
    const started = this.#now();
    let stream = turn.stream;
    if (!stream) {
      stream = stt.createStream();
      stream.accept({ samples, sampleRate });
    }
    const transcript = (await stream.finish({ signal: this.#lifetime.signal })).trim();
    turn.transcribedAt = this.#now();
    turn.sttMs = turn.transcribedAt - started;
    this.#d.send(ev.transcriptionCompleted(turn.item, transcript));
    // A barged-in answer is still winding down; the new turn follows it rather than failing with 409.
    if (this.#response?.controller.signal.aborted) await this.#response.done;
    if (transcript) this.#respond(transcript, turn);
  }

  async #truncate(itemId: string, contentIndex: number, audioEndMs: number): Promise<void> {
    const active = this.#response;
    if (active?.item === itemId) {
      // Truncating the answer still being spoken means the listener stopped it.
      active.controller.abort(new Error('truncated by the client'));
      await active.done;
    }
    const item = this.#items.get(itemId);
    if (!item) throw new AppError(400, 'invalid_item_id', `No spoken assistant item ${JSON.stringify(itemId)} in this session.`);
    if (audioEndMs > item.audioMs + CHUNK_MS) throw new AppError(400, 'invalid_audio_end_ms', `audio_end_ms ${audioEndMs} is past the item's ${Math.round(item.audioMs)} ms of audio.`);
    if (item.messageId && this.#conversationId) await this.#d.answers.truncate(this.#d.acting, this.#conversationId, item.messageId, heardText(item.sentences, audioEndMs));
    this.#d.send(ev.truncated(itemId, contentIndex, audioEndMs));
  }

  #respond(question: string, turn: Turn | null): void {
    if (this.#response) throw new AppError(409, 'conversation_already_has_active_response', 'A response is already in progress: cancel it or wait for response.done.');
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const response: Response = {
      id: this.#d.newId('resp'),
      item: this.#d.newId('item'),
      controller: new AbortController(),
      done,
      spoken: { messageId: null, sentences: [], audioMs: 0 },
      turn,
      startedAt: this.#now(),
      firstTokenAt: null,
      firstAudioAt: null,
      ttsFirstSentenceMs: null,
      ttsMs: 0,
      speculativeTokens: 0,
      audioOutSamples: 0,
      outRate: this.#config.audio.output.format.rate,
      characters: 0,
    };
    this.#response = response;
    // Answers run beside the queue, so audio (barge-in) and response.cancel are still handled meanwhile.
    void this.#answer(response, question).finally(() => {
      this.#response = null;
      finish();
    });
  }

  /** The answer's own events: held while a maybe-speech sound is judged, dropped once cancelled. */
  #emit(response: Response, event: Record<string, unknown>): void {
    if (response.controller.signal.aborted && event['type'] !== 'response.done') return;
    if (this.#held) this.#held.push(event);
    else this.#d.send(event);
  }

  /**
   * Speech long enough to be meant: the answer stops, and audio held back is never sent. A
   * response that finished while held still reports its text and its end; the client truncates
   * the item to what it played.
   */
  #bargeIn(): void {
    const held = this.#held ?? [];
    this.#held = null;
    this.#response?.controller.abort(new Error('interrupted by the speaker'));
    for (const event of held) if (event['type'] !== 'response.output_audio.delta') this.#d.send(event);
  }

  async #answer(r: Response, question: string): Promise<void> {
    const { signal } = r.controller;
    const emit = (event: Record<string, unknown>) => this.#emit(r, event);
    const tts = this.#config.output_modalities.includes('audio') ? this.#d.speech.tts : null;
    emit(ev.response(r.id, 'in_progress', null, this.#conversationId));
    const splitter = createSentenceSplitter();
    let voice = Promise.resolve();
    const speak = (sentences: string[], written = true) => {
      if (!tts) return;
      for (const sentence of sentences) voice = voice.then(() => this.#speak(r, tts, sentence, written));
    };
    let text = '';
    let transcript = '';
    const citations: Citation[] = [];
    let usage: Usage | null = null;
    let status: 'completed' | 'cancelled' | 'failed' = 'completed';
    try {
      // The speculation holds the cache this answer is about to use: let it finish rather than race it.
      if (r.turn?.speculation) r.speculativeTokens = await r.turn.speculation;
      const outcome = await this.#d.answers.ask(
        this.#d.acting,
        this.#d.kbId,
        { question, conversationId: this.#conversationId ?? undefined, sessionKey: this.#config.id },
        {
          signal,
          onConversation: (c) => (this.#conversationId = c._id),
          onMessage: (m) => (r.spoken.messageId = m._id),
          onEvent: (event) => {
            if (event.type === 'delta') {
              r.firstTokenAt ??= this.#now();
              text += event.text;
              transcript += event.text;
              emit(ev.part('response.output_text.delta', r.id, r.item, { delta: event.text }));
              if (tts) emit(ev.part('response.output_audio_transcript.delta', r.id, r.item, { delta: event.text }));
              speak(splitter.push(event.text));
            } else if (event.type === 'citation') {
              citations.push(event.citation);
              emit(ev.citation(r.id, event.citation));
            }
          },
        },
      );
      speak(splitter.flush());
      // The sources, said once at the end ("From intake policy, page 4.").
      const sources = tts ? spokenSources(outcome.answer.citations.length ? outcome.answer.citations : citations) : null;
      if (sources) {
        const delta = `${transcript && !/\s$/.test(transcript) ? ' ' : ''}${sources}`;
        transcript += delta;
        emit(ev.part('response.output_audio_transcript.delta', r.id, r.item, { delta }));
        speak([sources], false);
      }
      await voice;
      signal.throwIfAborted();
      emit(ev.part('response.output_text.done', r.id, r.item, { text }));
      if (tts) {
        emit(ev.part('response.output_audio_transcript.done', r.id, r.item, { transcript }));
        emit(ev.part('response.output_audio.done', r.id, r.item));
      }
      usage = {
        input_tokens: outcome.answer.usage.promptTokens,
        output_tokens: outcome.answer.usage.completionTokens,
        total_tokens: outcome.answer.usage.promptTokens + outcome.answer.usage.completionTokens,
      };
    } catch (err) {
      await voice.catch(() => {});
      status = signal.aborted ? 'cancelled' : 'failed';
      if (!signal.aborted) this.#d.fail(err);
    }
    if (tts) this.#remember(r.item, r.spoken);
    const metrics = this.#metrics(r);
    if (!this.#closed) emit(ev.response(r.id, status, usage, this.#conversationId, metrics, r.spoken.messageId));
    if (r.spoken.messageId) await this.#record(r.spoken.messageId, metrics, tts);
  }

  #remember(item: string, spoken: SpokenItem): void {
    this.#items.set(item, spoken);
    for (const key of this.#items.keys()) {
      if (this.#items.size <= MAX_ITEMS) break;
      this.#items.delete(key);
    }
  }

  #metrics(r: Response): TurnMetrics {
    const end = r.turn?.endedAt ?? null;
    const since = (at: number | null) => (end === null || at === null ? null : round(at - end));
    return {
      speech_end_to_transcript_ms: since(r.turn?.transcribedAt ?? null),
      speech_end_to_first_token_ms: since(r.firstTokenAt),
      speech_end_to_first_audio_ms: since(r.firstAudioAt),
      stt_ms: round(r.turn?.sttMs ?? null),
      first_token_ms: r.firstTokenAt === null ? null : round(r.firstTokenAt - r.startedAt),
      tts_first_sentence_ms: round(r.ttsFirstSentenceMs),
      tts_ms: Math.round(r.ttsMs),
      audio_in_seconds: Math.round((r.turn?.audioSeconds ?? 0) * 100) / 100,
      audio_out_seconds: Math.round((r.audioOutSamples / r.outRate) * 100) / 100,
      characters_synthesised: r.characters,
      speculative_prompt_tokens: r.speculativeTokens,
    };
  }

  /** Metrics are kept with the message and the ledger; a failure to keep them never fails the turn. */
  async #record(messageId: string, m: TurnMetrics, tts: TtsEngine | null): Promise<void> {
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
      stt: m.audio_in_seconds > 0 ? (this.#d.speech.stt?.model.id ?? null) : null,
      voice: tts?.voice.id ?? null,
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
  async #speak(r: Response, tts: TtsEngine, sentence: string, written: boolean): Promise<void> {
    const { signal } = r.controller;
    const said = speakable(sentence);
    if (!said) return;
    signal.throwIfAborted();
    const started = this.#now();
    const spoken = await tts.synthesize(said, { signal });
    const took = this.#now() - started;
    r.ttsMs += took;
    r.ttsFirstSentenceMs ??= took;
    r.characters += said.length;
    signal.throwIfAborted();
    const rate = r.outRate;
    const samples = spoken.sampleRate === rate ? spoken.samples : resample(spoken.samples, spoken.sampleRate, rate);
    const pcm = float32ToPcm16(samples);
    const startMs = (r.audioOutSamples / rate) * 1000;
    if (written) r.spoken.sentences.push({ text: sentence, startMs, endMs: startMs + (pcm.length / rate) * 1000 });
    const lead = this.#d.audioLeadMs ?? DEFAULT_AUDIO_LEAD_MS;
    const step = (rate * CHUNK_MS) / 1000;
    for (let at = 0; at < pcm.length; at += step) {
      const ahead = (r.audioOutSamples / rate) * 1000 - (r.firstAudioAt === null ? 0 : this.#now() - r.firstAudioAt);
      if (ahead > lead) await sleep(ahead - lead, undefined, { signal });
      signal.throwIfAborted();
      const part = pcm.subarray(at, at + step);
      r.firstAudioAt ??= this.#now();
      r.audioOutSamples += part.length;
      r.spoken.audioMs = (r.audioOutSamples / rate) * 1000;
      this.#emit(r, ev.part('response.output_audio.delta', r.id, r.item, { delta: Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64') }));
    }
  }
}
