import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readGgufFileInfo } from 'node-llama-cpp';
import { writeTinyGguf } from '../../test/fixtures/tiny-gguf.ts';
import { LlmError, type ChatMessage, type GenerateRequest, type ToolSpec } from './llm.ts';
import { LocalLlmEngine, toChatHistory, toGrammarSchema } from './llama.ts';

// Real node-llama-cpp on a tiny random-weight GGUF (written per run, 0.7 MB): the same native
// paths as a real model, a thousand tokens a second. Its text is gibberish; the tests look at
// tokens, state and control flow. Greedy decoding (temperature 0) keeps every run identical.

let dir: string;
let engine: LocalLlmEngine;
let ids = 0;

const SYSTEM = 'You answer questions about the clinic from the knowledge base. Cite the page of every fact you use.';
const chat = (...turns: string[]): ChatMessage[] => [
  { role: 'system', content: SYSTEM },
  ...turns.map((content, i): ChatMessage => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
];
const ask = (messages: ChatMessage[], extra: Partial<GenerateRequest> = {}) => engine.generate({ messages, maxTokens: 16, temperature: 0, ...extra });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lectern-llama-'));
  const { file } = await writeTinyGguf(join(dir, 'tiny.gguf'));
  engine = await LocalLlmEngine.create({ modelPath: file, threads: 1, contextSize: 2048, sequences: 2, queueLimit: 1, newToolCallId: () => `call_${++ids}` });
});

after(async () => {
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('LocalLlmEngine on a tiny GGUF', () => {
  test('loads the model with its chat template and generates exactly maxTokens tokens', async () => {
    assert.equal(engine.kind, 'local');
    assert.equal(engine.name, 'local');
    assert.deepEqual(engine.model, { id: 'lectern-tiny-llama', contextSize: 2048, toolCalling: false });
    assert.equal(engine.chatFormat, 'ChatML');
    const result = await ask(chat('When is the clinic open?'), { maxTokens: 24 });
    assert.equal(result.finishReason, 'length');
    assert.equal(result.usage.completionTokens, 24);
    assert.ok(result.text.length > 0);
    assert.deepEqual(result.toolCalls, []);
    assert.equal(result.usage.promptTokens, engine.renderPrompt({ messages: chat('When is the clinic open?') }).tokens);
    assert.ok(result.timings.firstTokenMs !== null && result.timings.firstTokenMs <= result.timings.totalMs);
  });

  test('streams the answer: the deltas concatenate to the text', async () => {
    const deltas: string[] = [];
    const result = await ask(chat('Who is the doctor on monday?'), { maxTokens: 32, onDelta: (d) => deltas.push(d) });
    assert.ok(deltas.length > 1);
    assert.ok(deltas.every((d) => d.length > 0));
    assert.equal(deltas.join(''), result.text);
  });

  test('an abort mid-stream rejects with the signal reason and frees the sequence', async () => {
    const controller = new AbortController();
    const reason = new Error('caller went away');
    let deltas = 0;
    const started = performance.now();
    const pending = ask(chat('Tell me about the appointment policy.'), {
      maxTokens: 1500,
      signal: controller.signal,
      onDelta: () => {
        if (++deltas === 3) controller.abort(reason);
      },
    });
    await assert.rejects(pending, (err) => err === reason);
    assert.ok(deltas < 10, `stopped after ${deltas} deltas`);
    assert.ok(performance.now() - started < 1000);
    assert.equal(engine.stats().busy, 0);
    assert.equal((await ask(chat('Still there?'), { maxTokens: 2 })).usage.completionTokens, 2);
  });

  test('bounded queue: past the sequences and the queue, a request is refused at once; a waiter can leave', async () => {
    const controller = new AbortController();
    const long = (key: string, signal = controller.signal) => ask(chat(`Long answer for ${key}`), { maxTokens: 1800, signal, sessionKey: key });
    const running = [long('a'), long('b')];
    const waiting = long('c');
    assert.deepEqual({ busy: engine.stats().busy, waiting: engine.stats().waiting }, { busy: 2, waiting: 1 });
    await assert.rejects(ask(chat('one more')), (err) => err instanceof LlmError && err.kind === 'unavailable' && /overloaded: 1 waiting/.test(err.message));

    controller.abort(new Error('stop'));
    const settled = await Promise.allSettled([...running, waiting]);
    assert.ok(settled.every((s) => s.status === 'rejected' && /stop/.test(String(s.reason))));

    // A waiter whose signal fires leaves the queue without ever running.
    const blocking = new AbortController();
    const leaving = new AbortController();
    const blockers = [long('d', blocking.signal), long('e', blocking.signal)];
    const quitter = ask(chat('I will not wait'), { signal: leaving.signal });
    assert.equal(engine.stats().waiting, 1);
    leaving.abort(new Error('not waiting any longer'));
    await assert.rejects(quitter, /not waiting any longer/);
    assert.equal(engine.stats().waiting, 0);
    blocking.abort(new Error('done'));
    await Promise.allSettled(blockers);
    assert.equal(engine.stats().busy, 0);
  });

  test('a follow-up turn evaluates only its new tokens, even with another session in between', async () => {
    const first = chat('What are the opening hours of the clinic on friday?');
    const one = await ask(first, { sessionKey: 'alice', maxTokens: 12 });
    await ask([{ role: 'system', content: 'A different assistant entirely.' }, { role: 'user', content: 'Hello there' }], { sessionKey: 'bob', maxTokens: 12 });

    const before = engine.stats().evaluatedPromptTokens;
    const two = await ask([...first, { role: 'assistant', content: one.text }, { role: 'user', content: 'And on the weekend?' }], { sessionKey: 'alice', maxTokens: 12 });
    const evaluated = engine.stats().evaluatedPromptTokens - before;
    // node-llama-cpp meters the last prompt token with the generation, hence the tolerance of one.
    assert.ok(Math.abs(evaluated - (two.usage.promptTokens - two.usage.cachedPromptTokens)) <= 1, `cachedPromptTokens matches what node-llama-cpp skipped (${evaluated} evaluated)`);
    assert.ok(two.usage.cachedPromptTokens >= one.usage.promptTokens - 1, `reused ${two.usage.cachedPromptTokens} of ${one.usage.promptTokens}`);
    assert.ok(evaluated * 3 < two.usage.promptTokens, `evaluated ${evaluated} of ${two.usage.promptTokens}`);

    // The same conversation under a new session key lands on a sequence holding something else.
    const fresh = await ask([...first, { role: 'assistant', content: one.text }, { role: 'user', content: 'And on the weekend?' }], { sessionKey: 'carol', maxTokens: 12 });
    assert.ok(fresh.usage.cachedPromptTokens < two.usage.cachedPromptTokens / 2, `fresh session reused ${fresh.usage.cachedPromptTokens}`);
  });

  test('speculative prefill of a question still being spoken: the real request evaluates only what differs', async () => {
    const context = 'Passage [1]: The clinic opens at eight on weekdays and at nine on saturdays; it is closed on sundays and public holidays. '.repeat(4);
    const spoken = (question: string): ChatMessage[] => [{ role: 'system', content: SYSTEM }, { role: 'user', content: `${context}\nQuestion: ${question}` }];
    const { evaluatedTokens } = await engine.prefill({ messages: spoken('When does the clinic open on'), sessionKey: 'dana' });
    assert.ok(evaluatedTokens > 50, `prefilled ${evaluatedTokens} tokens`);
    assert.equal((await engine.prefill({ messages: spoken('When does the clinic open on'), sessionKey: 'dana' })).evaluatedTokens, 0, 'nothing new to evaluate');
    const before = engine.stats().evaluatedPromptTokens;
    const answer = await ask(spoken('When does the clinic open on saturday?'), { sessionKey: 'dana', maxTokens: 4 });
    const evaluated = engine.stats().evaluatedPromptTokens - before;
    assert.ok(answer.usage.cachedPromptTokens >= evaluatedTokens - 2, `reused ${answer.usage.cachedPromptTokens} of ${answer.usage.promptTokens} after prefilling ${evaluatedTokens}`);
    assert.ok(evaluated < 20, `the real request evaluated ${evaluated} tokens`);

    // Speculation never waits for, or holds up, real work.
    const blocking = new AbortController();
    const blockers = [ask(chat('one'), { maxTokens: 2000, signal: blocking.signal }), ask(chat('two'), { maxTokens: 2000, signal: blocking.signal })];
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await engine.prefill({ messages: spoken('Anything'), sessionKey: 'erin' }), { evaluatedTokens: 0 });
    blocking.abort(new Error('done'));
    await Promise.allSettled(blockers);
  });

  test('rejects a prompt that does not fit the context as invalid, before generating', async () => {
    const huge = 'x'.repeat(9000);
    await assert.rejects(ask(chat(huge)), (err) => err instanceof LlmError && err.kind === 'invalid' && /context holds 2048/.test(err.message));
  });

  test('countTokens uses the model tokenizer', () => {
    assert.equal(engine.countTokens(''), 0);
    assert.equal(engine.countTokens('the cat'), 2);
    assert.ok(engine.countTokens('zzqx') > 2, 'unknown text falls back to bytes');
  });
});

describe('tools', () => {
  const search: ToolSpec = {
    name: 'search',
    description: 'Search the knowledge base',
    parameters: { type: 'object', properties: { topic: { type: 'string', enum: ['hours', 'fees'], description: 'what to look up' } }, required: ['topic'] },
  };
  let caller: LocalLlmEngine;

  before(async () => {
    // This model opens every answer with node-llama-cpp's generic call prefix; the function-call
    // grammar then forces a valid name and arguments, so it always calls the tool.
    const { file } = await writeTinyGguf(join(dir, 'caller.gguf'), { answerPrefix: '||call:' });
    caller = await LocalLlmEngine.create({ modelPath: file, threads: 1, contextSize: 2048, sequences: 1, id: 'caller', toolCalling: true, newToolCallId: () => `call_${++ids}` });
  });

  after(() => caller?.close());

  test('offering tools to a model that does not call them still answers in text', async () => {
    const result = await ask(chat('When is the clinic open?'), { tools: [search] });
    assert.equal(result.finishReason, 'length');
    assert.deepEqual(result.toolCalls, []);
  });

  test('a tool call stops generation and comes back with an id; its result renders on the next turn', async () => {
    const deltas: string[] = [];
    const messages = chat('When is the clinic open?');
    const first = await caller.generate({ messages, tools: [search], maxTokens: 40, sessionKey: 's', onDelta: (d) => deltas.push(d) });
    assert.equal(first.finishReason, 'tool_calls');
    assert.equal(first.toolCalls.length, 1);
    const call = first.toolCalls[0];
    assert.ok(call);
    assert.equal(call.name, 'search');
    assert.ok(['hours', 'fees'].includes(String(call.arguments.topic)));
    assert.match(call.id, /^call_\d+$/);
    assert.equal(deltas.join(''), first.text, 'no call syntax reaches the deltas');
    assert.doesNotMatch(first.text, /\|\|call/);

    const followUp: ChatMessage[] = [
      ...messages,
      { role: 'assistant', content: first.text, toolCalls: first.toolCalls },
      { role: 'tool', toolCallId: call.id, content: 'Open 8:00-18:00 on weekdays (page 3).' },
    ];
    const prompt = caller.renderPrompt({ messages: followUp, tools: [search] }).text;
    assert.match(prompt, /Open 8:00-18:00 on weekdays \(page 3\)\./);
    assert.match(prompt, /search\(/);
    const second = await caller.generate({ messages: followUp, tools: [search], maxTokens: 40, sessionKey: 's' });
    // The replayed call renders as generated (raw call text kept by id), so the whole first prompt
    // and the start of the call are reused; retokenizing the rest may split it differently.
    assert.ok(second.usage.cachedPromptTokens > first.usage.promptTokens, `${second.usage.cachedPromptTokens} cached of ${second.usage.promptTokens}`);
    assert.equal(second.finishReason, 'tool_calls');
  });

  test('close stops a running generation, refuses the waiting and later requests', async () => {
    let first!: () => void;
    const streaming = new Promise<void>((resolve) => (first = resolve));
    const running = caller.generate({ messages: chat('Go on for a long time'), maxTokens: 1800, onDelta: () => first() });
    const waiting = caller.generate({ messages: chat('My turn next'), maxTokens: 4 });
    const outcomes = Promise.all([
      assert.rejects(running, (err) => err instanceof LlmError && err.kind === 'interrupted'),
      assert.rejects(waiting, (err) => err instanceof LlmError && err.kind === 'unavailable' && /closed/.test(err.message)),
    ]);
    await streaming;
    await caller.close();
    await outcomes;
    await assert.rejects(caller.generate({ messages: chat('Anyone?'), maxTokens: 4 }), (err) => err instanceof LlmError && err.kind === 'unavailable');
  });
});

describe('the tiny GGUF fixture', () => {
  test('is a small, seeded llama GGUF v3 with a byte-fallback vocabulary and a chat template', async () => {
    const written = await Promise.all([1, 1, 2].map((seed, i) => writeTinyGguf(join(dir, `seed-${i}.gguf`), { seed })));
    const bytes = await Promise.all(written.map((w) => readFile(w.file)));
    const a = written[0]!;
    assert.ok(bytes[0]!.length < 1_000_000, `${bytes[0]!.length} bytes`);
    assert.ok(bytes[0]!.equals(bytes[1]!), 'same seed, same file');
    assert.ok(!bytes[0]!.equals(bytes[2]!), 'another seed, other weights');
    const info = await readGgufFileInfo(a.file);
    assert.equal(info.version, 3);
    assert.equal(info.metadata.general.architecture, 'llama');
    assert.equal(info.metadata.tokenizer.ggml.model, 'llama');
    assert.equal(info.metadata.tokenizer.ggml.tokens.length, a.vocabSize);
    assert.deepEqual(info.metadata.tokenizer.ggml.tokens.slice(0, 3), ['<unk>', '<s>', '</s>']);
    assert.ok(info.metadata.tokenizer.ggml.tokens.includes('<0xFF>'));
    assert.match(info.metadata.tokenizer.chat_template ?? '', /<\|im_start\|>/);
    assert.ok(info.tensorInfo?.some((t) => t.name === 'blk.1.ffn_down.weight'));
  });
});

describe('history and schema mapping', () => {
  test('an assistant turn with tool calls, their results and the text after them is one model response', () => {
    const history = toChatHistory([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'Looking.', toolCalls: [{ id: 'a', name: 'search', arguments: { q: 'x' } }] },
      { role: 'tool', toolCallId: 'a', content: '{"hits":1}' },
      { role: 'assistant', content: 'Found it.' },
      { role: 'user', content: 'thanks' },
      { role: 'tool', toolCallId: 'zzz', content: 'orphan' },
    ]);
    assert.deepEqual(history, [
      { type: 'system', text: 'sys' },
      { type: 'user', text: 'q' },
      { type: 'model', response: ['Looking.', { type: 'functionCall', name: 'search', params: { q: 'x' }, result: { hits: 1 } }, 'Found it.'] },
      { type: 'user', text: 'thanks' },
      { type: 'user', text: 'Tool result (zzz):\norphan' },
    ]);
  });

  test('JSON Schema keeps what the grammar can enforce', () => {
    assert.deepEqual(
      toGrammarSchema({
        type: 'object',
        properties: { q: { type: 'string', maxLength: 200, pattern: '.*' }, k: { type: 'integer', minimum: 1 }, tags: { type: 'array', items: { enum: ['a', 'b'] } }, x: {} },
        required: ['q', 'missing'],
        additionalProperties: false,
      }),
      {
        type: 'object',
        properties: { q: { type: 'string', maxLength: 200 }, k: { type: 'integer' }, tags: { type: 'array', items: { enum: ['a', 'b'] } }, x: { type: ['string', 'number', 'boolean', 'null'] } },
        required: ['q'],
      },
    );
  });
});
