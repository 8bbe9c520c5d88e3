import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { toErrorBody } from '../errors.ts';
import type { AuditLog } from '../audit/audit.ts';
import { actingOf, principalOf, type AppContext } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import type { AgentEvent } from '../agent/types.ts';
import type { AnswerService, AskOutcome } from './answer.ts';
import { presentConversation, presentMessage, type ConversationDoc, type ConversationService } from './conversations.ts';
import { AskResponse, ConversationDetail, ConversationList, Message } from './schema.ts';
import { recordForeignDelete, recordForeignRead } from './foreign.ts';

export function presentAnswer({ conversation, message, answer }: AskOutcome): z.input<typeof AskResponse> {
  return {
    conversationId: conversation._id,
    messageId: message._id,
    answer: answer.answer,
    mode: answer.mode,
    incomplete: answer.incomplete ?? null,
    citations: answer.citations,
    notCovered: answer.notCovered ?? false,
    related: answer.related ?? [],
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
      responses: { 200: { description: 'Conversations', schema: ConversationList } },
      handler: async (ctx, { query }) => ({ conversations: (await d.conversations.list(principalOf(ctx), query)).map(presentConversation) }),
    }),
    route({
      method: 'get',
      path: '/conversations/:id',
      summary: 'A conversation with its messages, citations and the chunks each answer was shown',
      tag: 'Answers',
      access: 'viewer',
      params: conversationParams,
      responses: { 200: { description: 'The conversation', schema: ConversationDetail }, 404: { description: 'No such conversation' } },
      handler: async (ctx, { params }) => {
        const principal = principalOf(ctx);
        const conversation = await d.conversations.get(principal, params.id);
        const messages = await d.conversations.messages(principal.organisationId, conversation._id);
        await recordForeignRead(d.audit, actingOf(ctx), conversation, 'read');
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
        await recordForeignDelete(d.audit, actingOf(ctx), await d.conversations.remove(principalOf(ctx), params.id));
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
