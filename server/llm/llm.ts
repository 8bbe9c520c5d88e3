import { AppError } from '../errors.ts';

// The LLM engine port. A local engine (node-llama-cpp, GGUF from MODELS_DIR) and any
// OpenAI-compatible cloud endpoint implement it; the policy router picks among them per
// organisation. Messages follow the OpenAI chat shape so the cloud adapter is a thin mapping.

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  /** Engine-assigned id, echoed by the tool result message. */
  id: string;
  name: string;
  /** Parsed JSON arguments. */
  arguments: Record<string, unknown>;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** On assistant messages that called tools. */
  toolCalls?: ToolCall[];
  /** On tool messages: which call this answers. */
  toolCallId?: string;
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12 subset: object with typed properties) of the arguments. */
  parameters: Record<string, unknown>;
}

export interface GenerateRequest {
  messages: ChatMessage[];
  /** Offered tools; the engine may answer with tool calls instead of text. */
  tools?: ToolSpec[];
  maxTokens: number;
  temperature?: number;
  /** Stop generating (and reject with the signal's reason) when aborted. */
  signal?: AbortSignal;
  /** Each piece of answer text as it is generated. Never called for tool-call syntax. */
  onDelta?: (text: string) => void;
  /**
   * Groups requests of one conversation: a local engine keeps that conversation's evaluated
   * tokens and only evaluates what is new on its next turn.
   */
  sessionKey?: string | undefined;
}

export type PrefillRequest = Pick<GenerateRequest, 'messages' | 'tools' | 'signal' | 'sessionKey'>;

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'aborted';

export interface GenerateUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose evaluation was reused from an earlier turn (prefix cache); 0 if unknown. */
  cachedPromptTokens: number;
}

export interface GenerateResult {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: GenerateUsage;
  /** Milliseconds from the request to the first generated token, and to the end. */
  timings: { firstTokenMs: number | null; totalMs: number };
}

export interface LlmModelInfo {
  /** e.g. "qwen2.5-1.5b-instruct-q4_k_m" or the cloud model name. */
  id: string;
  contextSize: number;
  /** Whether the model reliably emits tool calls; otherwise the agent retrieves first. */
  toolCalling: boolean;
}

export interface LlmEngine {
  /** 'local' or 'cloud'. */
  readonly kind: 'local' | 'cloud';
  /** Stable name of this engine instance, used in the ledger and breaker: e.g. "local", "cloud:openai". */
  readonly name: string;
  readonly model: LlmModelInfo;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /**
   * Speculative prompt evaluation (local engines): evaluates the prompt a request is likely to
   * start with into the conversation's cache, so the real request only evaluates what differs.
   * Runs only on an idle sequence and never delays real requests; resolves with the tokens evaluated.
   */
  prefill?(request: PrefillRequest): Promise<{ evaluatedTokens: number }>;
  /** Token count with this engine's tokenizer (approximate for cloud engines). */
  countTokens(text: string): number;
  close(): Promise<void>;
}

/** Failure classes the router and breaker act on. */
export type LlmErrorKind =
  /** Nothing was generated and trying again (or elsewhere) may work: connect refused, 5xx, 429, overloaded queue. */
  | 'unavailable'
  /** A timeout (connect, first token or total). */
  | 'timeout'
  /** The request itself is wrong (4xx other than 429, context overflow); retrying will not help. */
  | 'invalid'
  /** Generation failed after text was already streamed: never retried, the caller keeps what it has. */
  | 'interrupted';

export class LlmError extends Error {
  readonly kind: LlmErrorKind;
  readonly engine: string;
  /**
   * The engine is healthy but busy (its queue is full). The router may go elsewhere, but a circuit
   * breaker must not count it: opening the circuit would refuse work the engine can do a moment later.
   */
  readonly overloaded: boolean;
  constructor(kind: LlmErrorKind, engine: string, message: string, options?: { cause?: unknown; overloaded?: boolean }) {
    super(message, options);
    this.name = 'LlmError';
    this.kind = kind;
    this.engine = engine;
    this.overloaded = options?.overloaded ?? false;
  }

  /** How clients see it: a bad request stays 400; everything else means no engine could answer (503). */
  toAppError(): AppError {
    return this.kind === 'invalid' ? new AppError(400, 'llm_invalid_request', this.message) : new AppError(503, 'llm_unavailable', this.message);
  }
}
