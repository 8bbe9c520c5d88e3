// Answer latency through the real appliance versus node-llama-cpp called directly, and what
// prefix reuse saves on follow-up turns.
//
//   npm run bench:answer -- [--model <file.gguf> | --models-dir <MODELS_DIR> [--llm <id>]] [--threads N] [--runs N]
//
// (a) Time to first token and tokens/s of `POST /kbs/:kbId/ask` (SSE, over loopback HTTP) versus
//     LlamaChat on the same GGUF given the exact request the agent sent (captured at the engine)
//     and the same prefix already evaluated, so both evaluate and generate the same tokens.
// (b) Prompt tokens evaluated on follow-up turns: in the same conversation (its sequence kept),
//     replayed under a fresh session key (the sequences hold other conversations), and cold.
//
// Without --model a tiny random-weight GGUF is written to a temporary MODELS_DIR: real models
// cannot be downloaded here, so the numbers then measure Lectern's overhead, not answer quality.

import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper } from 'node-llama-cpp';
import { createAppliance, listen } from '../server/appliance.ts';
import { loadConfig } from '../server/config.ts';
import { NO_RATE_LIMITS } from '../server/limits/testing.ts';
import type { DocumentDoc } from '../server/documents/documents.ts';
import { defaultLlmThreads, LocalLlmEngine, renderChat, toChatHistory, toFunctions } from '../server/llm/llama.ts';
import type { GenerateRequest, GenerateResult } from '../server/llm/llm.ts';
import { createLogger } from '../server/logger.ts';
import { Lifecycle } from '../server/ops/lifecycle.ts';
import { writeTinyGguf } from '../test/fixtures/tiny-gguf.ts';

const DOCUMENTS = [
  {
    name: 'opening-hours.md',
    text: '# Opening hours\n\nThe clinic is open Monday to Friday from 8:00 to 18:00 and on Saturday from 9:00 to 12:00. It is closed on Sundays and public holidays.\n\nThe phone line opens at 7:30 for same-day appointments.',
  },
  {
    name: 'appointments.md',
    text: '# Appointments\n\nBook appointments by phone or at reception. Cancel at least 24 hours ahead; late cancellations are charged 30 euros.\n\nNew patients bring their insurance card and a list of current medicines.',
  },
  {
    name: 'prescriptions.txt',
    text: 'Repeat prescriptions are ordered through the patient portal and are ready for collection after two working days. Controlled medicines need a review appointment every three months.',
  },
];
const QUESTIONS = ['When is the clinic open on Saturday?', 'How much does a late cancellation cost?', 'How long does a repeat prescription take?'];
const FOLLOW_UPS = ['What are the opening hours of the clinic?', 'And on Saturday?', 'Is the phone line open earlier?'];

interface Captured {
  request: GenerateRequest;
  result: GenerateResult;
}

interface Timed {
  firstMs: number;
  /** First to last piece of text: the generation rate the reader sees. */
  streamMs: number;
  tokens: number;
}

const rate = (t: Timed) => ((t.tokens - 1) / t.streamMs) * 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

async function prepareModels(values: { model?: string | undefined; 'models-dir'?: string | undefined; llm?: string | undefined }, scratch: string) {
  if (values['models-dir']) return { modelsDir: path.resolve(values['models-dir']), llm: values.llm, note: `models from ${values['models-dir']}` };
  const modelsDir = path.join(scratch, 'models');
  await mkdir(modelsDir, { recursive: true });
  if (values.model) {
    const name = path.basename(values.model);
    await symlink(path.resolve(values.model), path.join(modelsDir, name));
    return { modelsDir, llm: name, note: `model ${values.model}` };
  }
  await writeTinyGguf(path.join(modelsDir, 'tiny.gguf'), { contextLength: 4096 });
  return { modelsDir, llm: 'tiny.gguf', note: 'a TINY RANDOM-WEIGHT GGUF (no real model can be downloaded here): the numbers measure overhead, not a real model' };
}

/** Reads an SSE ask to its end, timing the first and last delta. */
async function askSse(url: string, key: string, body: Record<string, unknown>): Promise<{ timed: Timed; done: any }> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify(body) });
  if (!res.ok || !res.body) throw new Error(`ask: HTTP ${res.status} ${await res.text()}`);
  let buffer = '';
  let first: number | null = null;
  let last = started;
  let done: any = null;
  for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = /^event: (\w+)\ndata: (.*)$/s.exec(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event?.[1] === 'delta') {
        last = performance.now();
        first ??= last;
      } else if (event?.[1] === 'done') done = JSON.parse(event[2] ?? 'null');
      else if (event?.[1] === 'error') throw new Error(`ask failed: ${event[2]}`);
    }
  }
  if (!done || first === null) throw new Error('the ask streamed no answer');
  return { timed: { firstMs: first - started, streamMs: last - first, tokens: done.usage.completionTokens }, done };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, 'models-dir': { type: 'string' }, llm: { type: 'string' }, threads: { type: 'string' }, runs: { type: 'string' } },
  });
  const threads = Number(values.threads ?? defaultLlmThreads());
  const runs = Number(values.runs ?? 3);
  const scratch = await mkdtemp(path.join(tmpdir(), 'lectern-bench-answer-'));
  const log = createLogger({ level: 'silent' });
  const lifecycle = new Lifecycle(log);
  try {
    const models = await prepareModels(values, scratch);
    const config = loadConfig({
      DATA_DIR: path.join(scratch, 'data'),
      MODELS_DIR: models.modelsDir,
      LOG_LEVEL: 'silent',
      INGEST_CONCURRENCY: '1',
      ...NO_RATE_LIMITS,
      LLM_THREADS: String(threads),
      ...(models.llm ? { LLM_MODEL: models.llm } : {}),
    });
    const loadStarted = performance.now();
    const appliance = await createAppliance(config, log, lifecycle);
    const engine = appliance.llm.local;
    if (!(engine instanceof LocalLlmEngine)) throw new Error(`no local LLM: ${appliance.llm.localReason ?? 'unknown reason'}`);
    const applianceMs = performance.now() - loadStarted;

    // The exact requests the agent sends, as the engine receives them.
    const captured: Captured[] = [];
    const generate = engine.generate.bind(engine);
    engine.generate = async (request) => {
      const result = await generate(request);
      captured.push({ request, result });
      return result;
    };

    const { services } = appliance;
    const { organisation, user } = await services.organisations.createWithFirstUser('Bench', { name: 'Bench', email: 'bench@example.org', password: 'bench password 123' }, { role: 'owner', instanceOwner: true });
    const principal = { via: 'session' as const, organisationId: organisation._id, role: 'owner' as const, instanceOwner: true, userId: user._id, sessionId: null, apiKeyId: null, actor: { type: 'user' as const, id: user._id, name: user.email } };
    const { key } = await services.apiKeys.create({ principal, ip: null }, { name: 'bench', role: 'viewer' });
    const kb = await services.kbs.create(organisation._id, { name: 'clinic' });
    const uploaded = [];
    for (const d of DOCUMENTS) uploaded.push({ name: d.name, declaredType: 'application/octet-stream', blob: await services.documents.blobsPut(Readable.from([Buffer.from(d.text)])) });
    await services.documents.add(organisation._id, kb._id, uploaded, null);
    for (let docs: DocumentDoc[] = []; !docs.length || docs.some((d) => d.status !== 'ready' && d.status !== 'failed'); ) {
      await new Promise((r) => setTimeout(r, 50));
      docs = await services.documents.list(organisation._id, kb._id);
    }
    const { port } = await listen(appliance.app.callback(), { port: 0, host: '127.0.0.1', shutdownTimeoutMs: 2000, readiness: appliance.readiness }, lifecycle);
    const askUrl = `http://127.0.0.1:${port}/api/v1/kbs/${kb._id}/ask`;

    // (a) Each ask through Lectern, then at once the same LLM calls on node-llama-cpp directly
    // (interleaved, so both see the same load on a shared machine).
    const directLoad = performance.now();
    const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, maxThreads: threads, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: engine.modelPath });
    const context = await model.createContext({ contextSize: engine.model.contextSize, sequences: 1, threads });
    const directLoadMs = performance.now() - directLoad;
    const sequence = context.getSequence();
    const wrapper = resolveChatWrapper(model);
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper });

    /** Every LLM call of an ask in turn (tool rounds included), from the prefix the engine had evaluated. */
    const replayDirect = async (calls: Captured[]): Promise<Timed> => {
      const [head] = calls;
      if (!head) throw new Error('the ask reached no engine');
      const prefix = renderChat(wrapper, model, toChatHistory(head.request.messages), toFunctions(head.request.tools)).tokens.slice(0, head.result.usage.cachedPromptTokens);
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(prefix);
      const started = performance.now();
      let timed: Timed = { firstMs: Number.NaN, streamMs: Number.NaN, tokens: 0 };
      for (const { request } of calls) {
        const functions = toFunctions(request.tools);
        let first: number | null = null;
        let last = started;
        const response = await chat.generateResponse(toChatHistory(request.messages), {
          ...(functions ? { functions } : {}),
          maxTokens: request.maxTokens,
          temperature: request.temperature ?? 0,
          onTextChunk: (text) => {
            if (!text) return;
            last = performance.now();
            first ??= last;
          },
        });
        timed = { firstMs: (first ?? last) - started, streamMs: last - (first ?? last), tokens: Math.max(model.tokenize(response.response).length, 1) };
      }
      return timed;
    };

    await askSse(askUrl, key, { question: 'Warm-up: who answers the phone?' });
    const stall = { max: 0, p99: 0 };
    const lectern: Array<{ timed: Timed; calls: Captured[] }> = [];
    const direct: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      const start = captured.length;
      // A histogram per ask: one left running would count the direct replays' time as a stall.
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      const { timed } = await askSse(askUrl, key, { question: QUESTIONS[i % QUESTIONS.length] });
      delay.disable();
      stall.max = Math.max(stall.max, delay.max / 1e6);
      stall.p99 = Math.max(stall.p99, delay.percentile(99) / 1e6);
      const calls = captured.slice(start);
      lectern.push({ timed, calls });
      direct.push(await replayDirect(calls));
    }
    await llama.dispose();

    // (b) Follow-up turns: asked in one conversation, then each replayed under a new session key
    // on sequences that hold other conversations (which share only the system prompt).
    const evaluated = (results: GenerateResult[]) => results.reduce((n, r) => n + r.usage.promptTokens - r.usage.cachedPromptTokens, 0);
    const asked: Array<{ question: string; prompt: number; calls: Captured[] }> = [];
    let conversationId: string | undefined;
    for (const question of FOLLOW_UPS) {
      const start = captured.length;
      const { done } = await askSse(askUrl, key, { question, ...(conversationId ? { conversationId } : {}) });
      conversationId = done.conversationId;
      asked.push({ question, prompt: done.usage.promptTokens, calls: captured.slice(start) });
    }
    const turns: Array<{ question: string; prompt: number; same: number; fresh: number; reused: number; previous: number }> = [];
    for (const [i, turn] of asked.entries()) {
      if (i === 0) continue;
      for (const [s, other] of lectern.slice(0, engine.stats().sequences).entries()) {
        const request = other.calls[0]?.request;
        if (request) await generate({ messages: request.messages, maxTokens: 1, sessionKey: `other-${i}-${s}` });
      }
      const replays: GenerateResult[] = [];
      for (const { request } of turn.calls) replays.push(await generate({ messages: request.messages, ...(request.tools ? { tools: request.tools } : {}), maxTokens: 1, sessionKey: `fresh-${i}` }));
      // How much of the previous turn's final prompt the first call found evaluated: all of it when the
      // prompt repeats that turn verbatim (its answer is then re-evaluated only if it does not
      // tokenize back to the generated tokens, as with a random-weight model's output).
      const reused = turn.calls[0]?.result.usage.cachedPromptTokens ?? 0;
      const previous = asked[i - 1]?.calls.at(-1)?.result.usage.promptTokens ?? 0;
      turns.push({ question: turn.question, prompt: turn.prompt, same: evaluated(turn.calls.map((c) => c.result)), fresh: evaluated(replays), reused, previous });
    }

    const l = (pick: (t: (typeof lectern)[number]) => number) => median(lectern.map(pick));
    const d = (pick: (t: Timed) => number) => median(direct.map(pick));
    console.log(`# Answer benchmark\n\nEngine: ${engine.model.id} (${engine.chatFormat}, context ${engine.model.contextSize}, ${threads} thread${threads === 1 ? '' : 's'}, tool calling ${engine.model.toolCalling ? 'on' : 'off'}); ${models.note}.`);
    console.log(`Appliance start incl. model load: ${fixed(applianceMs, 0)} ms; direct node-llama-cpp load: ${fixed(directLoadMs, 0)} ms. Median of ${runs} asks.\n`);
    console.log('| measure | Lectern ask (SSE) | node-llama-cpp direct | ratio (goal ≤ 1.05) |');
    console.log('| --- | --- | --- | --- |');
    console.log(`| time to first token, ms | ${fixed(l((t) => t.timed.firstMs))} (engine: ${fixed(l((t) => t.calls.at(-1)?.result.timings.firstTokenMs ?? Number.NaN))}) | ${fixed(d((t) => t.firstMs))} | ${fixed(l((t) => t.timed.firstMs) / d((t) => t.firstMs), 2)} |`);
    console.log(`| tokens/s while streaming | ${fixed(l((t) => rate(t.timed)))} | ${fixed(d(rate))} | ${fixed(d(rate) / l((t) => rate(t.timed)), 2)} |`);
    console.log(`| prompt tokens (evaluated) per ask | ${l((t) => t.calls.reduce((n, c) => n + c.result.usage.promptTokens, 0))} (${l((t) => evaluated(t.calls.map((c) => c.result)))}) | same | |`);
    console.log(`\nLongest event-loop stall while answering (HTTP client in the same process): ${fixed(stall.max)} ms (worst p99 ${fixed(stall.p99)} ms).`);
    console.log('The first-token ratio includes retrieval, HTTP and the conversation record; on a tiny model those dominate a ~10 ms first token.\n');
    console.log('| follow-up turn | prompt tokens | evaluated, same conversation | evaluated, fresh session key | evaluated, cold | reused / previous turn\'s final prompt |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const t of turns) console.log(`| ${t.question} | ${t.prompt} | ${t.same} | ${t.fresh} | ${t.prompt} | ${t.reused} / ${t.previous} |`);
  } finally {
    await lifecycle.shutdown('bench done');
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) await main(process.argv.slice(2));
