import type { LlmPolicy } from '../engines/policy.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { CircuitBreaker, CircuitOpenError, type BreakerOptions, type BreakerStatus } from '../llm/breaker.ts';
import { LlmError } from '../llm/llm.ts';
import type { Logger } from '../logger.ts';
import { CloudSttEngine, CloudTtsEngine, SpeechError, type CloudSttStream, type SpeechRole } from './cloud.ts';
import type { AudioChunk, SttEngine, SttStream, TtsEngine } from './speech.ts';
import { inSpan } from '../tracing/spans.ts';

// Picks the speech engines of a session under its organisation's policy, the same three the LLM
// obeys. `local-only` is the privacy promise: its engines are the local ones, with no cloud engine
// anywhere in reach, so no audio and no answer text leaves the box whatever fails locally.
// `local-then-cloud` uses a cloud engine only where no local one is installed. `cloud-first`
// prefers the cloud engine while its circuit breaker admits it, and when a cloud call fails it
// redoes that one call locally (the utterance is kept for it), so a dead endpoint costs a turn
// some latency, never the turn itself.
//
// The engines handed out are wrappers: each call decides anew (a breaker may have opened or
// closed since the session began) and reports which engine served it and whether anything was
// sent to the cloud, for the conversation's `sentToCloud` and the audit.

/** Open after 3 consecutive failures (each can cost a connect timeout of a voice turn), one trial after 30 s. */
const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 3, coolDownMs: 30_000 };

/** One finished transcription or synthesis, successful or not. */
export interface SpeechUse {
  role: SpeechRole;
  /** The engine that produced the result: a cloud engine's name, a local model or voice id; null when none did. */
  engine: string | null;
  kind: 'local' | 'cloud' | 'espeak' | null;
  /** Audio (STT) or text (TTS) went to a cloud endpoint during the call, even if that attempt then failed. */
  sentToCloud: boolean;
  /** Why the preferred engine did not serve (its breaker was open, or it failed), when it did not. */
  fallback?: string;
}

export interface SessionSpeechOptions {
  /** Called once per transcription and per synthesis when it ends. */
  onUse?: (use: SpeechUse) => void;
}

/** What a session speaks with: the shape of RealtimeSpeech's stt/tts fields. */
export interface SessionSpeech {
  stt: PolicySttEngine | null;
  /** Why there is no STT engine, or why it is not the one the policy prefers. */
  sttReason?: string;
  tts: TtsEngine | null;
  ttsReason?: string;
}

/** Streams of a policy engine accept an abort signal at finish(); local ones simply ignore it. */
export interface PolicySttEngine extends SttEngine {
  createStream(): CloudSttStream;
}

/** The locally opened engines, as openSpeechEngines() returns them. */
export interface LocalSpeech {
  stt: SttEngine | null;
  sttReason?: string | undefined;
  tts: TtsEngine | null;
  ttsReason?: string | undefined;
}

export interface SpeechRouterOptions {
  local: LocalSpeech;
  cloud: { stt: CloudSttEngine | null; tts: CloudTtsEngine | null };
  breaker?: BreakerOptions | undefined;
  log: Logger;
  clock: Clock;
}

export interface SpeechEngineStatus {
  role: SpeechRole;
  name: string;
  model: string;
  breaker: BreakerStatus;
  /** Calls that reached this engine (breaker refusals excluded). */
  requests: number;
  /** Of those, how many failed (caller aborts excluded). */
  failures: number;
  lastError: { kind: string; message: string; at: string } | null;
}

interface Slot<E> {
  engine: E;
  /** Reported as SpeechUse.engine. */
  id: string;
  kind: 'local' | 'cloud' | 'espeak';
  /** Cloud engines only: local failures are the box's own problem, and a breaker would not help. */
  breaker: CircuitBreaker | null;
  requests: number;
  failures: number;
  lastError: SpeechEngineStatus['lastError'];
}

const WHAT: Record<SpeechRole, string> = { stt: 'speech recognition', tts: 'speech output' };
const URL_VAR: Record<SpeechRole, string> = { stt: 'CLOUD_STT_URL', tts: 'CLOUD_TTS_URL' };

export class SpeechRouter {
  readonly #local: { stt: Slot<SttEngine> | null; tts: Slot<TtsEngine> | null };
  readonly #cloud: { stt: Slot<CloudSttEngine> | null; tts: Slot<CloudTtsEngine> | null };
  readonly #localReasons: { stt: string | undefined; tts: string | undefined };
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(options: SpeechRouterOptions) {
    const breaker = { ...(options.breaker ?? DEFAULT_BREAKER), clock: options.clock };
    const slot = <E>(engine: E, id: string, kind: Slot<E>['kind']): Slot<E> => ({
      engine,
      id,
      kind,
      breaker: kind === 'cloud' ? new CircuitBreaker(id, breaker) : null,
      requests: 0,
      failures: 0,
      lastError: null,
    });
    const { stt, tts } = options.local;
    this.#local = { stt: stt ? slot(stt, stt.model.id, stt.kind) : null, tts: tts ? slot(tts, tts.voice.id, tts.kind) : null };
    this.#localReasons = { stt: options.local.sttReason, tts: options.local.ttsReason };
    const cloud = options.cloud;
    this.#cloud = { stt: cloud.stt ? slot(cloud.stt, cloud.stt.name, 'cloud') : null, tts: cloud.tts ? slot(cloud.tts, cloud.tts.name, 'cloud') : null };
    this.#log = options.log;
    this.#clock = options.clock;
  }

  /** The engines a session of an organisation with `policy` may use. */
  engines(policy: LlmPolicy, options: SessionSpeechOptions = {}): SessionSpeech {
    const report = options.onUse ?? (() => {});
    const sttSlots = this.#candidates(this.#local.stt, this.#cloud.stt, policy);
    const ttsSlots = this.#candidates(this.#local.tts, this.#cloud.tts, policy);
    const speech: SessionSpeech = {
      stt: sttSlots.length > 0 ? this.#sttEngine(sttSlots, policy, report) : null,
      tts: ttsSlots.length > 0 ? this.#ttsEngine(ttsSlots, policy, report) : null,
    };
    const sttReason = this.#reason('stt', policy, sttSlots);
    const ttsReason = this.#reason('tts', policy, ttsSlots);
    if (sttReason) speech.sttReason = sttReason;
    if (ttsReason) speech.ttsReason = ttsReason;
    return speech;
  }

  status(): SpeechEngineStatus[] {
    const rows: SpeechEngineStatus[] = [];
    for (const role of ['stt', 'tts'] as const) {
      const slot = this.#cloud[role];
      if (!slot) continue;
      rows.push({
        role,
        name: slot.id,
        model: role === 'stt' ? (slot as Slot<CloudSttEngine>).engine.model.id : (slot as Slot<CloudTtsEngine>).engine.voice.id,
        breaker: (slot.breaker as CircuitBreaker).status(),
        requests: slot.requests,
        failures: slot.failures,
        lastError: slot.lastError,
      });
    }
    return rows;
  }

  /** Closes the cloud engines; the local ones belong to whoever opened them. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#cloud.stt?.engine.close(), this.#cloud.tts?.engine.close()]);
  }

  #candidates<E>(local: Slot<E> | null, cloud: Slot<E> | null, policy: LlmPolicy): Slot<E>[] {
    if (policy === 'cloud-first') return [cloud, local].filter((slot) => slot !== null);
    if (policy === 'local-then-cloud') return local ? [local] : cloud ? [cloud] : [];
    return local ? [local] : [];
  }

  #reason(role: SpeechRole, policy: LlmPolicy, slots: Slot<unknown>[]): string | undefined {
    const localReason = this.#localReasons[role];
    const cloud = this.#cloud[role];
    const hasLocal = this.#local[role] !== null;
    const why = localReason ?? `no local ${WHAT[role]} is installed`;
    if (slots.length === 0) {
      if (policy === 'local-only') return cloud ? `${why}; the organisation's policy (local-only) keeps speech on this server, so the cloud ${WHAT[role]} endpoint is not used` : why;
      return `${why}, and no cloud ${WHAT[role]} endpoint is configured (${URL_VAR[role]})`;
    }
    if (!hasLocal) return `${why}; using the cloud ${WHAT[role]} endpoint (policy ${policy})`;
    // A local engine is in use or is the fallback: its own caveat (espeak-ng instead of the voice) still applies.
    return localReason;
  }

  /** Slots in the order to try now: those behind an open breaker are passed over, unless nothing else is left. */
  #order<E>(slots: Slot<E>[]): { order: Slot<E>[]; skipped: string[] } {
    const start = slots.findIndex((slot) => !slot.breaker || slot.breaker.admits);
    if (start <= 0) return { order: slots, skipped: [] };
    return { order: slots.slice(start), skipped: slots.slice(0, start).map((slot) => `${slot.id} skipped: ${describe(slot)}`) };
  }

  #sttEngine(slots: Slot<SttEngine>[], policy: LlmPolicy, report: (use: SpeechUse) => void): PolicySttEngine {
    const preferred = this.#order(slots).order[0] as Slot<SttEngine>;
    return {
      kind: preferred.engine.kind,
      model: preferred.engine.model,
      createStream: () => this.#sttStream(slots, policy, report),
      // The engines are shared by every session; the router's owner closes them.
      close: async () => {},
    };
  }

  #sttStream(slots: Slot<SttEngine>[], policy: LlmPolicy, report: (use: SpeechUse) => void): CloudSttStream {
    const { order, skipped } = this.#order(slots);
    const first = order[0] as Slot<SttEngine>;
    const primary = first.engine.createStream();
    // Kept only when another engine may have to redo the utterance.
    const replay: AudioChunk[] | null = order.length > 1 ? [] : null;
    let result: Promise<string> | null = null;
    return {
      accept: (chunk) => {
        primary.accept(chunk);
        replay?.push({ samples: chunk.samples.slice(), sampleRate: chunk.sampleRate });
      },
      partial: () => primary.partial(),
      finish: (options = {}) =>
        (result ??= traced('stt', policy, report, (report) => this.#attempt('stt', order, skipped, policy, options.signal, report, (slot, index, onSend) => {
          let stream: SttStream = primary;
          if (index > 0) {
            stream = slot.engine.createStream();
            for (const chunk of replay ?? []) stream.accept(chunk);
          }
          // Local streams take no options; passing them is harmless.
          return (stream as CloudSttStream).finish({ ...(options.signal ? { signal: options.signal } : {}), onSend });
        }))),
    };
  }

  #ttsEngine(slots: Slot<TtsEngine>[], policy: LlmPolicy, report: (use: SpeechUse) => void): TtsEngine {
    const preferred = this.#order(slots).order[0] as Slot<TtsEngine>;
    return {
      kind: preferred.engine.kind,
      voice: preferred.engine.voice,
      synthesize: (text, options = {}) => {
        const { order, skipped } = this.#order(slots);
        return traced('tts', policy, report, (report) =>
          this.#attempt('tts', order, skipped, policy, options.signal, report, (slot, _index, onSend) => (slot.engine as CloudTtsEngine).synthesize(text, { ...options, onSend })),
        );
      },
      close: async () => {},
    };
  }

  /** Runs `call` on each slot in turn until one succeeds; a caller's abort or the last failure ends it. */
  async #attempt<E, T>(
    role: SpeechRole,
    order: Slot<E>[],
    skipped: string[],
    policy: LlmPolicy,
    signal: AbortSignal | undefined,
    report: (use: SpeechUse) => void,
    call: (slot: Slot<E>, index: number, onSend: () => void) => Promise<T>,
  ): Promise<T> {
    const notes = [...skipped];
    let sentToCloud = false;
    const onSend = (): void => {
      sentToCloud = true;
    };
    const done = (slot: Slot<E> | null): void => {
      const use: SpeechUse = { role, engine: slot?.id ?? null, kind: slot?.kind ?? null, sentToCloud };
      if (notes.length > 0) use.fallback = notes.join('; ');
      try {
        report(use);
      } catch (error) {
        this.#log.error({ err: error }, 'speech use callback failed');
      }
    };
    for (const [index, slot] of order.entries()) {
      try {
        signal?.throwIfAborted();
        const result = slot.breaker
          ? await slot.breaker.execute(() => {
              slot.requests += 1;
              return call(slot, index, onSend);
            }, signal)
          : await call(slot, index, onSend);
        if (notes.length > 0) this.#log.warn({ policy, role, engine: slot.id, fallback: notes.join('; ') }, 'speech fallback');
        done(slot);
        return result;
      } catch (error) {
        if (signal?.aborted) {
          done(null);
          throw signal.reason;
        }
        const refused = error instanceof CircuitOpenError;
        if (slot.breaker && !refused) this.#recordFailure(slot, error);
        // Only typed cloud failures move on: a local engine's error (or a RangeError for overlong
        // input, which the next engine would refuse too) goes back to the caller as it is.
        if (!(error instanceof LlmError) || index === order.length - 1) {
          done(null);
          throw refused ? new SpeechError(role, 'unavailable', slot.id, `${slot.id} skipped: ${error.message}`, { cause: error }) : error;
        }
        notes.push(`${slot.id} ${refused ? 'skipped' : error.kind === 'timeout' ? 'timed out' : 'failed'} (${error.message})`);
        this.#log.warn({ policy, role, engine: slot.id, kind: error.kind, err: error.message }, 'cloud speech failed; redoing the call locally');
      }
    }
    // `order` is never empty: engines() hands out no engine without a slot.
    throw new Error('unreachable');
  }

  #recordFailure(slot: Slot<unknown>, error: unknown): void {
    slot.failures += 1;
    const kind = error instanceof LlmError ? error.kind : 'error';
    slot.lastError = { kind, message: error instanceof Error ? error.message : String(error), at: this.#clock.now().toISOString() };
  }
}

function describe(slot: Slot<unknown>): string {
  const status = slot.breaker?.status();
  return status ? `circuit ${status.state} since ${status.openedAt ?? '?'}${status.lastError ? `; last error: ${status.lastError}` : ''}` : 'unavailable';
}

/** One recognition or synthesis as a span, naming the engine that served it. */
function traced<T>(role: SpeechRole, policy: LlmPolicy, report: (use: SpeechUse) => void, call: (report: (use: SpeechUse) => void) => Promise<T>): Promise<T> {
  return inSpan(role === 'stt' ? 'stt transcribe' : 'tts synthesize', { 'lectern.speech.policy': policy }, (span) =>
    call((use) => {
      span.setAttributes({ 'lectern.speech.engine': use.engine ?? 'none', 'lectern.speech.sent_to_cloud': use.sentToCloud });
      report(use);
    }),
  );
}

/**
 * The speech router of an instance: the locally opened engines (from openSpeechEngines) plus the
 * cloud endpoints configured by CLOUD_STT_* / CLOUD_TTS_*. The key, flavour and API version fall
 * back to the cloud LLM's. Configuring an endpoint sends nothing by itself: each organisation's
 * policy decides whether its sessions may use it.
 */
export function openSpeechRouter(config: Config, local: LocalSpeech, log: Logger, clock: Clock = systemClock): SpeechRouter {
  const common = {
    apiKey: config.CLOUD_SPEECH_API_KEY ?? config.CLOUD_LLM_API_KEY,
    flavour: config.CLOUD_SPEECH_FLAVOUR ?? config.CLOUD_LLM_FLAVOUR,
    apiVersion: config.CLOUD_SPEECH_API_VERSION ?? config.CLOUD_LLM_API_VERSION,
    timeouts: { connectMs: config.CLOUD_SPEECH_CONNECT_TIMEOUT_MS, totalMs: config.CLOUD_SPEECH_TOTAL_TIMEOUT_MS },
  };
  const stt =
    config.CLOUD_STT_URL && config.CLOUD_STT_MODEL
      ? new CloudSttEngine({
          ...common,
          name: 'cloud:stt',
          baseUrl: config.CLOUD_STT_URL,
          model: config.CLOUD_STT_MODEL,
          language: config.CLOUD_STT_LANGUAGE,
          log: log.child({ engine: 'cloud:stt' }),
        })
      : null;
  const tts =
    config.CLOUD_TTS_URL && config.CLOUD_TTS_MODEL
      ? new CloudTtsEngine({
          ...common,
          name: 'cloud:tts',
          baseUrl: config.CLOUD_TTS_URL,
          model: config.CLOUD_TTS_MODEL,
          voice: config.CLOUD_TTS_VOICE,
          format: config.CLOUD_TTS_FORMAT,
          log: log.child({ engine: 'cloud:tts' }),
        })
      : null;
  if (stt) log.info({ model: stt.model.id }, 'cloud speech recognition configured (used only where the organisation policy allows cloud)');
  if (tts) log.info({ voice: tts.voice.id }, 'cloud speech output configured (used only where the organisation policy allows cloud)');
  return new SpeechRouter({ local, cloud: { stt, tts }, log, clock });
}
