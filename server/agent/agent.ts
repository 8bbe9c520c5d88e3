import { systemClock, type Clock } from '../clock.ts';
import { LlmError, type ChatMessage, type GenerateRequest, type GenerateResult, type LlmEngine, type ToolCall } from '../llm/llm.ts';
import type { Logger } from '../logger.ts';
import { createAnalyzer, type Analyzer } from '../search/analyzer.ts';
import { CitationWriter, citesShown, toCitation } from './citations.ts';
import { condenseHistory, MESSAGE_OVERHEAD, searchQuery } from './condense.ts';
import { coverage } from './coverage.ts';
import { PassageNumbers, packPassages, relevant, type Packed } from './context.ts';
import { addFocus } from './excerpt.ts';
import { EXTRACTIVE_VERSION, extractiveAnswer, quoteFor } from './extractive.ts';
import type { AnswerPrompt } from './prompts/answer-v1.ts';
import { answerV2 } from './prompts/answer-v2.ts';
import type { LlmPolicy } from '../engines/policy.ts';
import type { EngineGateway } from '../llm/gateway.ts';
import type { AgentAnswer, AgentEvent, AskInput, Citation, EngineChoice, Passage, PassageSearch } from './types.ts';

// The answering agent: retrieval, prompting, tool use and citations on top of the engine gateway.
// Models that call tools reliably search for themselves (up to a budget of searches per answer);
// others get the best passages for the question up front. With no model at all, or when every
// allowed model fails before any text was shown, the answer is the cited passages themselves.

export interface AgentLimits {
  /** Knowledge-base searches one answer may run through the tool. */
  maxSearches: number;
  /** Passages per search, unless the model asks for another number (1..10). */
  k: number;
  /** Tokens of passages per search (less when the model's context has no room for it). */
  contextTokens: number;
  /** Tokens of earlier conversation in the prompt (less on a small context). */
  historyTokens: number;
  answerTokens: number;
  /**
   * Hits scoring below this are not evidence. Scores are on the search port's [0, 1] scale, the
   * same for every engine (server/search/fusion.ts; Meilisearch's `_rankingScore` is on it too):
   * for keywords, the share of the query's terms the best hit contains, times each hit's BM25
   * relative to the best.
   */
  minScore: number;
  /** Hits scoring below this fraction of the search's best hit are dropped as a weak tail. */
  relativeFloor: number;
  /**
   * Below this share of the question's information in the best passage (coverage.ts), an
   * extractive answer takes the documents not to answer the question: it says so and offers the
   * passages as related. A model is still asked: it reads the passages, which beats counting words
   * ("describe the generator schedule" is answered by "tested every Monday"), and says itself when
   * they do not answer (an answer citing none of them).
   */
  minCoverage: number;
  /** Passages offered as related when the documents do not answer the question. */
  relatedPassages: number;
  /** Passages quoted by an extractive answer. */
  extractivePassages: number;
  /** Longest quote, in characters. */
  quoteChars: number;
  temperature: number;
}

export const DEFAULT_LIMITS: AgentLimits = {
  maxSearches: 3,
  k: 6,
  contextTokens: 1500,
  historyTokens: 600,
  answerTokens: 512,
  minScore: 0.2,
  relativeFloor: 0.3,
  // Chosen by `npm run bench:refusal` (scripts/bench-refusal.ts) on half A of its labelled set (21
  // answerable and 21 unanswerable questions on seven shared manuals and policies): the lowest
  // multiple of 0.05 at which A reaches the goal of 90 % correct refusals, because refusing a
  // question the documents answer hides the answer, while answering one they do not still shows
  // labelled quotes. Half B is the check that it was not fitted to A.
  minCoverage: 0.55,
  relatedPassages: 3,
  extractivePassages: 4,
  quoteChars: 300,
  temperature: 0.2,
};

export interface AgentOptions {
  gateway: EngineGateway;
  clock?: Clock;
  log?: Logger;
  limits?: Partial<AgentLimits>;
  /** The prompt version in use (tests and evaluations may pin another). */
  prompt?: AnswerPrompt;
  /**
   * When retrieval finds nothing relevant, say so without asking the model (default). Otherwise the
   * model gets the question with no passages and says so itself, in the question's language.
   */
  answerUnmatchedWithoutModel?: boolean;
  /** Text analysis shared with knowledge-base search (one word cache for the process); a new one by default. */
  analyzer?: Analyzer;
}

/** Tokens kept free of the context for the template and the tokenizer's disagreements with our counts. */
const SAFETY_TOKENS = 64;
/** Below this many free tokens a search result cannot show even one useful passage. */
const MIN_PASSAGE_ROOM = 64;
/** A tool-round text this long, or citing a shown passage, is an answer rather than a preamble to a search. */
const ANSWER_EVIDENCE_CHARS = 200;
const MAX_QUERY_CHARS = 500;

const NO_MATCH = "Your documents don't seem to cover this: no passage matches the question.";
/** Also the whole spoken answer: short enough to say, and the related passages stay on screen. */
export const NOT_COVERED = "Your documents don't cover that.";
const INTRO = {
  none: 'No language model is available, so here are the most relevant passages from your documents:',
  failed: 'The language model could not answer just now, so here are the most relevant passages from your documents:',
};
const EMPTY = {
  none: 'No language model is available, and no passage in your documents matches this question.',
  failed: 'The language model could not answer just now, and no passage in your documents matches this question.',
};

/** A generation the gateway could not serve on any engine (as opposed to a failing search). */
class GenerationFailed extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'GenerationFailed';
  }
}

/** Rejects with the signal's reason as soon as it aborts, even if `work` ignores the signal. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** "local: queue full; cloud:openai: timed out" from the gateway's failure (one error, or all of them). */
function failureSummary(err: unknown): string {
  const all = err instanceof Error && err.cause instanceof AggregateError ? (err.cause.errors as unknown[]) : [];
  if (all.length === 0) return err instanceof Error ? err.message : String(err);
  return all.map((e) => (e instanceof LlmError ? `${e.engine}: ${e.message}` : e instanceof Error ? e.message : String(e))).join('; ');
}

function engineChoice(engine: LlmEngine, reason: string): EngineChoice {
  return { name: engine.name, kind: engine.kind, model: engine.model.id, reason };
}

function toolArguments(args: Record<string, unknown>, fallbackQuery: string, defaultK: number) {
  const query = typeof args.query === 'string' && args.query.trim() !== '' ? args.query.trim().slice(0, MAX_QUERY_CHARS) : fallbackQuery;
  // Small models sometimes send numbers as strings.
  const k = Number(args.k);
  const ids = Array.isArray(args.document_ids) ? args.document_ids.filter((d): d is string => typeof d === 'string' && d !== '') : [];
  return { query, k: Number.isFinite(k) && args.k !== null && args.k !== '' ? Math.min(10, Math.max(1, Math.round(k))) : defaultK, documentIds: ids };
}

export class Agent {
  readonly gateway: EngineGateway;
  readonly clock: Clock;
  readonly log: Logger | undefined;
  readonly limits: AgentLimits;
  readonly prompt: AnswerPrompt;
  readonly answerUnmatchedWithoutModel: boolean;
  readonly analyzer: Analyzer;

  constructor(options: AgentOptions) {
    this.gateway = options.gateway;
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.prompt = options.prompt ?? answerV2;
    this.answerUnmatchedWithoutModel = options.answerUnmatchedWithoutModel ?? true;
    this.analyzer = options.analyzer ?? createAnalyzer();
  }

  async ask(policy: LlmPolicy, search: PassageSearch, input: AskInput): Promise<AgentAnswer> {
    const turn = new Turn(this, policy, search, input);
    try {
      return await turn.run();
    } catch (err) {
      // Whatever was in flight when the signal fired, the caller sees the abort reason.
      if (input.signal?.aborted) throw input.signal.reason;
      throw err;
    }
  }

  /**
   * Speculation while the person is still speaking: the prompt this question (so far) would get —
   * its retrieval included — is evaluated into the local engine's cache under `sessionKey`, so the
   * real answer evaluates only what changed. Never sends anything to a cloud engine; never fails
   * loudly (it is an optimisation). Resolves with the prompt tokens evaluated.
   */
  async prepare(policy: LlmPolicy, search: PassageSearch, input: Omit<AskInput, 'onEvent'>): Promise<number> {
    try {
      return await new Turn(this, policy, search, input).prepare();
    } catch (err) {
      if (!input.signal?.aborted) this.log?.warn({ err }, 'speculative prompt evaluation failed');
      return 0;
    }
  }

  /** Why there is no engine to ask. */
  noEngineReason(policy: LlmPolicy): string {
    return policy === 'local-only' && this.gateway.candidates('cloud-first').length > 0 ? 'policy local-only allows no installed LLM' : 'no LLM installed';
  }
}

/** One answer: its numbered passages, usage, stream and outcome. */
class Turn {
  readonly #agent: Agent;
  readonly #policy: LlmPolicy;
  readonly #search: PassageSearch;
  readonly #input: AskInput;
  readonly #started: number;
  #numbers = new PassageNumbers();
  readonly #writer: CitationWriter;
  readonly #searched = new Map<string, Passage[]>();
  readonly #usage = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, searches: 0, llmCalls: 0 };
  /** Searches the model asked for (a repeated query is answered from memory but still counts). */
  #toolSearches = 0;
  #firstTokenMs: number | null = null;
  #sentToCloud = false;
  #served: { engine: LlmEngine; reason: string } | null = null;

  constructor(agent: Agent, policy: LlmPolicy, search: PassageSearch, input: AskInput) {
    this.#agent = agent;
    this.#policy = policy;
    this.#search = search;
    this.#input = input;
    this.#started = agent.clock.now().getTime();
    const { analyzer, limits } = agent;
    this.#writer = new CitationWriter({
      resolve: (n) => this.#numbers.get(n),
      quote: (shown, claim) => quoteFor(analyzer, shown.passage, shown.query, claim, limits.quoteChars),
      onCitation: (citation) => this.#emit({ type: 'citation', citation }),
    });
  }

  async run(): Promise<AgentAnswer> {
    this.#input.signal?.throwIfAborted();
    const engines = this.#agent.gateway.candidates(this.#policy);
    const engine = engines[0];
    if (!engine) return this.#extractive('none', this.#agent.noEngineReason(this.#policy));
    try {
      return engine.model.toolCalling ? await this.#toolLoop(engine) : await this.#retrievalFirst(engine);
    } catch (err) {
      if (!(err instanceof GenerationFailed) || this.#input.signal?.aborted) throw err;
      if (this.#writer.text !== '') return this.#interrupted(err.cause, engines);
      const invalid = err.cause instanceof LlmError && err.cause.kind === 'invalid';
      // A request the engine refuses as malformed (context overflow) is our bug, not an outage.
      if (invalid) this.#agent.log?.error({ err: err.cause, policy: this.#policy }, 'the LLM refused the request; answering with passages');
      else this.#agent.log?.warn({ err: err.cause, policy: this.#policy }, 'every allowed LLM failed; answering with passages');
      return this.#extractive('failed', `${invalid ? 'the LLM refused the request' : 'every allowed LLM failed'}: ${failureSummary(err.cause)}`);
    }
  }

  /** The prompt `run` would send first, evaluated ahead of time by the local engine that would serve it. */
  async prepare(): Promise<number> {
    const engine = this.#agent.gateway.candidates(this.#policy)[0];
    if (!engine?.prefill || engine.kind !== 'local') return 0;
    const { prompt, limits, analyzer } = this.#agent;
    const { question, signal, sessionKey } = this.#input;
    if (engine.model.toolCalling) {
      const messages: ChatMessage[] = [...this.#head(engine, true), { role: 'user', content: question }];
      return (await engine.prefill({ messages, tools: [prompt.tool], signal, sessionKey })).evaluatedTokens;
    }
    const query = question.trim() ? searchQuery(analyzer, question, this.#input.history) : '';
    const hits = query ? await this.#relevantHits(query, limits.k, undefined) : [];
    const head = this.#head(engine, false);
    const room = this.#room(engine, [...head, { role: 'user', content: prompt.question([], question) }], false);
    const packed = this.#pack(hits, query, Math.min(limits.contextTokens, room), engine, false);
    const messages: ChatMessage[] = [...head, { role: 'user', content: prompt.question(packed.fresh, question) }];
    return (await engine.prefill({ messages, signal, sessionKey })).evaluatedTokens;
  }

  // --- The two generative paths -----------------------------------------------------------

  async #toolLoop(first: LlmEngine): Promise<AgentAnswer> {
    const { prompt, limits } = this.#agent;
    let engine = first;
    const messages: ChatMessage[] = [...this.#head(engine, true), { role: 'user', content: this.#input.question }];
    // A final round without tools guarantees an end even if the model keeps calling them.
    const rounds = limits.maxSearches + 2;
    for (let round = 1; ; round++) {
      const tools = round < rounds ? [prompt.tool] : undefined;
      const stream = this.#holdBack(tools !== undefined);
      const result = await this.#generate({ messages, tools }, stream.push);
      if (!tools || result.toolCalls.length === 0) {
        stream.release();
        return this.#finish(result, messages);
      }
      // Text before a tool call is a preamble ("let me look that up"): not part of the answer,
      // unless it already looked like one and was streamed.
      stream.discard();
      messages.push({ role: 'assistant', content: result.text, toolCalls: result.toolCalls });
      engine = this.#served?.engine ?? engine;
      for (const call of result.toolCalls) messages.push({ role: 'tool', toolCallId: call.id, content: await this.#runTool(call, engine, messages) });
    }
  }

  async #retrievalFirst(engine: LlmEngine): Promise<AgentAnswer> {
    const { prompt, limits, analyzer } = this.#agent;
    const query = searchQuery(analyzer, this.#input.question, this.#input.history);
    const hits = await this.#relevantHits(query, limits.k, undefined);
    if (hits.length === 0 && this.#agent.answerUnmatchedWithoutModel) return this.#unmatched();
    const head = this.#head(engine, false);
    const room = this.#room(engine, [...head, { role: 'user', content: prompt.question([], this.#input.question) }], false);
    const packed = this.#pack(hits, query, Math.min(limits.contextTokens, room), engine, false);
    const messages: ChatMessage[] = [...head, { role: 'user', content: prompt.question(packed.fresh, this.#input.question) }];
    const result = await this.#generate({ messages }, (text) => this.#emitText(this.#writer.push(text)));
    return this.#finish(result, messages);
  }

  /** Answers one tool call; the reply becomes a tool message. */
  async #runTool(call: ToolCall, engine: LlmEngine, messages: readonly ChatMessage[]): Promise<string> {
    const { prompt, limits } = this.#agent;
    if (call.name !== prompt.tool.name) return prompt.unknownTool(call.name);
    if (this.#toolSearches >= limits.maxSearches) return prompt.budgetSpent;
    this.#toolSearches++;
    const args = toolArguments(call.arguments, this.#input.question, limits.k);
    const hits = await this.#relevantHits(args.query, args.k, args.documentIds);
    const budget = Math.min(limits.contextTokens, this.#room(engine, messages, true));
    if (hits.length > 0 && budget < MIN_PASSAGE_ROOM) return prompt.noRoom;
    const packed = this.#pack(hits, args.query, budget, engine, true);
    return prompt.toolResult(packed.fresh, packed.repeated);
  }

  // --- Retrieval and prompt assembly ------------------------------------------------------

  /** The user's document restriction, narrowed (never widened) by what the model asked for. */
  #scope(requested: string[] | undefined): string[] | undefined {
    const allowed = this.#input.documentIds?.length ? this.#input.documentIds : undefined;
    if (!requested?.length) return allowed;
    if (!allowed) return requested;
    const both = requested.filter((id) => allowed.includes(id));
    return both.length > 0 ? both : allowed;
  }

  async #relevantHits(query: string, k: number, requested: string[] | undefined): Promise<Passage[]> {
    const documentIds = this.#scope(requested);
    const key = JSON.stringify([query, k, documentIds ?? null]);
    let hits = this.#searched.get(key);
    if (!hits) {
      const { signal } = this.#input;
      hits = await abortable(this.#search(query, { k, documentIds, signal }), signal);
      this.#searched.set(key, hits);
      this.#usage.searches++;
      this.#emit({ type: 'search', query, documentIds, k, hits: hits.length });
    }
    const { minScore, relativeFloor } = this.#agent.limits;
    return relevant(hits, minScore, relativeFloor);
  }

  #pack(hits: readonly Passage[], query: string, budget: number, engine: LlmEngine, withDocumentIds: boolean): Packed {
    const { analyzer, prompt } = this.#agent;
    const focus = addFocus(analyzer, new Map(), 1, query);
    return packPassages(hits, this.#numbers, query, {
      budget,
      countTokens: (text) => engine.countTokens(text),
      analyzer,
      focus,
      render: (entry) => prompt.passage(entry, withDocumentIds),
    });
  }

  /**
   * The system message and the earlier conversation. Preferably the previous turn's transcript
   * verbatim, so a local engine evaluates only this turn; it must leave this turn's passages at
   * least the room the condensed history would. Otherwise the condensed history, whose window
   * drops old turns in big steps, and the next turn's transcript starts from that.
   */
  #head(engine: LlmEngine, tools: boolean): ChatMessage[] {
    const { limits, prompt } = this.#agent;
    const system: ChatMessage = { role: 'system', content: prompt.system({ tools }) };
    const fixed = engine.countTokens(system.content) + engine.countTokens(this.#input.question) + 2 * MESSAGE_OVERHEAD;
    // On a small context the passages matter more than old turns: history gets at most a quarter.
    const free = engine.model.contextSize - limits.answerTokens - fixed - SAFETY_TOKENS;
    const prior = this.#input.priorTranscript;
    if (prior && this.#reusable(prior, system.content)) {
      const room = this.#room(engine, [...prior, { role: 'user', content: this.#input.question }], tools);
      if (room >= Math.min(limits.contextTokens, free - Math.floor(free / 4))) {
        const shown = prior.flatMap((m) => (m.role === 'assistant' ? [] : prompt.passageNumbers(m.content)));
        this.#numbers = new PassageNumbers(Math.max(0, ...shown) + 1);
        return [...prior];
      }
    }
    const budget = Math.min(limits.historyTokens, Math.floor(free / 4));
    return [system, ...condenseHistory(this.#input.history, { budget, countTokens: (text) => engine.countTokens(text) })];
  }

  /**
   * A transcript is reused only under the same system message (same prompt version and tool use)
   * and only when no cloud engine may receive the request: it carries earlier turns' passages,
   * which this answer's audit (`shownChunkIds`) does not list, and a cloud engine bills them again.
   */
  #reusable(prior: readonly ChatMessage[], system: string): boolean {
    const [first, last] = [prior[0], prior.at(-1)];
    if (first?.role !== 'system' || first.content !== system || last?.role !== 'assistant' || last.toolCalls?.length) return false;
    return this.#agent.gateway.candidates(this.#policy).every((e) => e.kind === 'local');
  }

  /** Tokens still free in the engine's context for more prompt, keeping room for the answer. */
  #room(engine: LlmEngine, messages: readonly ChatMessage[], tools: boolean): number {
    let used = tools ? engine.countTokens(JSON.stringify(this.#agent.prompt.tool)) : 0;
    for (const m of messages) used += engine.countTokens(m.content) + MESSAGE_OVERHEAD + (m.toolCalls ? engine.countTokens(JSON.stringify(m.toolCalls)) : 0);
    return engine.model.contextSize - this.#agent.limits.answerTokens - used - SAFETY_TOKENS;
  }

  // --- Generation and streaming -----------------------------------------------------------

  async #generate(request: Pick<GenerateRequest, 'messages' | 'tools'>, onDelta: (text: string) => void): Promise<GenerateResult> {
    const { gateway, limits } = this.#agent;
    const { signal, sessionKey } = this.#input;
    let served;
    try {
      served = await abortable(
        gateway.generate(this.#policy, {
          messages: [...request.messages],
          ...(request.tools ? { tools: request.tools } : {}),
          maxTokens: limits.answerTokens,
          temperature: limits.temperature,
          ...(signal ? { signal } : {}),
          sessionKey,
          onDelta: (text) => {
            if (!signal?.aborted) onDelta(text);
          },
        }),
        signal,
      );
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // The gateway does not say which engines it tried: if the policy allowed a cloud engine,
      // the prompt may have reached it, and the audit must not claim otherwise.
      if (gateway.candidates(this.#policy).some((e) => e.kind === 'cloud')) this.#sentToCloud = true;
      throw new GenerationFailed(err);
    }
    const { result, engine, reason } = served;
    this.#usage.promptTokens += result.usage.promptTokens;
    this.#usage.completionTokens += result.usage.completionTokens;
    this.#usage.cachedPromptTokens += result.usage.cachedPromptTokens;
    this.#usage.llmCalls++;
    if (engine.kind === 'cloud') this.#sentToCloud = true;
    this.#served = { engine, reason };
    return result;
  }

  /**
   * Streams a round's text. In a round that may still end in a tool call, text is held until it
   * reads as an answer (it cites a shown passage, or runs long); what never got that far is
   * dropped if the round ends in a tool call.
   */
  #holdBack(toolsOffered: boolean) {
    let held = '';
    let live = !toolsOffered;
    const send = (text: string) => this.#emitText(this.#writer.push(text));
    return {
      push: (text: string) => {
        if (live) return send(text);
        held += text;
        if (held.length >= ANSWER_EVIDENCE_CHARS || citesShown(held, (n) => this.#numbers.get(n))) {
          live = true;
          send(held);
          held = '';
        }
      },
      release: () => {
        if (held) send(held);
        held = '';
      },
      discard: () => {
        held = '';
        // Streamed text stays: the next round's answer continues it.
        if (live) send('\n\n');
      },
    };
  }

  #emit(event: AgentEvent): void {
    if (this.#input.signal?.aborted) return;
    this.#input.onEvent?.(event);
  }

  #emitText(text: string): void {
    if (!text) return;
    this.#firstTokenMs ??= this.#agent.clock.now().getTime() - this.#started;
    this.#emit({ type: 'delta', text });
  }

  // --- Outcomes -----------------------------------------------------------------------------

  #answer(answer: string, rest: Pick<AgentAnswer, 'citations' | 'mode' | 'engine' | 'promptVersion'> & Partial<AgentAnswer>): AgentAnswer {
    return {
      answer,
      shownChunkIds: this.#numbers.all().map((s) => s.passage.chunkId),
      sentToCloud: this.#sentToCloud,
      ...rest,
      usage: { ...this.#usage, firstTokenMs: this.#firstTokenMs, totalMs: this.#agent.clock.now().getTime() - this.#started },
    };
  }

  /** The answer of the final call `result` to `messages`. */
  #finish(result: GenerateResult, messages: readonly ChatMessage[]): AgentAnswer | Promise<AgentAnswer> {
    this.#emitText(this.#writer.end());
    const served = this.#served!;
    if (this.#writer.text === '') return this.#extractive('failed', `${served.engine.name} returned an empty answer`);
    // The text as generated, not as shown: its markers are the numbers the prompt gave the passages.
    const reply: ChatMessage = { role: 'assistant', content: result.text, ...(result.toolCalls.length > 0 ? { toolCalls: result.toolCalls } : {}) };
    // The prompt has the model cite every claim, and cite nothing when the passages do not answer
    // the question: an answer citing none of the passages it was shown is the model saying so.
    const shown = this.#numbers.all();
    const judgedNotCovered = shown.length > 0 && this.#writer.citations.length === 0;
    return this.#answer(this.#writer.text, {
      ...(judgedNotCovered ? { notCovered: true, related: this.#related(shown) } : {}),
      citations: this.#writer.citations,
      mode: 'generative',
      engine: engineChoice(served.engine, served.reason),
      promptVersion: this.#agent.prompt.version,
      ...(result.finishReason === 'length' ? { incomplete: 'length' } : {}),
      transcript: [...messages, reply],
    });
  }

  /** The engine failed after part of the answer was shown: keep that part, marked as cut short. */
  #interrupted(cause: unknown, engines: readonly LlmEngine[]): AgentAnswer {
    this.#emitText(this.#writer.end());
    const failed = cause instanceof LlmError ? engines.find((e) => e.name === cause.engine) : undefined;
    const engine = failed ?? this.#served?.engine ?? engines[0]!;
    const why = cause instanceof Error ? cause.message : String(cause);
    return this.#answer(this.#writer.text, {
      citations: this.#writer.citations,
      mode: 'generative',
      engine: engineChoice(engine, `interrupted: ${why}`),
      promptVersion: this.#agent.prompt.version,
      incomplete: 'interrupted',
    });
  }

  #unmatched(): AgentAnswer {
    this.#emit({ type: 'delta', text: NO_MATCH });
    return this.#answer(NO_MATCH, {
      notCovered: true,
      related: [],
      citations: [],
      mode: 'extractive',
      engine: { name: 'extractive', kind: 'extractive', model: null, reason: 'no passage matched the question; no model was asked' },
      promptVersion: EXTRACTIVE_VERSION,
    });
  }

  /**
   * The documents do not answer the question: says so, and offers the best passages of `lists`
   * (one list per query, taken in turns) as related — quoted and located, but not cited.
   */
  #notCovered(lists: ReadonlyArray<ReadonlyArray<{ passage: Passage; query: string }>>, reason = 'the passages found do not cover the question; no model was asked'): AgentAnswer {
    const { analyzer, limits } = this.#agent;
    const candidates = Array.from({ length: Math.max(0, ...lists.map((l) => l.length)) }, (_, i) => lists.map((l) => l[i])).flat();
    const closest = extractiveAnswer(analyzer, {
      candidates: candidates.filter((c) => c !== undefined),
      intro: '',
      empty: '',
      maxPassages: limits.relatedPassages,
      quoteChars: limits.quoteChars,
    });
    this.#emit({ type: 'delta', text: NOT_COVERED });
    return this.#answer(NOT_COVERED, {
      notCovered: true,
      related: closest.citations,
      citations: [],
      mode: 'extractive',
      engine: { name: 'extractive', kind: 'extractive', model: null, reason },
      promptVersion: EXTRACTIVE_VERSION,
      shownChunkIds: [...new Set([...this.#numbers.all().map((s) => s.passage.chunkId), ...closest.chunkIds])],
    });
  }

  /** The passages a model was shown, best first, as related passages (when its answer cited none). */
  #related(shown: ReadonlyArray<{ n: number; passage: Passage; query: string }>): Citation[] {
    const { analyzer, limits } = this.#agent;
    return shown.slice(0, limits.relatedPassages).map((s) => toCitation(s.n, s.passage, quoteFor(analyzer, s.passage, s.query, '', limits.quoteChars)));
  }

  /** Quotes the best passages for the question (and, for a follow-up, for the condensed question). */
  async #extractive(why: 'none' | 'failed', reason: string): Promise<AgentAnswer> {
    const { analyzer, limits } = this.#agent;
    const { question, history } = this.#input;
    const condensed = searchQuery(analyzer, question, history);
    const queries = condensed !== question ? [condensed, question] : [question];
    const lists: { passage: Passage; query: string }[][] = [];
    for (const query of queries) lists.push((await this.#relevantHits(query, limits.k, undefined)).map((passage) => ({ passage, query })));
    // A follow-up ("how often?") is about the conversation so far: its words, even condensed with
    // the earlier question's, do not say how much of it the passages hold.
    if (history.length === 0 && lists.some((l) => l.length > 0) && !lists.some((l) => l.length > 0 && coverage(analyzer, l[0]!.query, l.map((c) => c.passage)) >= limits.minCoverage)) return this.#notCovered(lists, reason);
    // Scores of different queries do not compare: take the lists in turns, the condensed one first.
    const candidates = Array.from({ length: Math.max(0, ...lists.map((l) => l.length)) }, (_, i) => lists.map((l) => l[i])).flat();
    const earlier = this.#numbers.all().map((s) => ({ passage: s.passage, query: s.query }));
    const extract = extractiveAnswer(analyzer, {
      candidates: [...candidates.filter((c) => c !== undefined), ...earlier],
      intro: INTRO[why],
      empty: EMPTY[why],
      maxPassages: limits.extractivePassages,
      quoteChars: limits.quoteChars,
    });
    this.#emit({ type: 'delta', text: extract.answer });
    for (const citation of extract.citations) this.#emit({ type: 'citation', citation });
    const shown = this.#numbers.all().map((s) => s.passage.chunkId);
    return this.#answer(extract.answer, {
      ...(extract.citations.length === 0 ? { notCovered: true, related: [] } : {}),
      citations: extract.citations,
      mode: 'extractive',
      engine: { name: 'extractive', kind: 'extractive', model: null, reason },
      promptVersion: EXTRACTIVE_VERSION,
      shownChunkIds: [...shown, ...extract.chunkIds.filter((id) => !shown.includes(id))],
    });
  }
}
