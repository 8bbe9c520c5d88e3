import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { callWithRetries, describeFailure, endpointAddress, endpointDeps, errorDetail, retryAfterMs, type EndpointDeps } from '../llm/endpoint.ts';
import { LlmError, type LlmErrorKind } from '../llm/llm.ts';
import { createResampler, pcm16ToFloat32, type Resampler } from './resample.ts';
import type { AudioChunk, SttEngine, SttStream, TtsEngine } from './speech.ts';
import { decodeWav, encodeWav } from './wav.ts';

// OpenAI-compatible speech endpoints: `/audio/transcriptions` (Whisper, gpt-4o-*-transcribe,
// Groq, a faster-whisper or speaches server on the LAN) and `/audio/speech` (tts-1,
// gpt-4o-mini-tts, Kokoro-FastAPI). Plain fetch for the same reasons as the cloud LLM: two
// deadlines of our own, retries bounded by the total one, redirects never followed (an `api-key`
// header would follow them) and error messages scrubbed of the key before anyone sees them.
//
// These engines never decide whether audio may leave the box: the speech router does, from the
// organisation's policy, and only hands them out when it allows the cloud.

export type SpeechRole = 'stt' | 'tts';
export type SpeechErrorKind = Exclude<LlmErrorKind, 'interrupted'>;

/**
 * A failed cloud speech call. It is an LlmError so that the LLM's circuit breaker judges it the
 * same way: unavailable and timeout count towards opening, invalid proves the endpoint answered.
 */
export class SpeechError extends LlmError {
  readonly role: SpeechRole;
  /** Whether asking the same endpoint again at once may work (refused or reset connection, 5xx, 429). */
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
  constructor(
    role: SpeechRole,
    kind: SpeechErrorKind,
    engine: string,
    message: string,
    options: { retryable?: boolean; retryAfterMs?: number | null; overloaded?: boolean; cause?: unknown } = {},
  ) {
    super(kind, engine, message, { cause: options.cause, overloaded: options.overloaded ?? false });
    this.name = 'SpeechError';
    this.role = role;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** The request was built by the server, not the client, so every failure reads as the service being unavailable. */
  override toAppError(): AppError {
    return this.role === 'stt'
      ? new AppError(503, 'stt_unavailable', `Speech recognition failed: ${this.message}`)
      : new AppError(503, 'tts_unavailable', `Speech output failed: ${this.message}`);
  }
}

export interface CloudSpeechOptions extends EndpointDeps {
  /** Shown in logs, the breaker status and audit records; default "cloud:stt" / "cloud:tts". */
  name?: string;
  /** e.g. "https://api.openai.com/v1", or an Azure deployment URL ("…/openai/deployments/whisper"). */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  /** 'azure': `api-key` header and `api-version` query parameter instead of a bearer token. */
  flavour?: 'openai' | 'azure';
  apiVersion?: string | undefined;
  timeouts: {
    /** Until the response headers arrive, per attempt. */
    connectMs: number;
    /** The whole call, retries and reading the body included. */
    totalMs: number;
  };
  /** Default: 2 attempts, 250 ms base delay, 2 s cap. A voice turn cannot wait through a long backoff. */
  retries?: { attempts: number; baseDelayMs: number; maxDelayMs: number };
}

/** Of an unexpected body, enough to recognise what answered. */
const MAX_UNEXPECTED = 300;
const DEFAULT_RETRIES = { attempts: 2, baseDelayMs: 250, maxDelayMs: 2_000 };

/** Tells the caller that bytes are about to leave the box (for `sentToCloud` and the audit). */
export interface SendNotice {
  onSend?: () => void;
}

/** The HTTP half both engines share: headers, deadlines, retries, error classification, scrubbing. */
class SpeechClient {
  readonly name: string;
  readonly #role: SpeechRole;
  readonly #options: CloudSpeechOptions;
  readonly #url: string;
  readonly #origin: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #inflight = new Set<AbortController>();
  #closed = false;

  constructor(role: SpeechRole, path: string, options: CloudSpeechOptions) {
    this.#role = role;
    this.#options = options;
    const name = options.name ?? `cloud:${role}`;
    this.name = name.startsWith('cloud:') ? name : `cloud:${name}`;
    ({ url: this.#url, origin: this.#origin, headers: this.#headers } = endpointAddress(options.baseUrl, path, options));
    ({ fetch: this.#fetch, clock: this.#clock, random: this.#random, sleep: this.#sleep } = endpointDeps(options));
  }

  close(): void {
    this.#closed = true;
    for (const call of this.#inflight) call.abort(this.error('unavailable', 'engine closed', false));
  }

  /**
   * POSTs `body()` (built afresh per attempt: a FormData stream is consumed by sending it) and
   * hands a successful response to `read`, all within the total deadline.
   */
  async post<T>(body: () => BodyInit, headers: Record<string, string>, signal: AbortSignal | undefined, notice: SendNotice, read: (response: Response) => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    if (this.#closed) throw this.error('unavailable', 'engine closed', false);
    const { connectMs, totalMs } = this.#options.timeouts;
    const retries = this.#options.retries ?? DEFAULT_RETRIES;
    return callWithRetries({
      signal,
      started: this.#now(),
      totalMs,
      timeoutError: () => this.error('timeout', `no complete response within ${totalMs} ms`, false),
      inflight: this.#inflight,
      attempts: retries.attempts,
      backoff: retries,
      now: () => this.#now(),
      random: this.#random,
      sleep: this.#sleep,
      attempt: (callSignal) => {
        notice.onSend?.();
        return this.#attempt(body(), headers, callSignal, connectMs, read);
      },
      classify: (error) => {
        const failure = error instanceof SpeechError ? error : this.error('unavailable', this.scrub(describeFailure(error)), true, error);
        return { failure, retryable: failure.retryable, retryAfterMs: failure.retryAfterMs };
      },
      onRetry: (attempt, delay, failure) => this.#options.log?.warn({ engine: this.name, attempt, delayMs: Math.round(delay), err: failure.message }, 'cloud speech request failed; retrying'),
    });
  }

  async #attempt<T>(body: BodyInit, headers: Record<string, string>, callSignal: AbortSignal, connectMs: number, read: (response: Response) => Promise<T>): Promise<T> {
    const own = new AbortController();
    const signal = AbortSignal.any([callSignal, own.signal]);
    // Not retried: for a transcription the headers wait for the whole transcript, so a second wait
    // would double an already long one while a voice turn (or its local fallback) waits.
    const connect = setTimeout(() => own.abort(this.error('timeout', `no response headers within ${connectMs} ms`, false)), connectMs);
    try {
      const response = await this.#fetch(this.#url, { method: 'POST', headers: { ...this.#headers, ...headers }, body, signal, redirect: 'manual' });
      clearTimeout(connect);
      if (!response.ok) throw await this.#httpError(response);
      return await read(response);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      clearTimeout(connect);
    }
  }

  async #httpError(response: Response): Promise<SpeechError> {
    const detail = this.scrub(errorDetail(await response.text().catch(() => '')));
    const status = response.status;
    const what = `HTTP ${status} from ${this.#origin}${detail ? `: ${detail}` : ''}`;
    if (status === 429) {
      // An exhausted quota or billing limit does not recover within a retry window.
      const permanent = /insufficient_quota|billing/i.test(detail);
      return this.error('unavailable', what, !permanent, undefined, permanent ? null : retryAfterMs(response.headers, this.#now()));
    }
    if (status === 408) return this.error('timeout', what, true);
    if (status >= 500) return this.error('unavailable', what, true, undefined, retryAfterMs(response.headers, this.#now()));
    const location = status >= 300 && status < 400 ? ` (redirected to ${response.headers.get('location') ?? '?'}; configure the final URL)` : '';
    return this.error('invalid', what + location, false);
  }


  error(kind: SpeechErrorKind, message: string, retryable: boolean, cause?: unknown, retryAfter?: number | null): SpeechError {
    return new SpeechError(this.#role, kind, this.name, message, { retryable, retryAfterMs: retryAfter ?? null, cause });
  }

  /** A response that is not what was asked for: the endpoint is up but not this kind of service. */
  unexpected(what: string): SpeechError {
    return this.error('unavailable', `unexpected response from ${this.#origin}: ${this.scrub(what).slice(0, MAX_UNEXPECTED)}`, false);
  }

  /** Endpoints sometimes echo the credential they rejected; it must not reach logs or clients. */
  scrub(text: string): string {
    const key = this.#options.apiKey;
    return key ? text.replaceAll(key, '[redacted]') : text;
  }

  #now(): number {
    return this.#clock.now().getTime();
  }
}

export interface CloudSttOptions extends CloudSpeechOptions {
  /** ISO-639-1 code sent as `language`; a hint that saves the endpoint detecting it. */
  language?: string | undefined;
  /** Longer utterances are refused; the endpoints cap uploads at 25 MB (about 13 min at 16 kHz). */
  maxSeconds?: number;
}

/** What the cloud STT stream adds to the port: an abort signal and a notice before the upload. */
export interface CloudSttStream extends SttStream {
  finish(options?: { signal?: AbortSignal } & SendNotice): Promise<string>;
}

// Whisper-family models resample to 16 kHz anyway; sending 16 kHz halves a 24 kHz client's upload.
const UPLOAD_RATE = 16_000;
// OpenAI refuses audio under 0.1 s; so short a snippet is never speech.
const MIN_UPLOAD_SAMPLES = UPLOAD_RATE / 10;

export class CloudSttEngine implements SttEngine {
  readonly kind = 'cloud' as const;
  readonly model: { id: string; streaming: boolean; languages: string[] };
  readonly #client: SpeechClient;
  readonly #options: CloudSttOptions;
  readonly #maxSamples: number;

  constructor(options: CloudSttOptions) {
    this.#options = options;
    this.#client = new SpeechClient('stt', '/audio/transcriptions', options);
    // 'und': undetermined (BCP 47); the endpoint detects the language per request.
    this.model = { id: options.model, streaming: false, languages: [options.language ?? 'und'] };
    this.#maxSamples = (options.maxSeconds ?? 600) * UPLOAD_RATE;
  }

  get name(): string {
    return this.#client.name;
  }

  createStream(): CloudSttStream {
    const pieces: Float32Array[] = [];
    let buffered = 0;
    let resampler: Resampler | null = null;
    let result: Promise<string> | null = null;
    const keep = (samples: Float32Array): void => {
      buffered += samples.length;
      if (buffered > this.#maxSamples) throw new RangeError(`an utterance longer than ${this.#maxSamples / UPLOAD_RATE} s`);
      pieces.push(samples);
    };
    return {
      accept: (chunk) => {
        if (result) throw new Error('this speech stream has finished');
        if (resampler?.fromRate !== chunk.sampleRate) {
          if (resampler) keep(resampler.flush());
          resampler = createResampler(chunk.sampleRate, UPLOAD_RATE);
        }
        keep(resampler.process(chunk.samples));
      },
      partial: () => '',
      finish: (options = {}) =>
        (result ??= (async () => {
          if (resampler) keep(resampler.flush());
          if (buffered < MIN_UPLOAD_SAMPLES) return '';
          const samples = new Float32Array(buffered);
          pieces.reduce((at, piece) => (samples.set(piece, at), at + piece.length), 0);
          pieces.length = 0;
          return this.#transcribe(encodeWav(samples, UPLOAD_RATE), options.signal, options);
        })()),
    };
  }

  async #transcribe(wav: Uint8Array, signal: AbortSignal | undefined, notice: SendNotice): Promise<string> {
    const file = new Blob([wav as Uint8Array<ArrayBuffer>], { type: 'audio/wav' });
    const form = (): FormData => {
      const data = new FormData();
      data.set('model', this.#options.model);
      data.set('file', file, 'speech.wav');
      data.set('response_format', 'json');
      if (this.#options.language) data.set('language', this.#options.language);
      return data;
    };
    return this.#client.post(form, { accept: 'application/json' }, signal, notice, async (response) => {
      const text = await response.text();
      // Some servers answer plain text whatever response_format says.
      if (!(response.headers.get('content-type') ?? '').includes('json')) return text.trim();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw this.#client.unexpected(`unreadable JSON: ${text.slice(0, 80)}`);
      }
      const transcript = (parsed as { text?: unknown } | null)?.text;
      if (typeof transcript !== 'string') throw this.#client.unexpected(`no "text" in ${text.slice(0, 80)}`);
      return transcript.trim();
    });
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

export interface CloudTtsOptions extends CloudSpeechOptions {
  /** e.g. "alloy"; endpoint-specific. */
  voice: string;
  /** 'pcm': raw 24 kHz s16le mono (OpenAI's, no decoding); 'wav' for servers without raw PCM. */
  format?: 'pcm' | 'wav';
  /** Rate of 'pcm' responses; OpenAI's is 24 kHz. WAV responses carry their own. */
  sampleRate?: number;
  /** Language tag reported for the voice; the endpoints' voices speak whatever they are given. */
  language?: string | undefined;
  /** OpenAI's limit for `input`. */
  maxChars?: number;
}

export class CloudTtsEngine implements TtsEngine {
  readonly kind = 'cloud' as const;
  readonly voice: { id: string; language: string; sampleRate: number };
  readonly #client: SpeechClient;
  readonly #options: CloudTtsOptions;
  readonly #format: 'pcm' | 'wav';

  constructor(options: CloudTtsOptions) {
    this.#options = options;
    this.#client = new SpeechClient('tts', '/audio/speech', options);
    this.#format = options.format ?? 'pcm';
    this.voice = { id: `${options.model}:${options.voice}`, language: options.language ?? 'und', sampleRate: options.sampleRate ?? 24_000 };
  }

  get name(): string {
    return this.#client.name;
  }

  async synthesize(text: string, options: { signal?: AbortSignal; speed?: number } & SendNotice = {}): Promise<AudioChunk> {
    options.signal?.throwIfAborted();
    const input = text.trim();
    if (input === '') return { samples: new Float32Array(0), sampleRate: this.voice.sampleRate };
    const maxChars = this.#options.maxChars ?? 4096;
    if (input.length > maxChars) throw new RangeError(`text of ${input.length} characters is longer than the ${maxChars} the cloud voice speaks at once`);
    const body: Record<string, unknown> = { model: this.#options.model, voice: this.#options.voice, input, response_format: this.#format };
    // The endpoint's range; 1 is its default, so it is left out.
    if (options.speed !== undefined && options.speed !== 1) body.speed = Math.min(4, Math.max(0.25, options.speed));
    const json = JSON.stringify(body);
    return this.#client.post(() => json, { 'content-type': 'application/json' }, options.signal, options, async (response) => {
      const type = response.headers.get('content-type') ?? '';
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (type.includes('json') || type.startsWith('text/')) throw this.#client.unexpected(`${type} instead of audio: ${errorDetail(new TextDecoder().decode(bytes))}`);
      // A server that ignores response_format=pcm and sends WAV anyway is still understood.
      if (isRiff(bytes)) {
        try {
          const { samples, sampleRate } = decodeWav(bytes);
          return { samples, sampleRate };
        } catch (error) {
          throw this.#client.unexpected(`undecodable WAV (${(error as Error).message})`);
        }
      }
      if (this.#format === 'wav') throw this.#client.unexpected(`${type || 'untyped'} body that is not WAV`);
      return { samples: pcm16ToFloat32(bytes), sampleRate: this.voice.sampleRate };
    });
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

function isRiff(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...bytes.subarray(8, 12)) === 'WAVE';
}



