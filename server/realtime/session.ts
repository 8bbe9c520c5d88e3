// One realtime session: audio in → VAD turns → STT → the grounded answer → text and TTS audio out.
// Everything a session does is ordered through one queue (audio frames, commits, responses are
// handled in arrival order), and everything it starts hangs off one AbortController per response,
// so `response.cancel` and a closing socket stop the answer and the voice alike.

import type { Acting } from '../auth/principal.ts';
import type { AnswerService } from '../conversations/answer.ts';
import { AppError, errors } from '../errors.ts';
import { float32ToPcm16, pcm16ToFloat32, resample } from '../speech/resample.ts';
import type { SttEngine, TtsEngine, VoiceActivityDetector } from '../speech/speech.ts';
import type { SileroVadModel, SileroVadOptions } from '../speech/vad.ts';
import { serverEvents as ev, type ClientEvent, type InputRate, type SessionConfig, type SessionUpdate, type Usage } from './protocol.ts';

export interface RealtimeSpeech {
  vad: SileroVadModel | null;
  vadReason?: string | undefined;
  stt: SttEngine | null;
  sttReason?: string | undefined;
  tts: TtsEngine | null;
  ttsReason?: string | undefined;
}

export interface RealtimeSessionDeps {
  acting: Acting;
  kbId: string;
  model: string;
  answers: Pick<AnswerService, 'ask'>;
  speech: RealtimeSpeech;
  newId: (prefix: string) => string;
  send: (event: Record<string, unknown>) => void;
  /** Reports a failure to the client (and the log, when unexpected). */
  fail: (err: unknown) => void;
}

/** Audio kept for a manual commit (turn detection off) before older audio is dropped. */
const MAX_BUFFER_MS = 60_000;
const CHUNK_MS = 100;
/** A sentence end: punctuation, optional citation markers or closing quotes, then whitespace. */
const SENTENCE_END = /[.!?…](?:\[\d+\]|["')\]])*\s+/g;
/** Long run-on text is spoken in pieces rather than waiting for a full stop. */
const MAX_SENTENCE = 400;

const unavailable = (code: string, message: string) => new AppError(503, code, message);

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

export class RealtimeSession {
  readonly #d: RealtimeSessionDeps;
  readonly #config: SessionConfig;
  #detector: VoiceActivityDetector | null = null;
  /** Input audio since the last turn, at the session rate, for a manual commit. */
  #buffer: Float32Array[] = [];
  #bufferedSamples = 0;
  #speechItem: string | null = null;
  #lastItem: string | null = null;
  #pendingText: string[] = [];
  #conversationId: string | null = null;
  #response: { id: string; controller: AbortController; done: Promise<void> } | null = null;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #vadMissingReported = false;

  constructor(deps: RealtimeSessionDeps) {
    this.#d = deps;
    this.#config = {
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
    this.#resetDetector();
  }

  get config(): SessionConfig {
    return this.#config;
  }

  start(): void {
    this.#d.send(ev.sessionCreated(this.#config));
  }

  /** Handles one validated client event; failures become `error` events, never exceptions. */
  handle(event: ClientEvent): void {
    this.#enqueue(() => this.#dispatch(event));
  }

  /** The socket is gone: stop the answer and the voice, release the detector. */
  async close(): Promise<void> {
    this.#closed = true;
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
        this.#speechItem = null;
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
      case 'response.create': {
        const question = this.#pendingText.join('\n').trim();
        if (!question) throw errors.badRequest('There is no user message to respond to: send conversation.item.create or audio first.');
        this.#pendingText = [];
        return this.#respond(question);
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
    const old = this.#detector;
    this.#detector = null;
    void old?.close();
    this.#clearBuffer();
    this.#speechItem = null;
    const turns = this.#config.audio.input.turn_detection;
    if (!turns || !this.#d.speech.vad) return;
    const options: SileroVadOptions = { threshold: turns.threshold, prefixPaddingMs: turns.prefix_padding_ms, endOfSpeechMs: turns.silence_duration_ms };
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
      if (event.type === 'speech_start') {
        this.#speechItem = this.#d.newId('item');
        this.#d.send(ev.speechStarted(this.#speechItem, event.atMs));
        // Barge-in: the person talking over the answer wants it to stop.
        this.#response?.controller.abort(new Error('interrupted by the speaker'));
      } else {
        const item = this.#speechItem ?? this.#d.newId('item');
        this.#speechItem = null;
        this.#clearBuffer();
        this.#d.send(ev.speechStopped(item, event.atMs));
        await this.#userAudio(item, event.audio, 16_000);
      }
    }
  }

  async #commit(): Promise<void> {
    const rate = this.#config.audio.input.format.rate;
    if (this.#bufferedSamples < rate / 10) throw errors.badRequest('The input audio buffer holds less than 100 ms of audio: nothing to commit.');
    const audio = new Float32Array(this.#bufferedSamples);
    this.#buffer.reduce((at, part) => (audio.set(part, at), at + part.length), 0);
    this.#clearBuffer();
    this.#detector?.reset();
    const item = this.#speechItem ?? this.#d.newId('item');
    this.#speechItem = null;
    await this.#userAudio(item, audio, rate);
  }

  /** A finished user turn in audio: commit it, transcribe it, answer it. */
  async #userAudio(item: string, samples: Float32Array, sampleRate: number): Promise<void> {
    this.#d.send(ev.committed(item, this.#lastItem));
    this.#lastItem = item;
    const stt = this.#d.speech.stt;
    if (!stt) throw unavailable('stt_unavailable', `Speech recognition is not available: ${this.#d.speech.sttReason ?? 'no STT model is installed'}.`);
    const stream = stt.createStream();
    stream.accept({ samples, sampleRate });
    const transcript = (await stream.finish()).trim();
    this.#d.send(ev.transcriptionCompleted(item, transcript));
    // A barged-in answer is still winding down; the new turn follows it rather than failing with 409.
    if (this.#response?.controller.signal.aborted) await this.#response.done;
    if (transcript) this.#respond(transcript);
  }

  #respond(question: string): void {
    if (this.#response) throw new AppError(409, 'conversation_already_has_active_response', 'A response is already in progress: cancel it or wait for response.done.');
    const id = this.#d.newId('resp');
    const controller = new AbortController();
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.#response = { id, controller, done };
    // Answers run beside the queue, so audio (barge-in) and response.cancel are still handled meanwhile.
    void this.#answer(id, question, controller.signal).finally(() => {
      this.#response = null;
      finish();
    });
  }

  async #answer(id: string, question: string, signal: AbortSignal): Promise<void> {
    const { send } = this.#d;
    const item = this.#d.newId('item');
    const tts = this.#config.output_modalities.includes('audio') ? this.#d.speech.tts : null;
    const outRate = this.#config.audio.output.format.rate;
    send(ev.response(id, 'in_progress', null, this.#conversationId));
    const splitter = createSentenceSplitter();
    let voice = Promise.resolve();
    const speak = (sentences: string[]) => {
      if (!tts) return;
      for (const sentence of sentences) voice = voice.then(() => this.#speak(tts, sentence, outRate, signal, (delta) => send(ev.part('response.output_audio.delta', id, item, { delta }))));
    };
    let text = '';
    try {
      const outcome = await this.#d.answers.ask(
        this.#d.acting,
        this.#d.kbId,
        { question, conversationId: this.#conversationId ?? undefined },
        {
          signal,
          onConversation: (c) => (this.#conversationId = c._id),
          onEvent: (event) => {
            if (event.type === 'delta') {
              text += event.text;
              send(ev.part('response.output_text.delta', id, item, { delta: event.text }));
              if (tts) send(ev.part('response.output_audio_transcript.delta', id, item, { delta: event.text }));
              speak(splitter.push(event.text));
            } else if (event.type === 'citation') send(ev.citation(id, event.citation));
          },
        },
      );
      speak(splitter.flush());
      await voice;
      signal.throwIfAborted();
      send(ev.part('response.output_text.done', id, item, { text }));
      if (tts) {
        send(ev.part('response.output_audio_transcript.done', id, item, { transcript: text }));
        send(ev.part('response.output_audio.done', id, item));
      }
      const usage: Usage = {
        input_tokens: outcome.answer.usage.promptTokens,
        output_tokens: outcome.answer.usage.completionTokens,
        total_tokens: outcome.answer.usage.promptTokens + outcome.answer.usage.completionTokens,
      };
      send(ev.response(id, 'completed', usage, this.#conversationId));
    } catch (err) {
      await voice.catch(() => {});
      if (!signal.aborted) this.#d.fail(err);
      if (!this.#closed) send(ev.response(id, signal.aborted ? 'cancelled' : 'failed', null, this.#conversationId));
    }
  }

  async #speak(tts: TtsEngine, sentence: string, rate: InputRate, signal: AbortSignal, emit: (base64: string) => void): Promise<void> {
    signal.throwIfAborted();
    const spoken = await tts.synthesize(sentence, { signal });
    signal.throwIfAborted();
    const samples = spoken.sampleRate === rate ? spoken.samples : resample(spoken.samples, spoken.sampleRate, rate);
    const pcm = float32ToPcm16(samples);
    const step = (rate * CHUNK_MS) / 1000;
    for (let at = 0; at < pcm.length; at += step) {
      const part = pcm.subarray(at, at + step);
      emit(Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64'));
    }
  }
}
