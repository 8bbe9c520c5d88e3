// The local LLM engine: one GGUF loaded once through node-llama-cpp's prebuilt CPU binary and
// shared by every conversation through a small pool of context sequences.
//
// Why one context with N sequences rather than N contexts: the KV cache costs the same either way
// (N × contextSize cells), but one context has one compute buffer (hundreds of MB for a 150k-token
// vocabulary) instead of N, and node-llama-cpp batches the sequences' tokens into one decode call,
// so two answers share the cores instead of fighting over them.
//
// Each sequence keeps the tokens it last evaluated. A conversation goes back to the sequence that
// served it last (when free), and LlamaChat then evaluates only what follows the common prefix of
// that state and the new prompt: a follow-up turn costs its new tokens, not the whole history.
//
// Tools are offered to the model as node-llama-cpp functions without handlers: when the model calls
// one, LlamaChat stops and returns the call, and the agent runs it. Its result comes back on the
// next turn as a `tool` message, rendered into the same model response the way the chat template
// renders function results.

import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import {
  getLlama,
  LlamaChat,
  LlamaLogLevel,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatModelFunctionCall,
  type ChatModelFunctions,
  type ChatModelResponse,
  type ChatWrapper,
  type GbnfJsonSchema,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type LlamaText,
  type LlamaTextJSON,
  type Token,
} from 'node-llama-cpp';
import type { Logger } from '../logger.ts';
import {
  LlmError,
  type ChatMessage,
  type FinishReason,
  type GenerateRequest,
  type GenerateResult,
  type LlmEngine,
  type LlmModelInfo,
  type PrefillRequest,
  type ToolCall,
  type ToolSpec,
} from './llm.ts';

export interface LocalLlmOptions {
  /** The GGUF file (the first shard of a split model). */
  modelPath: string;
  /** Default: the GGUF's general.name, else the file name without extension. */
  id?: string;
  /** Whether the model reliably calls tools (from the manifest). Default false. */
  toolCalling?: boolean;
  /** CPU threads; default cores − 1 (at least 1). */
  threads?: number;
  /** Tokens per sequence; capped at the model's training context. Default 4096. */
  contextSize?: number;
  /** Conversations generated at once. Default 2. */
  sequences?: number;
  /** Requests that may wait for a sequence; beyond it `generate` is refused. Default 8. */
  queueLimit?: number;
  /** Engine name in the ledger and breaker. Default "local". */
  name?: string;
  log?: Logger;
  /** Milliseconds, for timings. Default performance.now. */
  now?: () => number;
  /** Tool call ids. Default `call_` + 12 random base64url characters. */
  newToolCallId?: () => string;
}

export interface LocalLlmStats {
  sequences: number;
  busy: number;
  waiting: number;
  /** Prompt tokens actually evaluated since load (prefix reuse keeps this low). */
  evaluatedPromptTokens: number;
  generatedTokens: number;
}

interface Slot {
  readonly sequence: LlamaContextSequence;
  readonly chat: LlamaChat;
  busy: boolean;
  /** The conversation whose tokens the sequence holds. */
  sessionKey: string | null;
  lastUsed: number;
}

interface Waiter {
  sessionKey: string | null;
  resolve(slot: Slot): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort(): void;
}

/** Raw text of calls the model made, so a replayed call renders token for token as generated. */
const RAW_CALLS_KEPT = 256;
/** Tokens left off the end of a speculative prompt: the assistant-turn opener, and the question's last word. */
const SPECULATION_TAIL_TOKENS = 8;
const DEFAULT_CONTEXT_SIZE = 4096;

export const defaultLlmThreads = (cores = availableParallelism()): number => Math.max(1, cores - 1);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const PRIMITIVES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
type Primitive = 'string' | 'number' | 'integer' | 'boolean' | 'null';
const ANY_VALUE: GbnfJsonSchema = { type: ['string', 'number', 'boolean', 'null'] };

/**
 * JSON Schema to node-llama-cpp's grammar schema, keeping what its grammar can enforce and
 * dropping what it cannot (formats, numeric bounds), so a rich tool schema never breaks generation.
 */
export function toGrammarSchema(schema: unknown): GbnfJsonSchema {
  if (!isRecord(schema)) return ANY_VALUE;
  const description = typeof schema.description === 'string' ? { description: schema.description } : {};
  const literal = (v: unknown): v is string | number | boolean | null => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  if ('const' in schema && literal(schema.const)) return { const: schema.const, ...description };
  if (Array.isArray(schema.enum)) return { enum: schema.enum.filter(literal), ...description };
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(alternatives)) return { oneOf: alternatives.map(toGrammarSchema), ...description };
  const count = (key: string) => (typeof schema[key] === 'number' ? { [key]: schema[key] } : {});
  switch (schema.type) {
    case 'object': {
      const properties = Object.fromEntries(Object.entries(isRecord(schema.properties) ? schema.properties : {}).map(([k, v]) => [k, toGrammarSchema(v)]));
      const required = Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === 'string' && k in properties) : undefined;
      return { type: 'object', properties, ...(required ? { required } : {}), ...description };
    }
    case 'array':
      return { type: 'array', ...(schema.items === undefined ? {} : { items: toGrammarSchema(schema.items) }), ...count('minItems'), ...count('maxItems'), ...description };
    case 'string':
      return { type: 'string', ...count('minLength'), ...count('maxLength'), ...description };
    default: {
      const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t): t is Primitive => typeof t === 'string' && PRIMITIVES.has(t));
      return types.length > 0 ? { type: types.length === 1 ? (types[0] as Primitive) : types, ...description } : { ...ANY_VALUE, ...description };
    }
  }
}

export function toFunctions(tools: ToolSpec[] | undefined): ChatModelFunctions | undefined {
  if (!tools || tools.length === 0) return undefined;
  return Object.fromEntries(tools.map((tool) => [tool.name, { description: tool.description, params: toGrammarSchema(tool.parameters) }]));
}

/** A tool message's content as the value a template renders: JSON stays JSON, text stays text. */
function toolResult(content: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return content;
  }
}

/**
 * OpenAI-shaped messages to node-llama-cpp's chat history. An assistant turn that called tools,
 * the tool results and the assistant text after them are one model response there, as in the
 * chat templates: the calls carry their results, and generation continues that response.
 */
export function toChatHistory(messages: ChatMessage[], rawCalls: ReadonlyMap<string, LlamaTextJSON> = new Map()): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const calls = new Map<string, ChatModelFunctionCall>();
  let open: ChatModelResponse | null = null;
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'user') {
      history.push(message.role === 'system' ? { type: 'system', text: message.content } : { type: 'user', text: message.content });
      open = null;
    } else if (message.role === 'assistant') {
      if (!open) {
        open = { type: 'model', response: [] };
        history.push(open);
      }
      if (message.content) open.response.push(message.content);
      for (const call of message.toolCalls ?? []) {
        const raw = rawCalls.get(call.id);
        const item: ChatModelFunctionCall = { type: 'functionCall', name: call.name, params: call.arguments, result: null, ...(raw ? { rawCall: raw } : {}) };
        calls.set(call.id, item);
        open.response.push(item);
      }
      // Text alone ends the turn; after tool calls the model's turn goes on with their results.
      if (!message.toolCalls?.length) open = null;
    } else {
      const call = message.toolCallId === undefined ? undefined : calls.get(message.toolCallId);
      if (call) call.result = toolResult(message.content);
      else {
        history.push({ type: 'user', text: `Tool result${message.toolCallId ? ` (${message.toolCallId})` : ''}:\n${message.content}` });
        open = null;
      }
    }
  }
  return history;
}

/** The prompt LlamaChat evaluates for this history: it continues the last model response, or starts an empty one. */
export function renderChat(wrapper: ChatWrapper, model: LlamaModel, history: ChatHistoryItem[], functions: ChatModelFunctions | undefined): { text: LlamaText; tokens: Token[] } {
  const chatHistory = history.at(-1)?.type === 'model' ? history : [...history, { type: 'model' as const, response: [] }];
  const { contextText } = wrapper.generateContextState({ chatHistory, ...(functions ? { availableFunctions: functions } : {}) });
  return { text: contextText, tokens: contextText.tokenize(model.tokenizer) };
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class LocalLlmEngine implements LlmEngine {
  readonly kind = 'local' as const;
  readonly name: string;
  readonly model: LlmModelInfo;
  /** The chat format in use (node-llama-cpp's wrapper name), for logs and /system/models. */
  readonly chatFormat: string;
  /** The GGUF in use. */
  readonly modelPath: string;

  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  readonly #wrapper: ChatWrapper;
  readonly #slots: Slot[];
  readonly #waiting: Waiter[] = [];
  readonly #queueLimit: number;
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #rawCalls = new Map<string, LlamaTextJSON>();
  readonly #closing = new AbortController();
  readonly #running = new Set<Promise<unknown>>();
  #uses = 0;

  private constructor(parts: {
    options: LocalLlmOptions;
    llama: Llama;
    model: LlamaModel;
    context: LlamaContext;
    wrapper: ChatWrapper;
    id: string;
  }) {
    const { options, llama, model, context, wrapper } = parts;
    this.name = options.name ?? 'local';
    this.#llama = llama;
    this.#model = model;
    this.#context = context;
    this.#wrapper = wrapper;
    this.chatFormat = wrapper.wrapperName;
    this.modelPath = options.modelPath;
    this.model = { id: parts.id, contextSize: context.contextSize, toolCalling: options.toolCalling ?? false };
    this.#queueLimit = options.queueLimit ?? 8;
    this.#now = options.now ?? (() => performance.now());
    this.#newId = options.newToolCallId ?? (() => `call_${randomBytes(9).toString('base64url')}`);
    this.#slots = Array.from({ length: context.totalSequences }, () => {
      const sequence = context.getSequence();
      return { sequence, chat: new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper }), busy: false, sessionKey: null, lastUsed: 0 };
    });
  }

  /** Loads the model; throws (with node-llama-cpp's message) when the binary or the file is unusable. */
  static async create(options: LocalLlmOptions): Promise<LocalLlmEngine> {
    const threads = options.threads ?? defaultLlmThreads();
    const log = options.log;
    // node-llama-cpp's own errors are terse ("Failed to load model"); llama.cpp's log says why.
    let firstError: string | null = null;
    // Prebuilt CPU binary only: never fall back to compiling llama.cpp or downloading anything.
    const llama = await getLlama({
      gpu: false,
      build: 'never',
      usePrebuiltBinaries: true,
      skipDownload: true,
      progressLogs: false,
      maxThreads: threads,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trim();
        if (!text) return;
        const error = level === LlamaLogLevel.error || level === LlamaLogLevel.fatal;
        if (error) firstError ??= text;
        if (error) log?.error({ llama: text }, 'llama.cpp error');
        else log?.warn({ llama: text }, 'llama.cpp warning');
      },
    });
    let model: LlamaModel | undefined;
    try {
      model = await llama.loadModel({ modelPath: options.modelPath });
      const contextSize = Math.min(options.contextSize ?? DEFAULT_CONTEXT_SIZE, model.trainContextSize);
      const context = await model.createContext({ contextSize, sequences: options.sequences ?? 2, threads });
      const wrapper = resolveChatWrapper(model);
      const id = options.id ?? model.fileInfo.metadata.general.name ?? basename(options.modelPath).replace(/\.gguf$/i, '');
      return new LocalLlmEngine({ options, llama, model, context, wrapper, id });
    } catch (err) {
      await model?.dispose().catch(() => undefined);
      await llama.dispose().catch(() => undefined);
      throw firstError ? new Error(`${messageOf(err)} (${firstError})`, { cause: err }) : err;
    }
  }

  countTokens(text: string): number {
    return this.#model.tokenize(text).length;
  }

  /** The prompt exactly as the model sees it, and its token count (for benchmarks and debugging). */
  renderPrompt(request: Pick<GenerateRequest, 'messages' | 'tools'>): { text: string; tokens: number } {
    const { text, tokens } = renderChat(this.#wrapper, this.#model, toChatHistory(request.messages, this.#rawCalls), toFunctions(request.tools));
    return { text: text.toString(), tokens: tokens.length };
  }

  stats(): LocalLlmStats {
    const sum = (pick: (slot: Slot) => number) => this.#slots.reduce((total, slot) => total + pick(slot), 0);
    return {
      sequences: this.#slots.length,
      busy: sum((slot) => (slot.busy ? 1 : 0)),
      waiting: this.#waiting.length,
      evaluatedPromptTokens: sum((slot) => slot.sequence.tokenMeter.usedInputTokens),
      generatedTokens: sum((slot) => slot.sequence.tokenMeter.usedOutputTokens),
    };
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const started = this.#now();
    request.signal?.throwIfAborted();
    if (this.#closing.signal.aborted) throw new LlmError('unavailable', this.name, 'local engine is closed');
    const slot = await this.#acquire(request);
    const run = this.#run(slot, request, started);
    this.#running.add(run);
    try {
      return await run;
    } finally {
      this.#running.delete(run);
      slot.lastUsed = ++this.#uses;
      slot.busy = false;
      this.#dispatch();
    }
  }

  async prefill(request: PrefillRequest): Promise<{ evaluatedTokens: number }> {
    // Speculation yields to real work: no queueing, no taking a sequence someone waits for.
    if (this.#closing.signal.aborted || request.signal?.aborted || this.#waiting.length > 0) return { evaluatedTokens: 0 };
    const sessionKey = request.sessionKey ?? null;
    const slot = this.#pick(sessionKey);
    if (!slot) return { evaluatedTokens: 0 };
    slot.busy = true;
    const run = (async () => {
      const { tokens } = renderChat(this.#wrapper, this.#model, toChatHistory(request.messages, this.#rawCalls), toFunctions(request.tools));
      // The rendering ends with the assistant's turn opener, which the real prompt (a longer question) will not share.
      const wanted = tokens.slice(0, -SPECULATION_TAIL_TOKENS);
      if (wanted.length === 0 || wanted.length >= this.#context.contextSize - 1) return 0;
      const { sequence } = slot;
      const same = sequence.compareContextTokens(wanted).firstDifferentIndex;
      if (same < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{ start: same, end: sequence.nextTokenIndex }]);
      slot.sessionKey = sessionKey;
      if (same >= wanted.length) return 0;
      request.signal?.throwIfAborted();
      await sequence.evaluateWithoutGeneratingNewTokens(wanted.slice(same));
      return wanted.length - same;
    })();
    this.#running.add(run);
    try {
      return { evaluatedTokens: await run };
    } catch (err) {
      if (request.signal?.aborted || this.#closing.signal.aborted) return { evaluatedTokens: 0 };
      throw new LlmError('unavailable', this.name, `speculative evaluation failed: ${messageOf(err)}`, { cause: err });
    } finally {
      this.#running.delete(run);
      slot.lastUsed = ++this.#uses;
      slot.busy = false;
      this.#dispatch();
    }
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new LlmError('unavailable', this.name, 'local engine is closed'));
    for (const waiter of this.#waiting.splice(0)) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(this.#closing.signal.reason);
    }
    // Running generations stop at their next token; disposing the llama instance then frees the
    // context, the model and the native backend.
    await Promise.allSettled(this.#running);
    await this.#llama.dispose();
  }

  /** A free sequence, preferring the one holding this conversation, else the least recently used. */
  #pick(sessionKey: string | null): Slot | undefined {
    const free = this.#slots.filter((slot) => !slot.busy);
    const own = sessionKey === null ? undefined : free.find((slot) => slot.sessionKey === sessionKey);
    return own ?? free.sort((a, b) => a.lastUsed - b.lastUsed)[0];
  }

  #acquire(request: GenerateRequest): Promise<Slot> {
    const sessionKey = request.sessionKey ?? null;
    const slot = this.#waiting.length === 0 ? this.#pick(sessionKey) : undefined;
    if (slot) {
      slot.busy = true;
      return Promise.resolve(slot);
    }
    if (this.#waiting.length >= this.#queueLimit) {
      return Promise.reject(new LlmError('unavailable', this.name, `local engine overloaded: ${this.#waiting.length} waiting`, { overloaded: true }));
    }
    return new Promise<Slot>((resolve, reject) => {
      const signal = request.signal;
      const waiter: Waiter = {
        sessionKey,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #dispatch(): void {
    for (let slot = this.#pickForHead(); slot; slot = this.#pickForHead()) {
      const waiter = this.#waiting.shift();
      if (!waiter) return;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      slot.busy = true;
      waiter.resolve(slot);
    }
  }

  #pickForHead(): Slot | undefined {
    const head = this.#waiting[0];
    return head ? this.#pick(head.sessionKey) : undefined;
  }

  #remember(id: string, raw: LlamaTextJSON): void {
    this.#rawCalls.set(id, raw);
    for (const oldest of this.#rawCalls.keys()) {
      if (this.#rawCalls.size <= RAW_CALLS_KEPT) break;
      this.#rawCalls.delete(oldest);
    }
  }

  async #run(slot: Slot, request: GenerateRequest, started: number): Promise<GenerateResult> {
    const signal = request.signal ? AbortSignal.any([request.signal, this.#closing.signal]) : this.#closing.signal;
    let firstTokenAt: number | null = null;
    let streamed = false;
    const sawToken = () => {
      firstTokenAt ??= this.#now();
    };
    try {
      const history = toChatHistory(request.messages, this.#rawCalls);
      const functions = toFunctions(request.tools);
      const { tokens } = renderChat(this.#wrapper, this.#model, history, functions);
      const contextSize = this.#context.contextSize;
      // LlamaChat would silently drop early history to make room; an answer built on a truncated
      // prompt (a lost system prompt or lost passages) is worse than a clear refusal.
      if (tokens.length >= contextSize - 1) {
        throw new LlmError('invalid', this.name, `the prompt is ${tokens.length} tokens but the local model's context holds ${contextSize}`);
      }
      const cachedPromptTokens = Math.min(slot.sequence.compareContextTokens(tokens).firstDifferentIndex, tokens.length - 1);
      const meter = slot.sequence.tokenMeter.getState();
      slot.sessionKey = request.sessionKey ?? null;
      const response = await slot.chat.generateResponse(history, {
        ...(functions ? { functions } : {}),
        maxTokens: Math.min(request.maxTokens, contextSize - 1 - tokens.length),
        temperature: request.temperature ?? 0,
        signal,
        onResponseChunk: sawToken,
        onFunctionCallParamsChunk: sawToken,
        onTextChunk: (text) => {
          if (!text) return;
          streamed = true;
          request.onDelta?.(text);
        },
      });
      const toolCalls: ToolCall[] = (response.functionCalls ?? []).map((call) => {
        const id = this.#newId();
        this.#remember(id, call.raw);
        return { id, name: call.functionName, arguments: isRecord(call.params) ? call.params : {} };
      });
      const stop = response.metadata.stopReason;
      const finishReason: FinishReason = toolCalls.length > 0 ? 'tool_calls' : stop === 'maxTokens' ? 'length' : stop === 'abort' ? 'aborted' : 'stop';
      const used = slot.sequence.tokenMeter.diff(meter);
      return {
        text: response.response,
        toolCalls,
        finishReason,
        usage: { promptTokens: tokens.length, completionTokens: used.usedOutputTokens, cachedPromptTokens },
        timings: { firstTokenMs: firstTokenAt === null ? null : firstTokenAt - started, totalMs: this.#now() - started },
      };
    } catch (err) {
      if (request.signal?.aborted) throw request.signal.reason;
      const closed = this.#closing.signal.aborted;
      const detail = closed ? 'local engine closed' : messageOf(err);
      if (streamed) throw new LlmError('interrupted', this.name, `generation failed after text was streamed: ${detail}`, { cause: err });
      if (err instanceof LlmError) throw err;
      const overflow = !closed && /context size is too small/i.test(detail);
      throw new LlmError(overflow ? 'invalid' : 'unavailable', this.name, `local generation failed: ${detail}`, { cause: err });
    }
  }
}
