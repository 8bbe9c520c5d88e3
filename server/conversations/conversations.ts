import type { AgentAnswer, Citation, EngineChoice, AnswerUsage } from '../agent/types.ts';
import type { Clock, Random } from '../clock.ts';
import type { ChatMessage } from '../llm/llm.ts';
import type { Collection, Filter } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import type { Principal } from '../auth/principal.ts';
import { roleAtLeast } from '../auth/roles.ts';
import { errors } from '../errors.ts';
import { newId } from '../auth/tokens.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isRemoved, withoutDocument, type StoredCitation } from './redact.ts';
import type { z } from 'zod';
import type { Conversation, Message } from './schema.ts';

export interface ConversationDoc {
  _id: string;
  organisationId: string;
  kbId: string;
  title: string;
  userId: string | null;
  apiKeyId: string | null;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
}

/** A knowledge-base search an answer ran (a tool call or the retrieval step). */
export type SearchRecord = { query: string; hits: number; documentIds?: string[] | undefined };

export type Feedback = { rating: 'up' | 'down'; comment: string | null; at: string; by: string | null };

export interface MessageDoc {
  _id: string;
  organisationId: string;
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  createdAt: string;
  /** Assistant messages: how the answer ended. */
  status?: 'complete' | 'cancelled' | 'failed';
  mode?: AgentAnswer['mode'];
  /**
   * Set when the answer stopped early: the token limit, the engine failing after it had started,
   * or (`truncated`) the listener talking over a spoken answer, which keeps what they heard.
   */
  incomplete?: 'length' | 'interrupted' | 'truncated' | null;
  /** A citation of a document deleted since says `removed` and keeps no quote (see redact.ts). */
  citations?: StoredCitation[];
  /** The documents do not answer the question (see AgentAnswer.notCovered). */
  notCovered?: boolean;
  /** With notCovered: the closest passages, offered as related rather than cited. */
  related?: Citation[];
  engine?: EngineChoice;
  usage?: AnswerUsage;
  /** Every chunk shown to a model for this answer: the audit of what left the knowledge base. */
  shownChunkIds?: string[];
  sentToCloud?: boolean;
  promptVersion?: string;
  searches?: SearchRecord[];
  feedback?: Feedback | null;
  /** Internal, never presented: the answer's final LLM call as sent, which the next turn's prompt repeats. */
  transcript?: ChatMessage[];
  /** A spoken turn's timings and audio (realtime voice). */
  voice?: VoiceMetrics;
  /** The answer as generated, when the listener interrupted it and `content` is what they heard. */
  generatedContent?: string;
}

/** One spoken turn, measured by the realtime session. Times in ms; null where the turn had no such step. */
export interface VoiceMetrics {
  /** End of speech (speech_stopped) → final transcript, → first answer token, → first audio byte sent. */
  speechEndToTranscriptMs: number | null;
  speechEndToFirstTokenMs: number | null;
  speechEndToFirstAudioMs: number | null;
  /** Time inside the recogniser after end of speech. */
  sttMs: number | null;
  /** Question → first answer token (retrieval and prompt evaluation included). */
  firstTokenMs: number | null;
  /** Time inside the voice for the first sentence, and for all of them. */
  ttsFirstSentenceMs: number | null;
  ttsMs: number;
  audioInSeconds: number;
  audioOutSeconds: number;
  charactersSynthesised: number;
  stt: string | null;
  voice: string | null;
}

/** Conversations per page when many are changed or read at once. */
const PAGE = 100;

/** Conversations and their messages. People see their own; admins see every conversation of the organisation. */
export class ConversationService {
  readonly #d: { conversations: Collection<ConversationDoc>; messages: Collection<MessageDoc>; clock: Clock; random: Random };

  constructor(deps: { conversations: Collection<ConversationDoc>; messages: Collection<MessageDoc>; clock: Clock; random: Random }) {
    this.#d = deps;
  }

  #now(): string {
    return this.#d.clock.now().toISOString();
  }

  #conversations(organisationId: string) {
    return tenantCollection(this.#d.conversations, organisationId);
  }

  #messages(organisationId: string) {
    return tenantCollection(this.#d.messages, organisationId);
  }

  /** Conversations a principal may see: its own, or all of them for admins. */
  #visibility(principal: Principal): Partial<ConversationDoc> {
    if (roleAtLeast(principal.role, 'admin')) return {};
    return principal.userId ? { userId: principal.userId } : { apiKeyId: principal.apiKeyId };
  }

  async list(principal: Principal, options: { kbId?: string | undefined; limit: number }): Promise<ConversationDoc[]> {
    const filter = { ...this.#visibility(principal), ...(options.kbId ? { kbId: options.kbId } : {}) };
    return this.#conversations(principal.organisationId).find(filter, { sort: { updatedAt: -1, _id: 1 }, limit: options.limit }).toArray();
  }

  async get(principal: Principal, id: string): Promise<ConversationDoc> {
    const conversation = await this.#conversations(principal.organisationId).findOne({ _id: id, ...this.#visibility(principal) });
    if (!conversation) throw errors.notFound('conversation');
    return conversation;
  }

  async create(principal: Principal, kbId: string, question: string): Promise<ConversationDoc> {
    const now = this.#now();
    const title = question.replace(/\s+/g, ' ').trim();
    const doc: ConversationDoc = {
      _id: newId(this.#d.random),
      organisationId: principal.organisationId,
      kbId,
      title: title.length > 80 ? `${title.slice(0, 79)}…` : title,
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      createdAt: now,
      updatedAt: now,
      messageCount: 0,
    };
    await this.#conversations(principal.organisationId).insertOne(doc);
    return doc;
  }

  messages(organisationId: string, conversationId: string): Promise<MessageDoc[]> {
    return this.#messages(organisationId).find({ conversationId }, { sort: { createdAt: 1, _id: 1 } }).toArray();
  }

  async addMessage(conversation: ConversationDoc, message: Omit<MessageDoc, '_id' | 'organisationId' | 'conversationId' | 'createdAt'>): Promise<MessageDoc> {
    const doc: MessageDoc = { ...message, _id: newId(this.#d.random), organisationId: conversation.organisationId, conversationId: conversation._id, createdAt: this.#now() };
    await this.#messages(conversation.organisationId).insertOne(doc);
    await this.#conversations(conversation.organisationId).updateOne({ _id: conversation._id }, { $set: { updatedAt: doc.createdAt }, $inc: { messageCount: 1 } });
    return doc;
  }

  /**
   * Cuts an answer down to what the listener heard before interrupting it: later citations go, and
   * the LLM transcript too, since the next turn must build on the shortened answer.
   */
  async truncateAnswer(organisationId: string, conversationId: string, messageId: string, heard: string): Promise<MessageDoc> {
    const messages = this.#messages(organisationId);
    const message = await messages.findOne({ _id: messageId, conversationId, role: 'assistant' });
    if (!message) throw errors.notFound('message');
    if (heard.length >= message.content.length) return message;
    const citations = (message.citations ?? []).filter((c) => heard.includes(`[${c.n}]`));
    const updated: MessageDoc = { ...message, content: heard, citations, incomplete: 'truncated', generatedContent: message.generatedContent ?? message.content };
    delete updated.transcript;
    await messages.replaceOne({ _id: messageId }, updated);
    return updated;
  }

  async setVoiceMetrics(organisationId: string, messageId: string, voice: VoiceMetrics): Promise<void> {
    await this.#messages(organisationId).updateOne({ _id: messageId }, { $set: { voice: { ...voice } } });
  }

  /** Deletes a conversation the principal can see, and returns what it was. */
  async remove(principal: Principal, id: string): Promise<ConversationDoc> {
    const conversation = await this.get(principal, id);
    await this.#messages(principal.organisationId).deleteMany({ conversationId: id });
    await this.#conversations(principal.organisationId).deleteOne({ _id: id });
    return conversation;
  }

  async removeForKb(organisationId: string, kbId: string): Promise<void> {
    const ids = (await this.#conversations(organisationId).find({ kbId }, { projection: { _id: 1 } }).toArray()).map((c) => c._id);
    if (ids.length) await this.#messages(organisationId).deleteMany({ conversationId: { $in: ids } });
    await this.#conversations(organisationId).deleteMany({ kbId });
  }

  /**
   * Takes what came from a deleted document out of the answers of its knowledge base's
   * conversations (see redact.ts), a page of conversations at a time. Returns the answers changed.
   */
  async forgetDocument(organisationId: string, kbId: string, documentId: string): Promise<number> {
    let changed = 0;
    for await (const ids of this.#pages(organisationId, { kbId })) {
      const answers = await this.#messages(organisationId).find({ conversationId: { $in: ids }, role: 'assistant' }).toArray();
      for (const message of answers) {
        const next = withoutDocument(message, documentId);
        if (!next) continue;
        await this.#messages(organisationId).replaceOne({ _id: message._id }, next);
        changed++;
      }
    }
    return changed;
  }

  /**
   * Takes away the feedback `by` (a user or key id) gave on answers in other people's
   * conversations. Who rated is inside the sealed feedback, so every rated answer is opened.
   */
  async removeFeedbackBy(organisationId: string, by: string): Promise<number> {
    let removed = 0;
    for await (const ids of this.#pages(organisationId, {})) {
      const rated = await this.#messages(organisationId).find({ conversationId: { $in: ids }, role: 'assistant', feedback: { $ne: null } }).toArray();
      for (const message of rated) {
        if (message.feedback?.by !== by) continue;
        await this.#messages(organisationId).updateOne({ _id: message._id }, { $set: { feedback: null } });
        removed++;
      }
    }
    return removed;
  }

  /** Deletes the conversations matching `filter` with their messages, a page at a time. */
  async removeWhere(organisationId: string, filter: Filter<ConversationDoc>): Promise<{ conversations: number; messages: number }> {
    const removed = { conversations: 0, messages: 0 };
    for await (const ids of this.#pages(organisationId, filter, { live: true })) {
      removed.messages += (await this.#messages(organisationId).deleteMany({ conversationId: { $in: ids } })).deletedCount;
      removed.conversations += (await this.#conversations(organisationId).deleteMany({ _id: { $in: ids } })).deletedCount;
    }
    return removed;
  }

  /**
   * Ids of the conversations matching `filter`, a page at a time with a turn of the event loop
   * between pages. `live`: the caller deletes each page, so every page starts from the first.
   */
  async *#pages(organisationId: string, filter: Filter<ConversationDoc>, options: { live?: boolean } = {}): AsyncGenerator<string[]> {
    let after = '';
    for (;;) {
      const page = await this.#conversations(organisationId)
        .find({ ...filter, ...(options.live ? {} : { _id: { $gt: after } }) }, { sort: { _id: 1 }, limit: PAGE, projection: { _id: 1 } })
        .toArray();
      if (page.length === 0) return;
      yield page.map((c) => c._id);
      after = page.at(-1)!._id;
      await nextTurn();
    }
  }

  /** Every conversation matching `filter` with its messages, one at a time (for exports). */
  async *withMessages(organisationId: string, filter: Filter<ConversationDoc>): AsyncGenerator<{ conversation: ConversationDoc; messages: MessageDoc[] }> {
    for await (const ids of this.#pages(organisationId, filter)) {
      for (const id of ids) {
        const conversation = await this.#conversations(organisationId).findOne({ _id: id });
        if (conversation) yield { conversation, messages: await this.messages(organisationId, id) };
      }
    }
  }

  async setFeedback(principal: Principal, conversationId: string, messageId: string, input: { rating: 'up' | 'down'; comment?: string | undefined }): Promise<MessageDoc> {
    await this.get(principal, conversationId);
    const feedback: Feedback = { rating: input.rating, comment: input.comment?.trim() || null, at: this.#now(), by: principal.userId ?? principal.apiKeyId };
    const updated = await this.#messages(principal.organisationId).findOneAndUpdate({ _id: messageId, conversationId, role: 'assistant' }, { $set: { feedback } }, { returnDocument: 'after' });
    if (!updated) throw errors.notFound('message');
    return updated;
  }
}

export function presentConversation(c: ConversationDoc): z.input<typeof Conversation> {
  return { id: c._id, kbId: c.kbId, title: c.title, userId: c.userId, apiKeyId: c.apiKeyId, createdAt: c.createdAt, updatedAt: c.updatedAt, messageCount: c.messageCount };
}

export function presentMessage(m: MessageDoc): z.input<typeof Message> {
  return {
    id: m._id,
    role: m.role,
    content: m.content,
    createdAt: m.createdAt,
    status: m.status ?? 'complete',
    mode: m.mode ?? null,
    incomplete: m.incomplete ?? null,
    citations: (m.citations ?? []).map((c) => (isRemoved(c) ? c : { ...c, removed: false as const })),
    notCovered: m.notCovered ?? false,
    related: m.related ?? [],
    engine: m.engine ?? null,
    usage: m.usage ?? null,
    shownChunkIds: m.shownChunkIds ?? [],
    sentToCloud: m.sentToCloud ?? false,
    promptVersion: m.promptVersion ?? null,
    searches: m.searches ?? [],
    feedback: m.feedback ?? null,
    voice: m.voice ?? null,
  };
}
