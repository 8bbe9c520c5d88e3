import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { AgentEvent } from '../agent/types.ts';
import type { EngineGateway } from '../llm/gateway.ts';
import type { AnswerService, AskOutcome } from '../conversations/answer.ts';
import type { EmbeddingEngine } from '../embeddings/embeddings.ts';
import { AppError, errors, toErrorBody } from '../errors.ts';
import type { AppContext, AppState } from '../http/context.ts';
import type { ExternalOperation } from '../http/openapi.ts';
import { actingOf, principalOf } from '../http/context.ts';
import type { KnowledgeBaseService } from '../kb/knowledge-bases.ts';
import type { ChatMessage, GenerateResult, ToolSpec } from '../llm/llm.ts';
import type { OrganisationService } from '../organisations/organisations.ts';
import { limited } from '../limits/http.ts';
import type { RateLimits } from '../limits/rate-limits.ts';

// An OpenAI-compatible surface so existing tools (SDKs, chat front-ends, editors) work against
// the box with an API key. `kb:<id>` models answer from a knowledge base, with citations in an
// extra field; the installed local model answers plainly; the embedding model embeds.

const KB_PREFIX = 'kb:';

// Clients send many optional fields (n, top_p, user, …); unknown ones are ignored rather than
// refused, as OpenAI itself does.
const ChatRequest = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z
    .array(
      z.looseObject({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() })), z.null()]).optional(),
        tool_calls: z.array(z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) })).optional(),
        tool_call_id: z.string().optional(),
      }),
    )
    .min(1)
    .max(500),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).max(8192).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).max(8192).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  tools: z.array(z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }) })).optional(),
});
type ChatRequest = z.output<typeof ChatRequest>;

const EmbeddingsRequest = z.looseObject({ model: z.string().min(1), input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]) });

// What the endpoints answer, in OpenAI's shapes (loose: OpenAI adds fields over time, and
// knowledge-base answers carry `citations` and `lectern` besides). Answers are parsed with them
// before they leave, as the main API's presenters are.
const ModelList = z.looseObject({
  object: z.literal('list'),
  data: z.array(z.looseObject({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string(), name: z.string().optional() })),
});
const Usage = z.looseObject({ prompt_tokens: z.number().int(), completion_tokens: z.number().int().optional(), total_tokens: z.number().int() });
const ChatCompletion = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(z.looseObject({ index: z.number().int(), message: z.looseObject({ role: z.literal('assistant'), content: z.string().nullable() }), finish_reason: z.string().nullable() })),
  usage: Usage,
});
const EmbeddingList = z.looseObject({
  object: z.literal('list'),
  data: z.array(z.looseObject({ object: z.literal('embedding'), index: z.number().int(), embedding: z.array(z.number()) })),
  model: z.string(),
  usage: Usage,
});

/** The OpenAI-compatible endpoints, for the OpenAPI document. */
export const openAiOperations: ExternalOperation[] = [
  { method: 'get', path: '/v1/models', summary: 'Models: the local LLM, the embedding model, and each knowledge base as `kb:<id>`', responses: { 200: { description: 'OpenAI `list` of `model` objects', schema: ModelList } } },
  {
    method: 'post',
    path: '/v1/chat/completions',
    summary: 'Chat completions: `kb:<id>` answers from a knowledge base with `citations`; a local model id answers plainly. `stream: true` sends server-sent events (`chat.completion.chunk`)',
    body: ChatRequest,
    responses: {
      200: { description: 'OpenAI `chat.completion`, plus `citations` and `lectern` for knowledge-base answers', schema: ChatCompletion },
      404: { description: 'Unknown model or knowledge base (`not_found`)' },
      429: { description: 'Past the questions-per-minute limit (`rate_limited`)' },
    },
  },
  {
    method: 'post',
    path: '/v1/embeddings',
    summary: 'Embeddings from the installed embedding model',
    body: EmbeddingsRequest,
    responses: { 200: { description: 'OpenAI `list` of `embedding` objects with `usage`', schema: EmbeddingList }, 404: { description: 'Unknown embedding model (`not_found`)' } },
  },
];

export interface OpenAiDeps {
  /** Body parsing and principal resolution, shared with the main API. */
  before: Array<Middleware<AppState>>;
  answers: AnswerService;
  kbs: KnowledgeBaseService;
  organisations: OrganisationService;
  gateway: EngineGateway;
  /** Model ids of installed local LLMs. */
  localModels: () => string[];
  embeddings: () => EmbeddingEngine | null;
  clock: { now(): Date };
  /** Chat completions count as questions (`asksPerMinute`), as the REST ask does. */
  limits: Pick<RateLimits, 'take'>;
}

function textOf(content: ChatRequest['messages'][number]['content']): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => part.text ?? '').join('');
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw errors.validation(result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
  return result.data;
}

/** SSE writer in OpenAI's format: `data: {json}` lines, ending with `data: [DONE]`. */
function sse(ctx: AppContext): { stream: PassThrough; send: (data: unknown) => void; signal: AbortSignal } {
  const stream = new PassThrough();
  const controller = new AbortController();
  ctx.res.on('close', () => !ctx.res.writableFinished && controller.abort(new Error('client closed the connection')));
  ctx.req.socket.setTimeout(0);
  ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  ctx.status = 200;
  ctx.body = stream;
  return { stream, send: (data) => !stream.writableEnded && stream.write(`data: ${JSON.stringify(data)}\n\n`), signal: controller.signal };
}

export function openAiRouter(d: OpenAiDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/v1' });
  const created = () => Math.floor(d.clock.now().getTime() / 1000);

  router.use(...d.before);
  // API keys only: these endpoints are for programs, and bearer auth keeps them outside CSRF's reach.
  router.use(async (ctx, next) => {
    const principal = ctx.state.principal;
    if (!principal || principal.via !== 'apiKey') throw new AppError(401, 'unauthenticated', 'Send an organisation API key as `Authorization: Bearer lectern_…`.');
    await next();
  });

  router.get('/models', async (ctx) => {
    const organisationId = principalOf(ctx).organisationId;
    const models = [...d.localModels(), ...(d.embeddings() ? [d.embeddings()!.model.id] : [])].map((id) => ({ id, object: 'model', created: created(), owned_by: 'lectern' }));
    const kbs = (await d.kbs.list(organisationId)).map((kb) => ({ id: `${KB_PREFIX}${kb._id}`, object: 'model', created: Math.floor(Date.parse(kb.createdAt) / 1000), owned_by: 'lectern', name: kb.name }));
    ctx.body = ModelList.parse({ object: 'list', data: [...models, ...kbs] });
  });

  router.post('/chat/completions', limited(d.limits, 'asks'), async (ctx) => {
    const request = parse(ChatRequest, (ctx.request as { body?: unknown }).body ?? {});
    const id = `chatcmpl-${randomUUID()}`;
    if (request.model.startsWith(KB_PREFIX)) return groundedCompletion(ctx, request, id);
    if (!d.localModels().includes(request.model)) throw errors.notFound(`model "${request.model}"`);
    return plainCompletion(ctx, request, id);
  });

  router.post('/embeddings', async (ctx) => {
    const request = parse(EmbeddingsRequest, (ctx.request as { body?: unknown }).body ?? {});
    const engine = d.embeddings();
    if (!engine || engine.model.id !== request.model) throw errors.notFound(`embedding model "${request.model}"`);
    const inputs = typeof request.input === 'string' ? [request.input] : request.input;
    const vectors = await engine.embedDocuments(inputs);
    const tokens = inputs.reduce((n, text) => n + engine.countTokens(text), 0);
    ctx.body = EmbeddingList.parse({
      object: 'list',
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: Array.from(v) })),
      model: engine.model.id,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  });

  async function groundedCompletion(ctx: AppContext, request: ChatRequest, id: string): Promise<void> {
    const kbId = request.model.slice(KB_PREFIX.length);
    const turns = request.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
    const last = turns.at(-1);
    if (!last || last.role !== 'user') throw errors.validation([{ path: 'messages', message: 'the last message must come from the user' }]);
    const acting = actingOf(ctx);
    // A knowledge base the caller cannot see is a 404 before anything is streamed, not an error
    // event inside a 200 stream.
    await d.kbs.get(acting.principal.organisationId, kbId);
    // Earlier turns of the client's own transcript become the history of a fresh conversation.
    const ask = (signal: AbortSignal, onEvent?: (e: AgentEvent) => void) =>
      d.answers.ask(acting, kbId, { question: textOf(last.content), history: turns.slice(0, -1).map((m) => ({ role: m.role as 'user' | 'assistant', content: textOf(m.content) })) }, { signal, ...(onEvent ? { onEvent } : {}) });
    const base = { id, created: created(), model: request.model };
    const extra = (o: AskOutcome) => ({ citations: o.answer.citations, lectern: { conversationId: o.conversation._id, messageId: o.message._id, engine: o.answer.engine, mode: o.answer.mode } });
    const usage = (o: AskOutcome) => ({ prompt_tokens: o.answer.usage.promptTokens, completion_tokens: o.answer.usage.completionTokens, total_tokens: o.answer.usage.promptTokens + o.answer.usage.completionTokens });

    if (!request.stream) {
      const controller = new AbortController();
      ctx.res.on('close', () => !ctx.res.writableFinished && controller.abort(new Error('client closed the connection')));
      const outcome = await ask(controller.signal);
      ctx.body = ChatCompletion.parse({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: outcome.answer.answer, ...extra(outcome) }, finish_reason: 'stop', logprobs: null }],
        usage: usage(outcome),
        ...extra(outcome),
      });
      return;
    }
    const { stream, send, signal } = sse(ctx);
    const chunk = (delta: Record<string, unknown>, finish: string | null, more: Record<string, unknown> = {}) =>
      send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...more });
    chunk({ role: 'assistant', content: '' }, null);
    let streamedText = false;
    ask(signal, (e) => {
      if (e.type === 'delta') {
        streamedText = true;
        chunk({ content: e.text }, null);
      }
    })
      .then((outcome) => {
        // Extractive answers arrive whole, not as deltas.
        if (!streamedText && outcome.answer.answer) chunk({ content: outcome.answer.answer }, null);
        chunk({}, 'stop', extra(outcome));
        if (request.stream_options?.include_usage) send({ ...base, object: 'chat.completion.chunk', choices: [], usage: usage(outcome) });
      })
      .catch((err: unknown) => !signal.aborted && send(toErrorBody(err, ctx.state.requestId).body))
      .finally(() => {
        if (!stream.writableEnded) stream.end('data: [DONE]\n\n');
      });
  }

  async function plainCompletion(ctx: AppContext, request: ChatRequest, id: string): Promise<void> {
    const { llmPolicy } = await d.organisations.settings(principalOf(ctx).organisationId);
    const messages: ChatMessage[] = request.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: textOf(m.content),
      ...(m.tool_calls ? { toolCalls: m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: safeJson(c.function.arguments) })) } : {}),
      ...(m.tool_call_id ? { toolCallId: m.tool_call_id } : {}),
    }));
    const tools: ToolSpec[] | undefined = request.tools?.map((t) => ({ name: t.function.name, description: t.function.description ?? '', parameters: t.function.parameters ?? { type: 'object', properties: {} } }));
    const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? 512;
    const base = { id, created: created(), model: request.model };
    const toolCalls = (r: GenerateResult) => r.toolCalls.map((c, index) => ({ index, id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
    const finish = (r: GenerateResult) => (r.finishReason === 'aborted' ? 'stop' : r.finishReason);
    const usage = (r: GenerateResult) => ({ prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens, total_tokens: r.usage.promptTokens + r.usage.completionTokens });
    const generate = (signal: AbortSignal, onDelta?: (text: string) => void) =>
      d.gateway.generate(llmPolicy, { messages, maxTokens, ...(tools ? { tools } : {}), ...(request.temperature != null ? { temperature: request.temperature } : {}), signal, ...(onDelta ? { onDelta } : {}) });

    if (!request.stream) {
      const controller = new AbortController();
      ctx.res.on('close', () => !ctx.res.writableFinished && controller.abort(new Error('client closed the connection')));
      const { result } = await generate(controller.signal);
      ctx.body = ChatCompletion.parse({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: result.text || null, ...(result.toolCalls.length ? { tool_calls: toolCalls(result) } : {}) }, finish_reason: finish(result), logprobs: null }],
        usage: usage(result),
      });
      return;
    }
    const { stream, send, signal } = sse(ctx);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => send({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] });
    chunk({ role: 'assistant', content: '' }, null);
    generate(signal, (text) => chunk({ content: text }, null))
      .then(({ result }) => {
        if (result.toolCalls.length) chunk({ tool_calls: toolCalls(result) }, null);
        chunk({}, finish(result));
        if (request.stream_options?.include_usage) send({ ...base, object: 'chat.completion.chunk', choices: [], usage: usage(result) });
      })
      .catch((err: unknown) => !signal.aborted && send(toErrorBody(err, ctx.state.requestId).body))
      .finally(() => {
        if (!stream.writableEnded) stream.end('data: [DONE]\n\n');
      });
  }

  return router;
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
