import { z } from 'zod';

export const Citation = z
  .object({
    n: z.number(),
    chunkId: z.string(),
    documentId: z.string(),
    documentName: z.string(),
    page: z.number().nullable().describe('The page the quoted words are on (1-based in the file); null for unpaged formats'),
    pageLabel: z.string().nullable().describe("That page's printed label when the document defines one"),
    quote: z.string(),
  })
  .meta({ id: 'Citation' });
/** A citation whose document was deleted: only its number and ids are left. */
export const RemovedCitation = z.object({
  n: z.number(),
  chunkId: z.string(),
  documentId: z.string(),
  documentName: z.null(),
  page: z.null(),
  pageLabel: z.null(),
  quote: z.null(),
  removed: z.literal(true).describe('The cited document was deleted: its quote, page and name are gone, and the answer text no longer holds what came from it'),
});
/** A stored answer's citation: as above, or — once its document is deleted — only its number and ids, `removed`. */
export const StoredCitation = z.union([Citation.extend({ removed: z.literal(false) }), RemovedCitation]).meta({ id: 'StoredCitation' });
export const Engine = z.object({ name: z.string(), kind: z.enum(['local', 'cloud', 'extractive']), model: z.string().nullable(), reason: z.string() }).meta({ id: 'AnswerEngine' });
export const Usage = z
  .object({
    promptTokens: z.number(),
    completionTokens: z.number(),
    cachedPromptTokens: z.number(),
    firstTokenMs: z.number().nullable(),
    totalMs: z.number(),
    searches: z.number(),
    llmCalls: z.number(),
  })
  .meta({ id: 'AnswerUsage' });
export const AskResponse = z
  .object({
    conversationId: z.string(),
    messageId: z.string(),
    answer: z.string(),
    mode: z.enum(['generative', 'extractive']),
    /** Why the answer stopped early, if it did: `length` (token limit) or `interrupted` (the engine failed mid-answer). */
    incomplete: z.enum(['length', 'interrupted']).nullable(),
    citations: z.array(Citation),
    notCovered: z.boolean().describe("The documents do not answer the question: the answer says so (\"Your documents don't cover that.\") and cites nothing"),
    related: z.array(Citation).describe('With notCovered: the closest passages, related to the question but not an answer to it'),
    engine: Engine,
    usage: Usage,
  })
  .meta({ id: 'Answer' });
export const Message = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  createdAt: z.string(),
  status: z.enum(['complete', 'cancelled', 'failed']),
  mode: z.enum(['generative', 'extractive']).nullable(),
  /** `truncated`: a spoken answer the listener interrupted; the content is what they heard (the realtime socket's conversation.item.truncate). */
  incomplete: z.enum(['length', 'interrupted', 'truncated']).nullable(),
  citations: z.array(StoredCitation),
  notCovered: z.boolean(),
  /** With notCovered: the closest passages, related but not an answer (those of a deleted document are dropped). */
  related: z.array(Citation),
  engine: Engine.nullable(),
  usage: Usage.nullable(),
  shownChunkIds: z.array(z.string()),
  sentToCloud: z.boolean(),
  promptVersion: z.string().nullable(),
  searches: z.array(z.object({ query: z.string(), hits: z.number(), documentIds: z.array(z.string()).optional() })),
  feedback: z.object({ rating: z.enum(['up', 'down']), comment: z.string().nullable(), at: z.string(), by: z.string().nullable() }).nullable(),
  /** A spoken turn's timings and audio (realtime voice), in ms and seconds. */
  voice: z
    .object({
      speechEndToTranscriptMs: z.number().nullable(),
      speechEndToFirstTokenMs: z.number().nullable(),
      speechEndToFirstAudioMs: z.number().nullable(),
      sttMs: z.number().nullable(),
      firstTokenMs: z.number().nullable(),
      ttsFirstSentenceMs: z.number().nullable(),
      ttsMs: z.number(),
      audioInSeconds: z.number(),
      audioOutSeconds: z.number(),
      charactersSynthesised: z.number(),
      stt: z.string().nullable(),
      voice: z.string().nullable(),
    })
    .nullable(),
});
export const Conversation = z
  .object({ id: z.string(), kbId: z.string(), title: z.string(), userId: z.string().nullable(), apiKeyId: z.string().nullable(), createdAt: z.string(), updatedAt: z.string(), messageCount: z.number() })
  .meta({ id: 'Conversation' });
export const ConversationList = z.object({ conversations: z.array(Conversation) });
export const ConversationDetail = Conversation.extend({ messages: z.array(Message) });
