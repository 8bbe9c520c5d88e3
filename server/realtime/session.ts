// One realtime session: audio in → VAD turns → (streaming) STT → a response (response.ts) → text
// and TTS audio out. Client events are handled one at a time, in arrival order, through one queue;
// responses run beside it, so audio keeps flowing through the VAD while an answer is spoken and a
// barge-in can stop it.

import type { Acting } from '../auth/principal.ts';
import type { AnswerService } from '../conversations/answer.ts';
import { AppError, errors } from '../errors.ts';
import { pcm16ToFloat32 } from '../speech/resample.ts';
import type { TurnModel } from '../speech/smart-turn.ts';
import type { SttEngine, SttStream, TtsEngine, VadEvent, VoiceActivityDetector } from '../speech/speech.ts';
import type { SileroVadModel, SileroVadOptions } from '../speech/vad.ts';
import { SEMANTIC_VAD, SERVER_VAD, serverEvents as ev, type ClientEvent, type SessionConfig, type SessionUpdate, type TurnDetection, type TurnMetrics } from './protocol.ts';
import { CHUNK_MS, RealtimeResponse, type ResponseDeps, type SpokenItem, type TurnTiming } from './response.ts';
import { eagernessSettings, pauseDecision } from './semantic-turns.ts';
import { heardText } from './speakable.ts';
import { judgeCompleteness } from './turn-completeness.ts';
import { inSpan } from '../tracing/spans.ts';

export interface RealtimeSpeech {
  vad: SileroVadModel | null;
  vadReason?: string | undefined;
  /** Judges from the audio whether a speaker who paused has finished (semantic_vad); optional. */
  turn?: TurnModel | null | undefined;
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
  /** Turn detection of a new session until the client chooses (REALTIME_TURN_DETECTION); semantic_vad by default. */
  turnDetection?: TurnDetection['type'] | undefined;
  /** Monotonic milliseconds, for the per-turn metrics. */
  now?: () => number;
  /** How far audio may run ahead of real-time playback; beyond it, sending is paced. */
  audioLeadMs?: number;
  /** A session carried over from a dropped connection. */
  resume?: SessionSnapshot | undefined;
  /** An existing conversation the session continues (when not resuming). */
  conversationId?: string | null | undefined;
  /** Counts input audio (milliseconds) against the caller's quota; rejects, and the audio is dropped, once it is spent. */
  admitAudio?: ((ms: number) => Promise<void>) | undefined;
  /** Told each spoken turn's metrics (the process's voice latency metrics). */
  onTurn?: ((metrics: TurnMetrics) => void) | undefined;
  /** How long a spoken answer may take (the organisation's `voice.answerSeconds`), asked per response. */
  voiceAnswerSeconds?: (() => Promise<number>) | undefined;
  /** The process's synthesis queues, shared by all sessions. */
  synthesis?: ResponseDeps['synthesis'];
}

/** Audio kept for a manual commit (turn detection off) before older audio is dropped. */
const MAX_BUFFER_MS = 60_000;
/** Assistant items remembered for `conversation.item.truncate`. */
const MAX_ITEMS = 16;
const SPECULATE_AFTER_WORDS = 4;

const unavailable = (code: string, message: string) => new AppError(503, code, message);

/** A user turn in audio, from speech onset to its transcript. */
interface Turn extends TurnTiming {
  item: string;
  stream: SttStream | null;
  partial: string;
  /** The partial transcript the current speculation was built from. */
  speculatedOn: string | null;
  /** The pause being judged (semantic_vad): where it began and the turn model's say, once known. */
  pause: { atMs: number; heard: boolean; turnProbability: number | null; waitMs: number | null } | null;
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
  #response: { response: RealtimeResponse; done: Promise<void> } | null = null;
  /** Responses whose response.done is out but whose metrics are still being recorded. */
  readonly #recording = new Set<Promise<void>>();
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
        input: { format: { type: 'audio/pcm', rate: 24_000 }, turn_detection: { ...(deps.turnDetection === 'server_vad' ? SERVER_VAD : SEMANTIC_VAD) } },
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
    this.#response?.response.controller.abort(new Error('the realtime client disconnected'));
    await this.#queue;
    await this.#response?.done;
    await Promise.all(this.#recording);
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
        this.#response.response.controller.abort(new Error('cancelled by the client'));
        return;
    }
  }

  #update(update: SessionUpdate): void {
    const input = update.audio?.input;
    const audio = this.#config.audio;
    if (input?.format) audio.input.format = input.format;
    if (update.audio?.output?.format) audio.output.format = update.audio.output.format;
    if (input?.turn_detection !== undefined) {
      const next = input.turn_detection;
      const current = audio.input.turn_detection;
      // Settings carry over within a type; a change of type starts from that type's defaults.
      const base = current?.type === next?.type ? current : next?.type === 'semantic_vad' ? SEMANTIC_VAD : SERVER_VAD;
      audio.input.turn_detection = next && ({ ...base, ...next } as TurnDetection);
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
    // semantic_vad: every pause is judged; until it is, no turn ends on silence alone.
    const semantic = turns.type === 'semantic_vad' ? eagernessSettings(turns.eagerness) : null;
    const options: SileroVadOptions = {
      threshold: turns.threshold,
      prefixPaddingMs: turns.prefix_padding_ms,
      endOfSpeechMs: semantic ? Math.max(semantic.incompleteMs, turns.silence_duration_ms) : turns.silence_duration_ms,
      ...(semantic ? { pauseMs: [semantic.pauseMs] } : {}),
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
    // pcm16 mono: two bytes a sample.
    await this.#d.admitAudio?.(Math.round((bytes.length / 2 / rate) * 1000));
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
    await this.#onVad(await this.#detector.push({ samples, sampleRate: rate }));
  }

  async #onVad(events: VadEvent[]): Promise<void> {
    // A pause is judged once the audio before it has reached the recogniser.
    const pauses = events.filter((e) => e.type === 'speech_pause');
    for (const event of events) {
      switch (event.type) {
        case 'speech_candidate':
          // Maybe the listener is talking over the answer: stop playing it on until we know.
          if (this.#response && !this.#response.response.aborted) this.#held ??= [];
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
    for (const pause of pauses) if (this.#turn && pause.type === 'speech_pause') await this.#judgePause(this.#turn, pause);
  }

  /**
   * semantic_vad: decides how long this pause must last to end the turn, from the words heard so
   * far and, where a turn model is installed, how the audio sounds. The words are judged at once;
   * the model runs beside the event queue and its verdict joins the queue when it is in.
   */
  async #judgePause(turn: Turn, { atMs, audio }: { atMs: number; audio: Float32Array }): Promise<void> {
    const detector = this.#detector;
    const turns = this.#config.audio.input.turn_detection;
    if (!detector || turns?.type !== 'semantic_vad') return;
    const model = this.#d.speech.turn;
    turn.pause = { atMs, heard: !model, turnProbability: null, waitMs: null };
    if (!model) return this.#decidePause(turn);
    const pause = turn.pause;
    void model
      .complete(audio)
      .then(
        (p) => p,
        () => null,
      )
      .then((p) =>
        this.#enqueue(() => {
          if (turn.pause !== pause || this.#turn !== turn || this.#detector !== detector) return;
          // A model that failed leaves the words alone to judge, as if there were none.
          pause.turnProbability = p;
          pause.heard = true;
          return this.#decidePause(turn);
        }),
      );
  }

  /** Tells the detector how long the turn's current pause may last, and ends the turn if that is now. */
  async #decidePause(turn: Turn): Promise<void> {
    const pause = turn.pause;
    const turns = this.#config.audio.input.turn_detection;
    const detector = this.#detector;
    if (!pause || this.#turn !== turn || !detector?.endPause || turns?.type !== 'semantic_vad') return;
    if (!pause.heard) return;
    const decision = pauseDecision({ text: judgeCompleteness(turn.partial), turnProbability: pause.turnProbability }, turns.eagerness, turns.silence_duration_ms);
    if (decision.waitMs === pause.waitMs) return;
    pause.waitMs = decision.waitMs;
    await this.#onVad(await detector.endPause(pause.atMs, decision.waitMs));
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
      // The recogniser caught up with the last words during a pause: judge it again.
      if (turn.pause) this.#enqueue(() => this.#decidePause(turn));
      // Once the question has a few words, its retrieval and passages can be evaluated too.
      if (turn.speculatedOn === '' && partial.trim().split(/\s+/).length >= SPECULATE_AFTER_WORDS) this.#speculate(turn, partial);
    }
  }

  #newTurn(stream: SttStream | null): Turn {
    return { item: this.#d.newId('item'), stream, partial: '', endedAt: null, transcribedAt: null, sttMs: null, audioSeconds: 0, speculation: null, speculatedOn: null, pause: null };
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

  /**
   * A finished user turn in audio: commit it, transcribe it, answer it. A trace of its own, so the
   * recognition and the answer (search, generation, synthesis) are found together.
   */
  #userAudio(turn: Turn, samples: Float32Array, sampleRate: number): Promise<void> {
    return inSpan('realtime turn', { 'lectern.realtime.item': turn.item, 'lectern.realtime.audio_seconds': samples.length / sampleRate }, () => this.#transcribeAndAnswer(turn, samples, sampleRate), { root: true });
  }

  async #transcribeAndAnswer(turn: Turn, samples: Float32Array, sampleRate: number): Promise<void> {
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
    if (this.#response?.response.aborted) await this.#response.done;
    if (transcript) this.#respond(transcript, turn);
  }

  async #truncate(itemId: string, contentIndex: number, audioEndMs: number): Promise<void> {
    const active = this.#response;
    if (active?.response.item === itemId) {
      // Truncating the answer still being spoken means the listener stopped it.
      active.response.controller.abort(new Error('truncated by the client'));
      await active.done;
    }
    const item = this.#items.get(itemId);
    if (!item) throw new AppError(400, 'invalid_item_id', `No spoken assistant item ${JSON.stringify(itemId)} in this session.`);
    if (audioEndMs > item.audioMs + CHUNK_MS) throw new AppError(400, 'invalid_audio_end_ms', `audio_end_ms ${audioEndMs} is past the item's ${Math.round(item.audioMs)} ms of audio.`);
    const heard = heardText(item.sentences, audioEndMs);
    if (item.messageId && this.#conversationId) await this.#d.answers.truncate(this.#d.acting, this.#conversationId, item.messageId, heard);
    this.#d.send(ev.truncated(itemId, contentIndex, audioEndMs, { messageId: item.messageId, text: heard }));
  }

  #respond(question: string, turn: Turn | null): void {
    if (this.#response) throw new AppError(409, 'conversation_already_has_active_response', 'A response is already in progress: cancel it or wait for response.done.');
    const tts = this.#config.output_modalities.includes('audio') ? this.#d.speech.tts : null;
    const response = new RealtimeResponse({
      id: this.#d.newId('resp'),
      item: this.#d.newId('item'),
      question,
      turn,
      acting: this.#d.acting,
      kbId: this.#d.kbId,
      answers: this.#d.answers,
      tts,
      sttModel: this.#d.speech.stt?.model.id ?? null,
      outRate: this.#config.audio.output.format.rate,
      sessionKey: this.#config.id,
      conversation: { get: () => this.#conversationId, set: (id) => (this.#conversationId = id) },
      // The answer's events wait while a maybe-speech sound is judged.
      emit: (event) => (this.#held ? this.#held.push(event) : this.#d.send(event)),
      fail: this.#d.fail,
      now: this.#now,
      audioLeadMs: this.#d.audioLeadMs,
      onTurn: this.#d.onTurn,
      voiceAnswerSeconds: this.#d.voiceAnswerSeconds,
      synthesis: this.#d.synthesis,
    });
    // Answers run beside the queue, so audio (barge-in) and response.cancel are still handled meanwhile.
    const settled = response.run(() => !this.#closed);
    this.#recording.add(settled);
    void settled.then(() => this.#recording.delete(settled));
    // The next response may start once response.done is out; recording the turn's metrics goes on.
    const done = Promise.race([response.ended, settled]).then(() => {
      if (tts) this.#remember(response.item, response.spoken);
      if (this.#response?.response === response) this.#response = null;
    });
    this.#response = { response, done };
  }

  /**
   * Speech long enough to be meant: the answer stops, and audio held back is never sent. A
   * response that finished while held still reports its text and its end; the client truncates
   * the item to what it played.
   */
  #bargeIn(): void {
    const held = this.#held ?? [];
    this.#held = null;
    this.#response?.response.controller.abort(new Error('interrupted by the speaker'));
    for (const event of held) if (event['type'] !== 'response.output_audio.delta') this.#d.send(event);
  }

  #remember(item: string, spoken: SpokenItem): void {
    this.#items.set(item, spoken);
    for (const key of this.#items.keys()) {
      if (this.#items.size <= MAX_ITEMS) break;
      this.#items.delete(key);
    }
  }
}
