import type { AgentAnswer, AgentEvent, AskInput, HistoryTurn, Passage, PassageSearch } from '../agent/types.ts';
import type { LlmPolicy } from '../engines/policy.ts';
import type { AuditLog } from '../audit/audit.ts';
import type { Acting } from '../auth/principal.ts';
import type { KnowledgeBaseService } from '../kb/knowledge-bases.ts';
import type { KbSearch } from '../kb/search.ts';
import type { Logger } from '../logger.ts';
import type { OrganisationService } from '../organisations/organisations.ts';
import type { UsageLedger } from '../usage/ledger.ts';
import { errors } from '../errors.ts';
import type { ConversationDoc, ConversationService, MessageDoc, SearchRecord, VoiceMetrics } from './conversations.ts';
import { recordForeignRead } from './foreign.ts';

/** What the answer service needs from the agent. */
export interface Answerer {
  ask(policy: LlmPolicy, search: PassageSearch, input: AskInput): Promise<AgentAnswer>;
  prepare(policy: LlmPolicy, search: PassageSearch, input: Omit<AskInput, 'onEvent'>): Promise<number>;
}

export interface AskRequest {
  question: string;
  conversationId?: string | undefined;
  documentIds?: string[] | undefined;
  /** A transcript the client keeps itself (the OpenAI-compatible API): used instead of stored history for a new conversation. */
  history?: HistoryTurn[] | undefined;
  /**
   * Groups the local engine's cache; default the conversation id. A realtime session uses its own
   * id, so what it evaluated speculatively before the conversation existed is found again.
   */
  sessionKey?: string | undefined;
}

export interface AskOutcome {
  conversation: ConversationDoc;
  message: MessageDoc;
  answer: AgentAnswer;
}

export interface AnswerServiceDeps {
  agent: Answerer;
  kbs: KnowledgeBaseService;
  search: KbSearch;
  conversations: ConversationService;
  organisations: OrganisationService;
  ledger: UsageLedger;
  audit: AuditLog;
  log: Logger;
}

/**
 * One question, end to end: the conversation and its history, the organisation's engine policy,
 * the agent, then the record of what happened — the message with its citations and the chunks
 * it showed a model, the usage ledger, and an audit entry whenever passages went to a cloud engine.
 */
export class AnswerService {
  readonly #d: AnswerServiceDeps;

  constructor(deps: AnswerServiceDeps) {
    this.#d = deps;
  }

  /** Retrieval for the agent, bound to one knowledge base. */
  passageSearch(organisationId: string, kbId: string, mode: 'hybrid' | 'keyword' | 'vector'): PassageSearch {
    return async (query, options) => {
      const { hits } = await this.#d.search.search({ organisationId, kbId, query, k: options.k, mode, documentIds: options.documentIds });
      return hits satisfies Passage[];
    };
  }

  async ask(
    acting: Acting,
    kbId: string,
    request: AskRequest,
    options: {
      signal?: AbortSignal;
      onEvent?: (event: AgentEvent) => void;
      onConversation?: (conversation: ConversationDoc) => void;
      /** The stored assistant message, whether the answer completed or was stopped. */
      onMessage?: (message: MessageDoc) => void;
    } = {},
  ): Promise<AskOutcome> {
    const { principal } = acting;
    const kb = await this.#d.kbs.get(principal.organisationId, kbId);
    const conversation = request.conversationId
      ? await this.#d.conversations.get(principal, request.conversationId)
      : await this.#d.conversations.create(principal, kb._id, request.question);
    if (conversation.kbId !== kb._id) throw errors.notFound('conversation');
    if (request.conversationId) await recordForeignRead(this.#d.audit, acting, conversation, 'continue');
    const answered = (await this.#d.conversations.messages(principal.organisationId, conversation._id)).filter((m) => m.role === 'user' || m.status === 'complete');
    const stored = answered.map((m) => ({ role: m.role, content: m.content }));
    const history = stored.length === 0 && request.history ? request.history : stored;
    const priorTranscript = answered.findLast((m) => m.role === 'assistant')?.transcript;
    await this.#d.conversations.addMessage(conversation, { role: 'user', content: request.question });
    // A client that stops the first answer must still know which conversation it started.
    options.onConversation?.(conversation);

    const { llmPolicy } = await this.#d.organisations.settings(principal.organisationId);
    let streamed = '';
    const searches: SearchRecord[] = [];
    const onEvent = (event: AgentEvent) => {
      if (event.type === 'delta') streamed += event.text;
      if (event.type === 'search') searches.push({ query: event.query, hits: event.hits, ...(event.documentIds ? { documentIds: event.documentIds } : {}) });
      options.onEvent?.(event);
    };
    let answer: AgentAnswer;
    try {
      answer = await this.#d.agent.ask(llmPolicy, this.passageSearch(principal.organisationId, kb._id, kb.settings.retrievalMode), {
        question: request.question,
        history,
        priorTranscript,
        documentIds: request.documentIds,
        sessionKey: request.sessionKey ?? conversation._id,
        signal: options.signal,
        onEvent,
      });
    } catch (err) {
      // Keep what the person saw: a stopped answer stays in the conversation, marked as such.
      const status = options.signal?.aborted ? 'cancelled' : 'failed';
      // Not inside `onMessage?.(…)`: with nobody listening, optional chaining would not store it at all.
      const stopped = await this.#d.conversations.addMessage(conversation, { role: 'assistant', content: streamed, status, citations: [], searches });
      options.onMessage?.(stopped);
      throw err;
    }

    const message = await this.#d.conversations.addMessage(conversation, {
      role: 'assistant',
      content: answer.answer,
      status: 'complete',
      mode: answer.mode,
      incomplete: answer.incomplete ?? null,
      citations: answer.citations,
      ...(answer.notCovered ? { notCovered: true, related: answer.related ?? [] } : {}),
      engine: answer.engine,
      usage: answer.usage,
      shownChunkIds: answer.shownChunkIds,
      sentToCloud: answer.sentToCloud,
      promptVersion: answer.promptVersion,
      searches,
      feedback: null,
      ...(answer.transcript ? { transcript: answer.transcript } : {}),
    });
    options.onMessage?.(message);
    await this.#d.ledger.record({
      organisationId: principal.organisationId,
      kbId: kb._id,
      conversationId: conversation._id,
      messageId: message._id,
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      engine: answer.engine.name,
      engineKind: answer.engine.kind,
      model: answer.engine.model,
      promptTokens: answer.usage.promptTokens,
      completionTokens: answer.usage.completionTokens,
      cachedPromptTokens: answer.usage.cachedPromptTokens,
      firstTokenMs: answer.usage.firstTokenMs,
      totalMs: answer.usage.totalMs,
      cloud: answer.sentToCloud,
    });
    if (answer.sentToCloud) {
      await this.#d.audit.recordFor(acting, {
        action: 'llm.cloud',
        target: { type: 'conversation', id: conversation._id, name: conversation.title },
        details: { engine: answer.engine.name, model: answer.engine.model, chunks: answer.shownChunkIds.length, messageId: message._id },
      });
    }
    this.#d.log.info({ conversationId: conversation._id, engine: answer.engine.name, mode: answer.mode, ms: answer.usage.totalMs }, 'answered');
    return { conversation, message, answer };
  }

  /**
   * Speculation for a question still being spoken: evaluates the prompt it would get, without
   * storing anything. Only local engines are involved; the real `ask` follows with the same `sessionKey`.
   */
  async prepare(acting: Acting, kbId: string, request: AskRequest & { signal?: AbortSignal | undefined }): Promise<number> {
    const { principal } = acting;
    const kb = await this.#d.kbs.get(principal.organisationId, kbId);
    const answered = request.conversationId ? (await this.#d.conversations.messages(principal.organisationId, (await this.#d.conversations.get(principal, request.conversationId))._id)).filter((m) => m.role === 'user' || m.status === 'complete') : [];
    const { llmPolicy } = await this.#d.organisations.settings(principal.organisationId);
    return this.#d.agent.prepare(llmPolicy, this.passageSearch(principal.organisationId, kb._id, kb.settings.retrievalMode), {
      question: request.question,
      history: answered.map((m) => ({ role: m.role, content: m.content })),
      priorTranscript: answered.findLast((m) => m.role === 'assistant')?.transcript,
      documentIds: request.documentIds,
      sessionKey: request.sessionKey ?? request.conversationId,
      signal: request.signal,
    });
  }

  /** A spoken answer the listener interrupted: keep what they heard (`conversation.item.truncate`). */
  truncate(acting: Acting, conversationId: string, messageId: string, heard: string): Promise<MessageDoc> {
    return this.#d.conversations.truncateAnswer(acting.principal.organisationId, conversationId, messageId, heard);
  }

  /** A spoken turn's timings go with its message; its audio with the answer's ledger entry. */
  async recordVoice(acting: Acting, messageId: string, voice: VoiceMetrics): Promise<void> {
    const { organisationId } = acting.principal;
    await this.#d.conversations.setVoiceMetrics(organisationId, messageId, voice);
    const { audioInSeconds, audioOutSeconds, charactersSynthesised, stt } = voice;
    await this.#d.ledger.recordVoice(organisationId, messageId, { audioInSeconds, audioOutSeconds, charactersSynthesised, stt, voice: voice.voice });
    this.#d.log.info({ messageId, ...voice }, 'voice turn');
  }
}
