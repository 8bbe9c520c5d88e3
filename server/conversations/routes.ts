import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { toErrorBody } from '../errors.ts';
import type { AuditLog } from '../audit/audit.ts';
import { actingOf, principalOf, type AppContext } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import type { AgentEvent } from '../agent/types.ts';
import type { AnswerService, AskOutcome } from './answer.ts';
import { presentConversation, presentMessage, type ConversationDoc, type ConversationService } from './conversations.ts';

const Citation = z
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
/** A stored answer's citation: as above, or — once its document is deleted — only its number and ids, `removed`. */
const StoredCitation = z
  .union([
    Citation.extend({ removed: z.literal(false) }),
    z.object({
      n: z.number(),
      chunkId: z.string(),
      documentId: z.string(),
      documentName: z.null(),
      page: z.null(),
      pageLabel: z.null(),
      quote: z.null(),
      removed: z.literal(true).describe('The cited document was deleted: its quote, page and name are gone, and the answer text no longer holds what came from it'),
    }),
  ])
  .meta({ id: 'StoredCitation' });
const Engine = z.object({ name: z.string(), kind: z.enum(['local', 'cloud', 'extractive']), model: z.string().nullable(), reason: z.string() }).meta({ id: 'AnswerEngine' });
const Usage = z
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
const AskResponse = z
  .object({
    conversationId: z.string(),
    messageId: z.string(),
    answer: z.string(),
    mode: z.enum(['generative', 'extractive']),
    /** Why the answer stopped early, if it did: `length` (token limit) or `interrupted` (the engine failed mid-answer). */
    incomplete: z.enum(['length', 'interrupted']).nullable(),
    citations: z.array(Citation),
    engine: Engine,
    usage: Usage,
  })
  .meta({ id: 'Answer' });
const Message = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  createdAt: z.string(),
  status: z.enum(['complete', 'cancelled', 'failed']),
  mode: z.enum(['generative', 'extractive']).nullable(),
  /** `truncated`: a spoken answer the listener interrupted; the content is what they heard (the realtime socket's conversation.item.truncate). */
  incomplete: z.enum(['length', 'interrupted', 'truncated']).nullable(),
  citations: z.array(StoredCitation),
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
const Conversation = z
  .object({ id: z.string(), kbId: z.string(), title: z.string(), userId: z.string().nullable(), apiKeyId: z.string().nullable(), createdAt: z.string(), updatedAt: z.string(), messageCount: z.number() })
  .meta({ id: 'Conversation' });

export function presentAnswer({ conversation, message, answer }: AskOutcome): z.output<typeof AskResponse> {
  return {
    conversationId: conversation._id,
    messageId: message._id,
    answer: answer.answer,
    mode: answer.mode,
    incomplete: answer.incomplete ?? null,
    citations: answer.citations,
    engine: answer.engine,
    usage: answer.usage,
  };
}

/** Streams an ask as server-sent events; closing the connection cancels the answer. */
function streamAsk(
  ctx: AppContext,
  run: (signal: AbortSignal, onEvent: (e: AgentEvent) => void, onConversation: (c: ConversationDoc) => void) => Promise<AskOutcome>,
): PassThrough {
  const stream = new PassThrough();
  const controller = new AbortController();
  // The response closing before it ended means the client went away (the request's own 'close'
  // fires as soon as its body has been read).
  ctx.res.on('close', () => !ctx.res.writableFinished && controller.abort(new Error('client closed the connection')));
  ctx.req.socket.setTimeout(0);
  ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  const send = (event: string, data: unknown) => {
    if (!stream.writableEnded) stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  run(
    controller.signal,
    (e) => {
      const { type, ...data } = e;
      send(type, data);
    },
    (c) => send('conversation', { conversationId: c._id }),
  )
    .then((outcome) => send('done', presentAnswer(outcome)))
    .catch((err: unknown) => {
      if (controller.signal.aborted) return;
      const { body, expected } = toErrorBody(err, ctx.state.requestId);
      if (!expected) ctx.state.log.error({ err }, 'ask failed');
      send('error', body);
    })
    .finally(() => stream.end());
  return stream;
}

export function conversationRoutes(d: { answers: AnswerService; conversations: ConversationService; audit: AuditLog }) {
  const conversationParams = z.object({ id: idParam });
  return [
    route({
      method: 'post',
      path: '/kbs/:kbId/ask',
      summary:
        'Ask a question; the answer is grounded in the knowledge base and cites passages. With `Accept: text/event-stream` it streams `conversation`, `search`, `delta`, `citation` and `done` events (`error` on failure); closing the connection cancels it.',
      tag: 'Answers',
      access: 'viewer',
      limit: 'asks',
      params: z.object({ kbId: idParam }),
      body: z.strictObject({
        question: z.string().trim().min(1).max(4000),
        conversationId: idParam.optional(),
        documentIds: z.array(idParam).max(100).optional(),
      }),
      responses: { 200: { description: 'The answer (JSON), or an event stream', schema: AskResponse }, 404: { description: 'No such knowledge base or conversation' } },
      handler: async (ctx, { params, body }) => {
        const acting = actingOf(ctx);
        if (ctx.accepts('application/json', 'text/event-stream') === 'text/event-stream') {
          return streamAsk(ctx, (signal, onEvent, onConversation) => d.answers.ask(acting, params.kbId, body, { signal, onEvent, onConversation }));
        }
        const controller = new AbortController();
        ctx.res.on('close', () => !ctx.res.writableFinished && controller.abort(new Error('client closed the connection')));
        return presentAnswer(await d.answers.ask(acting, params.kbId, body, { signal: controller.signal }));
      },
    }),
    route({
      method: 'get',
      path: '/conversations',
      summary: 'Your conversations (admins: every conversation of the organisation), newest first',
      tag: 'Answers',
      access: 'viewer',
      query: z.strictObject({ kbId: idParam.optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
      responses: { 200: { description: 'Conversations', schema: z.object({ conversations: z.array(Conversation) }) } },
      handler: async (ctx, { query }) => ({ conversations: (await d.conversations.list(principalOf(ctx), query)).map(presentConversation) }),
    }),
    route({
      method: 'get',
      path: '/conversations/:id',
      summary: 'A conversation with its messages, citations and the chunks each answer was shown',
      tag: 'Answers',
      access: 'viewer',
      params: conversationParams,
      responses: { 200: { description: 'The conversation', schema: Conversation.extend({ messages: z.array(Message) }) }, 404: { description: 'No such conversation' } },
      handler: async (ctx, { params }) => {
        const principal = principalOf(ctx);
        const conversation = await d.conversations.get(principal, params.id);
        const messages = await d.conversations.messages(principal.organisationId, conversation._id);
        // An admin reading someone else's conversation is recorded; its title stays out of the log (it is sealed at rest, the log is not).
        const own = principal.userId ? conversation.userId === principal.userId : conversation.apiKeyId === principal.apiKeyId;
        if (!own) {
          const owner = conversation.userId ? { ownerType: 'user', ownerId: conversation.userId } : { ownerType: 'apiKey', ownerId: conversation.apiKeyId };
          await d.audit.recordViewFor(actingOf(ctx), { action: 'conversation.read', target: { type: 'conversation', id: conversation._id, name: null }, details: { kbId: conversation.kbId, ...owner } });
        }
        return { ...presentConversation(conversation), messages: messages.map(presentMessage) };
      },
    }),
    route({
      method: 'delete',
      path: '/conversations/:id',
      summary: 'Delete a conversation and its messages',
      tag: 'Answers',
      access: 'viewer',
      params: conversationParams,
      status: 204,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such conversation' } },
      handler: async (ctx, { params }) => {
        await d.conversations.remove(principalOf(ctx), params.id);
      },
    }),
    route({
      method: 'post',
      path: '/conversations/:id/messages/:messageId/feedback',
      summary: 'Rate an answer (thumbs up or down) with an optional comment',
      tag: 'Answers',
      access: 'viewer',
      params: z.object({ id: idParam, messageId: idParam }),
      body: z.strictObject({ rating: z.enum(['up', 'down']), comment: z.string().max(2000).optional() }),
      responses: { 200: { description: 'The rated message', schema: Message }, 404: { description: 'No such answer' } },
      handler: async (ctx, { params, body }) => presentMessage(await d.conversations.setFeedback(principalOf(ctx), params.id, params.messageId, body)),
    }),
  ];
}
