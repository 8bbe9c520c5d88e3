import type { Clock } from '../clock.ts';
import { callWithRetries, describeFailure, endpointAddress, endpointDeps, errorDetail, retryAfterMs, type EndpointDeps } from './endpoint.ts';
import {
  LlmError,
  type ChatMessage,
  type FinishReason,
  type GenerateRequest,
  type GenerateResult,
  type GenerateUsage,
  type LlmEngine,
  type LlmErrorKind,
  type LlmModelInfo,
  type ToolCall,
} from './llm.ts';

// Any OpenAI-compatible chat endpoint: OpenAI, Azure OpenAI, Groq, vLLM, Ollama, a llama-server
// on the LAN. Plain fetch + a small SSE reader instead of the `openai` client: the client has one
// overall timeout and its own retry loop, whereas this engine needs three distinct deadlines
// (headers, first token, total) and a retry rule that depends on whether text already reached the
// caller. Wrapping the client would mean disabling most of it, and the wire format is small.

export interface CloudLlmOptions extends EndpointDeps {
  /** Label of the endpoint ("openai", "groq", "lan"); the engine is named "cloud:<name>" (a leading "cloud:" is kept, not doubled). */
  name: string;
  /** e.g. "https://api.openai.com/v1", "http://10.0.0.5:8080/v1", or an Azure deployment URL. */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  /** 'azure': `api-key` header and `api-version` query parameter instead of a bearer token. */
  flavour?: 'openai' | 'azure';
  /** Azure only; defaults to the GA version that streams usage. */
  apiVersion?: string;
  /** The model's context window; unknown for most endpoints, so a conservative default. */
  contextSize?: number;
  toolCalling?: boolean;
  timeouts: {
    /** Until the response headers arrive, per attempt. */
    connectMs: number;
    /** From the start of an attempt until the first text or tool-call fragment. */
    firstTokenMs: number;
    /** The whole call, retries included. */
    totalMs: number;
  };
  retries: {
    /** Attempts in all, the first included (1 = never retry). */
    attempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
  };
}

const DEFAULT_CONTEXT_SIZE = 8192;

/** An attempt's failure, with whether another attempt may help. */
class AttemptError extends LlmError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
  constructor(kind: LlmErrorKind, engine: string, message: string, options: { retryable: boolean; retryAfterMs?: number | null; cause?: unknown }) {
    super(kind, engine, message, { cause: options.cause });
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

export class CloudLlmEngine implements LlmEngine {
  readonly kind = 'cloud' as const;
  readonly name: string;
  readonly model: LlmModelInfo;
  readonly #options: CloudLlmOptions;
  readonly #url: string;
  readonly #origin: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #inflight = new Set<AbortController>();
  #closed = false;

  constructor(options: CloudLlmOptions) {
    this.#options = options;
    this.name = options.name.startsWith('cloud:') ? options.name : `cloud:${options.name}`;
    this.model = { id: options.model, contextSize: options.contextSize ?? DEFAULT_CONTEXT_SIZE, toolCalling: options.toolCalling ?? true };
    const address = endpointAddress(options.baseUrl, '/chat/completions', options);
    this.#url = address.url;
    this.#origin = address.origin;
    this.#headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...address.headers };
    ({ fetch: this.#fetch, clock: this.#clock, random: this.#random, sleep: this.#sleep } = endpointDeps(options));
  }

  /** Approximate: about four characters per token for English BPE vocabularies; the endpoint's tokenizer is unknown. */
  countTokens(text: string): number {
    return Math.ceil(text.length / 4);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#inflight) call.abort(this.#error('unavailable', 'engine closed', false));
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const { signal } = request;
    signal?.throwIfAborted();
    if (this.#closed) throw new LlmError('unavailable', this.name, 'engine closed');
    const { timeouts, retries } = this.#options;
    const started = this.#now();
    const body = JSON.stringify(this.#body(request));
    const progress = { emitted: false, firstTokenAt: null as number | null };
    return callWithRetries({
      signal,
      started,
      totalMs: timeouts.totalMs,
      timeoutError: () => this.#error('timeout', `no complete answer within ${timeouts.totalMs} ms`, false),
      inflight: this.#inflight,
      attempts: retries.attempts,
      backoff: retries,
      now: () => this.#now(),
      random: this.#random,
      sleep: this.#sleep,
      attempt: (callSignal) => this.#attempt(body, request, callSignal, progress, started),
      classify: (error) => {
        const failure = error instanceof LlmError ? error : this.#error('unavailable', describeFailure(error), true, error);
        // Part of an answer reached the caller: another attempt would start a second one.
        if (progress.emitted && failure.kind !== 'invalid') {
          return { failure: new LlmError('interrupted', this.name, `${failure.message} after part of the answer was streamed`, { cause: failure }), retryable: false, retryAfterMs: null };
        }
        const attemptError = failure instanceof AttemptError ? failure : null;
        return { failure, retryable: attemptError?.retryable ?? false, retryAfterMs: attemptError?.retryAfterMs ?? null };
      },
      onRetry: (attempt, delay, failure) => this.#options.log?.warn({ engine: this.name, attempt, delayMs: Math.round(delay), err: failure.message }, 'cloud LLM request failed; retrying'),
    });
  }

  async #attempt(
    body: string,
    request: GenerateRequest,
    callSignal: AbortSignal,
    progress: { emitted: boolean; firstTokenAt: number | null },
    started: number,
  ): Promise<GenerateResult> {
    const { connectMs, firstTokenMs } = this.#options.timeouts;
    // Only a failed attempt without streamed text gets here again, so its fragments are discarded.
    progress.firstTokenAt = null;
    const own = new AbortController();
    const signal = AbortSignal.any([callSignal, own.signal]);
    const connect = setTimeout(() => own.abort(this.#error('timeout', `no response headers within ${connectMs} ms`, true)), connectMs);
    const firstToken = setTimeout(() => own.abort(this.#error('timeout', `no first token within ${firstTokenMs} ms`, true)), firstTokenMs);
    try {
      const response = await this.#fetch(this.#url, { method: 'POST', headers: this.#headers, body, signal, redirect: 'manual' });
      clearTimeout(connect);
      if (!response.ok) throw await this.#httpError(response);
      const stream = new StreamAccumulator(this.name, (text) => this.#scrub(text));
      const onFragment = (text: string): void => {
        if (progress.firstTokenAt === null) progress.firstTokenAt = this.#now();
        clearTimeout(firstToken);
        if (text === '') return;
        progress.emitted = true;
        request.onDelta?.(text);
      };
      if ((response.headers.get('content-type') ?? '').includes('application/json')) {
        // Some proxies ignore `stream: true` and answer with a whole completion.
        stream.push(parseJson(await response.text(), this.name), onFragment);
        stream.done = true;
      } else {
        if (!response.body) throw this.#error('unavailable', 'empty response body', true);
        for await (const data of sseData(response.body)) {
          if (data === '[DONE]') {
            stream.done = true;
            break;
          }
          stream.push(parseJson(data, this.name), onFragment);
        }
      }
      return stream.finish(request, this, { firstTokenMs: progress.firstTokenAt === null ? null : progress.firstTokenAt - started, totalMs: this.#now() - started });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      clearTimeout(connect);
      clearTimeout(firstToken);
    }
  }

  #body(request: GenerateRequest): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: this.#options.model,
      messages: request.messages.map(wireMessage),
      max_tokens: request.maxTokens,
      stream: true,
      stream_options: { include_usage: true },
    };
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.tools?.length) {
      body.tools = request.tools.map((tool) => ({ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } }));
    }
    return body;
  }

  async #httpError(response: Response): Promise<AttemptError> {
    const detail = this.#scrub(errorDetail(await response.text().catch(() => '')));
    const status = response.status;
    const what = `HTTP ${status} from ${this.#origin}${detail ? `: ${detail}` : ''}`;
    if (status === 429) {
      // An exhausted quota or billing limit does not recover within a retry window.
      const permanent = /insufficient_quota|billing/i.test(detail);
      return this.#error('unavailable', what, !permanent, undefined, permanent ? null : retryAfterMs(response.headers, this.#now()));
    }
    if (status === 408) return this.#error('timeout', what, true);
    if (status >= 500) return this.#error('unavailable', what, true, undefined, retryAfterMs(response.headers, this.#now()));
    // Redirects are not followed: an `api-key` header would travel to wherever Location points.
    const location = status >= 300 && status < 400 ? ` (redirected to ${response.headers.get('location') ?? '?'}; configure the final URL)` : '';
    return this.#error('invalid', what + location, false);
  }

  #error(kind: LlmErrorKind, message: string, retryable: boolean, cause?: unknown, retryAfter?: number | null): AttemptError {
    return new AttemptError(kind, this.name, message, { retryable, retryAfterMs: retryAfter ?? null, cause });
  }

  /** Endpoints sometimes echo the credential they rejected; it must not reach logs or answers. */
  #scrub(text: string): string {
    const key = this.#options.apiKey;
    return key ? text.replaceAll(key, '[redacted]') : text;
  }

  #now(): number {
    return this.#clock.now().getTime();
  }
}

function wireMessage(message: ChatMessage): Record<string, unknown> {
  if (message.role === 'tool') return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  if (message.role === 'assistant' && message.toolCalls?.length) {
    return {
      role: 'assistant',
      content: message.content || null,
      tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } })),
    };
  }
  return { role: message.role, content: message.content };
}

interface WireToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface WireDelta {
  content?: string | null;
  tool_calls?: WireToolCallDelta[];
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface WireChunk {
  choices?: Array<{ delta?: WireDelta; message?: WireDelta; finish_reason?: string | null }>;
  usage?: WireUsage | null;
  /** Groq reported usage here before it supported `stream_options`. */
  x_groq?: { usage?: WireUsage };
  error?: unknown;
}

/** Assembles streamed chunks (text, tool-call fragments keyed by index, finish reason, usage) into a result. */
class StreamAccumulator {
  readonly #engine: string;
  readonly #scrub: (text: string) => string;
  /** Whether the end of the answer was seen ([DONE], or a whole non-streamed completion). */
  done = false;
  #text = '';
  readonly #calls = new Map<number, { id: string; name: string; arguments: string }>();
  #finish: string | null = null;
  #usage: WireUsage | null = null;

  constructor(engine: string, scrub: (text: string) => string) {
    this.#engine = engine;
    this.#scrub = scrub;
  }

  push(chunk: WireChunk, onFragment: (text: string) => void): void {
    if (chunk.error !== undefined) {
      throw new AttemptError('unavailable', this.#engine, `error event in stream: ${this.#scrub(errorDetail(chunk.error))}`, { retryable: true });
    }
    this.#usage = chunk.usage ?? chunk.x_groq?.usage ?? this.#usage;
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const delta = choice.delta ?? choice.message ?? {};
    for (const [position, fragment] of (delta.tool_calls ?? []).entries()) {
      const index = fragment.index ?? position;
      const call = this.#calls.get(index) ?? { id: '', name: '', arguments: '' };
      call.id ||= fragment.id ?? '';
      call.name += fragment.function?.name ?? '';
      call.arguments += fragment.function?.arguments ?? '';
      this.#calls.set(index, call);
      onFragment('');
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      this.#text += delta.content;
      onFragment(delta.content);
    }
    if (choice.finish_reason) this.#finish = choice.finish_reason;
  }

  finish(request: GenerateRequest, engine: LlmEngine, timings: GenerateResult['timings']): GenerateResult {
    // Without [DONE] or a finish reason the connection was cut: what arrived may be half an answer.
    if (!this.done && this.#finish === null) {
      throw new AttemptError('unavailable', this.#engine, 'the stream ended before the answer was complete', { retryable: true });
    }
    const toolCalls = [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([index, call]) => this.#toolCall(index, call));
    return {
      text: this.#text,
      toolCalls,
      finishReason: toolCalls.length > 0 ? 'tool_calls' : finishReason(this.#finish),
      usage: this.#usageOf(request, engine),
      timings,
    };
  }

  #toolCall(index: number, call: { id: string; name: string; arguments: string }): ToolCall {
    let parsed: unknown;
    try {
      parsed = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch (error) {
      throw new LlmError('invalid', this.#engine, `tool call ${call.name || index} has malformed JSON arguments`, { cause: error });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new LlmError('invalid', this.#engine, `tool call ${call.name || index} arguments are not a JSON object`);
    }
    if (!call.name) throw new LlmError('invalid', this.#engine, `tool call ${index} has no function name`);
    return { id: call.id || `call_${index}`, name: call.name, arguments: parsed as Record<string, unknown> };
  }

  /** Endpoints that do not report usage get the same approximation as countTokens, so budgets still add up. */
  #usageOf(request: GenerateRequest, engine: LlmEngine): GenerateUsage {
    const usage = this.#usage;
    const estimate = (): number => engine.countTokens(request.messages.map((message) => message.content).join('\n'));
    return {
      promptTokens: usage?.prompt_tokens ?? estimate(),
      completionTokens: usage?.completion_tokens ?? engine.countTokens(this.#text + [...this.#calls.values()].map((call) => call.arguments).join('')),
      cachedPromptTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    };
  }
}

function finishReason(wire: string | null): FinishReason {
  if (wire === 'length') return 'length';
  if (wire === 'tool_calls' || wire === 'function_call') return 'tool_calls';
  // 'stop', 'content_filter', or a stream that ended cleanly without saying.
  return 'stop';
}

function parseJson(data: string, engine: string): WireChunk {
  try {
    return JSON.parse(data) as WireChunk;
  } catch (error) {
    throw new AttemptError('unavailable', engine, `unreadable stream chunk: ${data.slice(0, 80)}`, { retryable: true, cause: error });
  }
}

/**
 * The `data` payloads of a server-sent event stream. Handles CRLF/CR/LF line ends, comments
 * (keep-alives) and multi-line data; other fields are irrelevant to chat completions.
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const lineEnd = /\r\n|\n|\r(?!$)/;
  const flush = (): string | null => {
    const payload = data.length > 0 ? data.join('\n') : null;
    data = [];
    return payload;
  };
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    for (let match = lineEnd.exec(buffer); match; match = lineEnd.exec(buffer)) {
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === '') {
        const payload = flush();
        if (payload !== null) yield payload;
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
  }
  if (buffer.startsWith('data:')) data.push(buffer.slice(buffer.startsWith('data: ') ? 6 : 5));
  const payload = flush();
  if (payload !== null) yield payload;
}



