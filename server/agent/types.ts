import type { ChatMessage } from '../llm/llm.ts';
import type { KbHit } from '../kb/search.ts';

// The contract between the answer API (which owns conversations, the ledger and transport) and
// the agent (which owns prompting, tool use, citations and the extractive fallback).

/** One retrieved passage, as the knowledge-base search returns it. */
export type Passage = KbHit;

/** Search bound to one organisation and knowledge base. */
export type PassageSearch = (query: string, options: { k: number; documentIds?: string[] | undefined; signal?: AbortSignal | undefined }) => Promise<Passage[]>;

export interface Citation {
  /** The number used in the answer text as [n]. */
  n: number;
  chunkId: string;
  documentId: string;
  documentName: string;
  /** The page the quote is on (not merely the first page of its chunk), or null for unpaged formats. */
  page: number | null;
  pageLabel: string | null;
  /** The cited passage (trimmed to a readable quote). */
  quote: string;
}

export type AgentEvent =
  /** A knowledge-base search the agent ran (a tool call, or the retrieval-first step). */
  | { type: 'search'; query: string; documentIds?: string[] | undefined; k: number; hits: number }
  | { type: 'delta'; text: string }
  | { type: 'citation'; citation: Citation };

export interface EngineChoice {
  /** Engine name ("local", "cloud:<name>") or "extractive" when no LLM answered. */
  name: string;
  kind: 'local' | 'cloud' | 'extractive';
  model: string | null;
  /** Why this engine: "policy local-only", "local unavailable: …; fell back to cloud", "no LLM installed", … */
  reason: string;
}

export interface AnswerUsage {
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  /** From the start of the ask to the first answer token (null for extractive answers). */
  firstTokenMs: number | null;
  totalMs: number;
  searches: number;
  llmCalls: number;
}

export interface AgentAnswer {
  answer: string;
  citations: Citation[];
  mode: 'generative' | 'extractive';
  engine: EngineChoice;
  usage: AnswerUsage;
  /** Every chunk id put in front of a model (or quoted), in order: the audit of what left the knowledge base. */
  shownChunkIds: string[];
  /** Whether any of it went to a cloud engine. */
  sentToCloud: boolean;
  /** The prompt template version used, e.g. "answer-v1" ("extractive-v1" when no model wrote it). */
  promptVersion: string;
  /**
   * The documents do not answer the question: too little of it is in the passages found (see
   * coverage.ts), or the model said so and cited nothing. The answer then says so plainly.
   */
  notCovered?: boolean | undefined;
  /** With `notCovered`: the closest passages, shown as related, not as an answer (never cited in its text). */
  related?: Citation[] | undefined;
  /**
   * Set when the answer is cut short: the model hit the answer token limit ("length"), or its
   * engine failed after part of the answer was streamed ("interrupted"; the text is what was streamed).
   */
  incomplete?: 'length' | 'interrupted' | undefined;
  /**
   * The messages of the final LLM call followed by the assistant message it produced, exactly as
   * sent and generated (citation numbers as the model wrote them). Passed back as `priorTranscript`
   * on the next turn of the conversation. Absent for extractive and interrupted answers.
   */
  transcript?: ChatMessage[] | undefined;
}

export interface HistoryTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface AskInput {
  question: string;
  /** Earlier turns of the conversation, oldest first. */
  history: HistoryTurn[];
  /** Restrict retrieval to these documents. */
  documentIds?: string[] | undefined;
  /**
   * The previous answer's `transcript` in this conversation. When it fits, and only local engines
   * may receive the request, it is the verbatim start of this turn's prompt instead of the
   * condensed `history`, so a local engine evaluates only the new turn.
   */
  priorTranscript?: ChatMessage[] | undefined;
  /** Conversation id: lets a local engine reuse the evaluated prefix of this conversation. */
  sessionKey?: string | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: AgentEvent) => void) | undefined;
}
