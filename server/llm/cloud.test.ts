import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { startOpenAiPeer, type OpenAiPeer, type PeerScript } from '../../test/fixtures/openai-peer.ts';
import { CloudLlmEngine, sseData, type CloudLlmOptions } from './cloud.ts';
import { LlmError, type GenerateRequest } from './llm.ts';

const KEY = 'sk-test-5f1c0ffee5ecret';

interface Harness {
  peer: OpenAiPeer;
  engine: CloudLlmEngine;
  /** Backoff delays the engine asked to sleep, in order. */
  sleeps: number[];
}

/** A peer running `script` and an engine pointed at it; both closed when `body` settles. */
async function withPeer(
  script: PeerScript,
  body: (h: Harness) => Promise<void>,
  options: Partial<CloudLlmOptions> | ((peer: OpenAiPeer) => Partial<CloudLlmOptions>) = {},
): Promise<void> {
  const peer = await startOpenAiPeer(script);
  const sleeps: number[] = [];
  const engine = new CloudLlmEngine({
    name: 'peer',
    baseUrl: peer.url,
    model: 'gpt-test',
    apiKey: KEY,
    timeouts: { connectMs: 1000, firstTokenMs: 1000, totalMs: 3000 },
    retries: { attempts: 3, baseDelayMs: 10, maxDelayMs: 40 },
    random: () => 0.5,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      signal.throwIfAborted();
    },
    ...(typeof options === 'function' ? options(peer) : options),
  });
  try {
    await body({ peer, engine, sleeps });
  } finally {
    await engine.close();
    await peer.close();
  }
}

function ask(extra: Partial<GenerateRequest> = {}): GenerateRequest & { deltas: string[] } {
  const deltas: string[] = [];
  return { messages: [{ role: 'user', content: 'What is the dosage?' }], maxTokens: 64, onDelta: (text) => deltas.push(text), deltas, ...extra };
}

async function rejectsWith(promise: Promise<unknown>, kind: LlmError['kind'], pattern?: RegExp): Promise<LlmError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof LlmError, `expected an LlmError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
  assert.equal(error.engine, 'cloud:peer');
  if (pattern) assert.match(error.message, pattern);
  return error;
}

test('streams text deltas and reports usage, cached tokens and timings', async () => {
  await withPeer([{ kind: 'stream', text: ['The ', 'dose is ', '5 mg.'], usage: { promptTokens: 120, completionTokens: 6, cachedTokens: 64 } }], async ({ peer, engine }) => {
    const request = ask({ temperature: 0.2 });
    const result = await engine.generate(request);
    assert.deepEqual(request.deltas, ['The ', 'dose is ', '5 mg.']);
    assert.equal(result.text, 'The dose is 5 mg.');
    assert.equal(result.finishReason, 'stop');
    assert.deepEqual(result.toolCalls, []);
    assert.deepEqual(result.usage, { promptTokens: 120, completionTokens: 6, cachedPromptTokens: 64 });
    assert.ok(result.timings.firstTokenMs !== null && result.timings.firstTokenMs <= result.timings.totalMs);

    const [sent] = peer.requests;
    assert.equal(sent?.method, 'POST');
    assert.equal(sent?.path, '/v1/chat/completions');
    assert.equal(sent?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent?.headers['api-key'], undefined);
    assert.deepEqual(sent?.body, {
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'What is the dosage?' }],
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
    });
    assert.equal(engine.name, 'cloud:peer');
    assert.equal(engine.countTokens('12345678'), 2);
  });
});

test('assembles tool calls from fragments and sends tool history in the OpenAI shape', async () => {
  const toolCalls = [
    { id: 'call_a', name: 'search', arguments: '{"query":"dosage for children","k":4}', fragmentSize: 3 },
    { id: 'call_b', name: 'search', arguments: '{"query":"contraindications"}', fragmentSize: 5 },
  ];
  await withPeer([{ kind: 'stream', toolCalls }], async ({ peer, engine }) => {
    const request = ask({
      messages: [
        { role: 'system', content: 'Answer from the documents.' },
        { role: 'user', content: 'Dosage?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_0', name: 'search', arguments: { query: 'dosage' } }] },
        { role: 'tool', content: 'no hits', toolCallId: 'call_0' },
      ],
      tools: [{ name: 'search', description: 'Search the knowledge base', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
    });
    const result = await engine.generate(request);
    assert.deepEqual(request.deltas, [], 'tool-call syntax never reaches onDelta');
    assert.equal(result.finishReason, 'tool_calls');
    assert.deepEqual(result.toolCalls, [
      { id: 'call_a', name: 'search', arguments: { query: 'dosage for children', k: 4 } },
      { id: 'call_b', name: 'search', arguments: { query: 'contraindications' } },
    ]);
    assert.ok(result.timings.firstTokenMs !== null);
    const body = peer.requests[0]?.body as { messages: unknown[]; tools: unknown[] };
    assert.deepEqual(body.messages.slice(2), [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'search', arguments: '{"query":"dosage"}' } }] },
      { role: 'tool', tool_call_id: 'call_0', content: 'no hits' },
    ]);
    assert.deepEqual(body.tools, [
      { type: 'function', function: { name: 'search', description: 'Search the knowledge base', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
    ]);
  });
});

test('malformed tool arguments are invalid and not retried', async () => {
  await withPeer([{ kind: 'stream', toolCalls: [{ id: 'call_a', name: 'search', arguments: '{"query": "dos' }] }], async ({ peer, engine }) => {
    await rejectsWith(engine.generate(ask()), 'invalid', /malformed JSON arguments/);
    assert.equal(peer.requests.length, 1);
  });
});

test('approximates usage when the endpoint reports none, and accepts a non-streamed completion', async () => {
  await withPeer(
    [
      { kind: 'stream', text: ['abcdefgh'], usage: null },
      { kind: 'completion', text: 'Whole answer.', usage: { promptTokens: 9, completionTokens: 3 } },
    ],
    async ({ engine }) => {
      const streamed = await engine.generate(ask());
      assert.deepEqual(streamed.usage, { promptTokens: Math.ceil('What is the dosage?'.length / 4), completionTokens: 2, cachedPromptTokens: 0 });
      const request = ask();
      const whole = await engine.generate(request);
      assert.equal(whole.text, 'Whole answer.');
      assert.deepEqual(request.deltas, ['Whole answer.']);
      assert.deepEqual(whole.usage, { promptTokens: 9, completionTokens: 3, cachedPromptTokens: 0 });
    },
  );
});

test('connect timeout: no headers in time aborts the request', async () => {
  await withPeer(
    [{ kind: 'stream', text: ['late'], headerDelayMs: 5000 }],
    async ({ peer, engine }) => {
      const started = Date.now();
      await rejectsWith(engine.generate(ask()), 'timeout', /no response headers within 100 ms/);
      assert.ok(Date.now() - started < 1000);
      assert.equal(peer.requests.length, 1);
    },
    { timeouts: { connectMs: 100, firstTokenMs: 2000, totalMs: 3000 }, retries: { attempts: 1, baseDelayMs: 10, maxDelayMs: 40 } },
  );
});

test('first-token timeout: the role chunk alone does not count as a token, and the attempt is retried', async () => {
  await withPeer(
    [
      { kind: 'stream', text: ['late'], firstTokenDelayMs: 5000 },
      { kind: 'stream', text: ['on time'] },
    ],
    async ({ peer, engine, sleeps }) => {
      const result = await engine.generate(ask());
      assert.equal(result.text, 'on time');
      assert.equal(peer.requests.length, 2);
      assert.equal(sleeps.length, 1);
    },
    { timeouts: { connectMs: 1000, firstTokenMs: 300, totalMs: 3000 } },
  );
  await withPeer(
    [{ kind: 'stream', text: ['late'], firstTokenDelayMs: 5000 }],
    async ({ engine }) => {
      await rejectsWith(engine.generate(ask()), 'timeout', /no first token within 300 ms/);
    },
    { timeouts: { connectMs: 1000, firstTokenMs: 300, totalMs: 3000 }, retries: { attempts: 1, baseDelayMs: 10, maxDelayMs: 40 } },
  );
});

test('total timeout: before the first token it is a timeout without retry, after it the answer is interrupted', async () => {
  const timeouts = { connectMs: 1000, firstTokenMs: 5000, totalMs: 400 };
  await withPeer(
    [{ kind: 'stream', text: ['late'], firstTokenDelayMs: 5000 }],
    async ({ peer, engine }) => {
      await rejectsWith(engine.generate(ask()), 'timeout', /no complete answer within 400 ms/);
      assert.equal(peer.requests.length, 1);
    },
    { timeouts },
  );
  await withPeer(
    [{ kind: 'stream', text: ['first ', 'second ', 'never'], stallAfterChunks: 3 }],
    async ({ peer, engine }) => {
      const request = ask();
      const error = await rejectsWith(engine.generate(request), 'interrupted', /within 400 ms after part of the answer was streamed/);
      assert.ok(error.cause instanceof LlmError && error.cause.kind === 'timeout');
      assert.deepEqual(request.deltas, ['first ', 'second ']);
      assert.equal(peer.requests.length, 1);
    },
    { timeouts },
  );
});

test('429 is retried after Retry-After, capped at the maximum delay', async () => {
  await withPeer(
    [
      { kind: 'error', status: 429, headers: { 'retry-after': '30' } },
      { kind: 'error', status: 429, headers: { 'retry-after-ms': '25' } },
      { kind: 'stream', text: ['ok'] },
    ],
    async ({ peer, engine, sleeps }) => {
      assert.equal((await engine.generate(ask())).text, 'ok');
      assert.equal(peer.requests.length, 3);
      assert.deepEqual(sleeps, [40, 25]);
    },
  );
});

test('an exhausted quota (429 insufficient_quota) is not retried', async () => {
  const body = { error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
  await withPeer([{ kind: 'error', status: 429, body }], async ({ peer, engine, sleeps }) => {
    await rejectsWith(engine.generate(ask()), 'unavailable', /HTTP 429 .*exceeded your current quota/);
    assert.equal(peer.requests.length, 1);
    assert.deepEqual(sleeps, []);
  });
});

test('5xx is retried with exponential backoff and full jitter, then reported', async () => {
  const randoms = [0.25, 0.999, 0.999];
  await withPeer(
    [{ kind: 'error', status: 500 }, { kind: 'error', status: 502 }, { kind: 'error', status: 503 }, { kind: 'stream', text: ['recovered'] }],
    async ({ peer, engine, sleeps }) => {
      assert.equal((await engine.generate(ask())).text, 'recovered');
      assert.equal(peer.requests.length, 4);
      // Caps are min(max 50, base 20 × 2^(n-1)) = 20, 40, 50; each delay is random × cap.
      assert.deepEqual(sleeps, [5, 0.999 * 40, 0.999 * 50]);
      for (const [index, cap] of [20, 40, 50].entries()) assert.ok((sleeps[index] ?? -1) >= 0 && (sleeps[index] ?? cap) < cap);
    },
    { retries: { attempts: 4, baseDelayMs: 20, maxDelayMs: 50 }, random: () => randoms.shift() ?? 0 },
  );
  await withPeer([{ kind: 'error', status: 503 }, { kind: 'error', status: 503 }, { kind: 'error', status: 503 }], async ({ peer, engine }) => {
    await rejectsWith(engine.generate(ask()), 'unavailable', /HTTP 503 from http:\/\/127\.0\.0\.1:\d+: scripted 503/);
    assert.equal(peer.requests.length, 3);
  });
});

test('connection refused and a connection dropped before the headers are retried', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as { port: number };
  await new Promise((resolve) => closed.close(resolve));
  await withPeer(
    [],
    async ({ engine, sleeps }) => {
      await rejectsWith(engine.generate(ask()), 'unavailable', /connection failed: .*ECONNREFUSED/);
      assert.equal(sleeps.length, 2);
    },
    { baseUrl: `http://127.0.0.1:${port}/v1` },
  );
  await withPeer([{ kind: 'drop' }, { kind: 'stream', text: ['second try'] }], async ({ peer, engine }) => {
    assert.equal((await engine.generate(ask())).text, 'second try');
    assert.equal(peer.requests.length, 2);
  });
});

test('never retries once text was streamed: a dropped or truncated stream is interrupted', async () => {
  await withPeer([{ kind: 'stream', text: ['partial ', 'answer ', 'lost'], dropAfterChunks: 3 }], async ({ peer, engine, sleeps }) => {
    const request = ask();
    await rejectsWith(engine.generate(request), 'interrupted', /after part of the answer was streamed/);
    assert.deepEqual(request.deltas, ['partial ', 'answer ']);
    assert.equal(peer.requests.length, 1);
    assert.deepEqual(sleeps, []);
  });
  await withPeer([{ kind: 'stream', text: ['cut ', 'short'], finishReason: null, done: false, usage: null }], async ({ peer, engine }) => {
    await rejectsWith(engine.generate(ask()), 'interrupted', /ended before the answer was complete/);
    assert.equal(peer.requests.length, 1);
  });
});

test('4xx is invalid and not retried; the API key never appears in the error', async () => {
  const echo = { error: { message: `Incorrect API key provided: ${KEY}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } };
  await withPeer(
    [
      { kind: 'error', status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } },
      { kind: 'error', status: 401, body: echo },
    ],
    async ({ peer, engine, sleeps }) => {
      await rejectsWith(engine.generate(ask()), 'invalid', /HTTP 400 .*maximum context length.*\(context_length_exceeded\)/);
      assert.equal(peer.requests.length, 1);
      const error = await rejectsWith(engine.generate(ask()), 'invalid', /HTTP 401 .*\[redacted\].*\(invalid_api_key\)/);
      assert.equal(peer.requests.length, 2);
      assert.deepEqual(sleeps, []);
      assert.ok(!`${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`.includes(KEY));
    },
  );
});

test('a redirect is not followed, so the key cannot travel to another host', async () => {
  await withPeer([{ kind: 'error', status: 301, headers: { location: 'https://elsewhere.example/v1/chat/completions' }, body: '' }], async ({ peer, engine }) => {
    const error = await rejectsWith(engine.generate(ask()), 'invalid', /HTTP 301 .*redirected to https:\/\/elsewhere\.example/);
    assert.equal(peer.requests.length, 1);
    assert.ok(!error.message.includes(KEY));
  });
});

test('azure flavour: api-key header and api-version query instead of a bearer token', async () => {
  await withPeer(
    [{ kind: 'stream', text: ['hi'] }],
    async ({ peer, engine }) => {
      await engine.generate(ask());
      const [sent] = peer.requests;
      assert.equal(sent?.path, '/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21');
      assert.equal(sent?.headers['api-key'], KEY);
      assert.equal(sent?.headers.authorization, undefined);
    },
    (peer) => ({ flavour: 'azure', baseUrl: `http://127.0.0.1:${peer.port}/openai/deployments/gpt4o/` }),
  );
});

test('abort rejects at once with the signal reason and never retries', async () => {
  await withPeer([{ kind: 'stream', text: ['slow'], firstTokenDelayMs: 5000 }], async ({ peer, engine, sleeps }) => {
    const controller = new AbortController();
    const reason = new Error('user left');
    setTimeout(() => controller.abort(reason), 50);
    const started = Date.now();
    await assert.rejects(engine.generate(ask({ signal: controller.signal })), (error) => error === reason);
    assert.ok(Date.now() - started < 1000);
    assert.equal(peer.requests.length, 1);
    assert.deepEqual(sleeps, []);
  });
  await withPeer([], async ({ peer, engine }) => {
    const reason = new Error('already gone');
    await assert.rejects(engine.generate(ask({ signal: AbortSignal.abort(reason) })), (error) => error === reason);
    assert.equal(peer.connections, 0);
  });
});

test('abort during the backoff wait stops the retries', async () => {
  const controller = new AbortController();
  const reason = new Error('cancelled');
  await withPeer(
    [{ kind: 'error', status: 503 }],
    async ({ peer, engine }) => {
      await assert.rejects(engine.generate(ask({ signal: controller.signal })), (error) => error === reason);
      assert.equal(peer.requests.length, 1);
    },
    {
      sleep: (ms, signal) => {
        controller.abort(reason);
        return sleepFor(ms, undefined, { signal });
      },
    },
  );
});

test('close() fails requests in flight as unavailable', async () => {
  await withPeer([{ kind: 'stream', text: ['slow'], firstTokenDelayMs: 5000 }], async ({ peer, engine }) => {
    const pending = engine.generate(ask());
    while (peer.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await engine.close();
    await rejectsWith(pending, 'unavailable', /engine closed/);
    await rejectsWith(engine.generate(ask()), 'unavailable', /engine closed/);
  });
});

test('sseData handles CRLF, comments, multi-line data and events split across reads', async () => {
  const pieces = [': keep-alive\r\n\r\ndata: {"a":', '1}\r\n\r', '\ndata: line one\ndata: line two\n\nevent: x\ndata: [DONE]'];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
      controller.close();
    },
  });
  const seen: string[] = [];
  for await (const data of sseData(body)) seen.push(data);
  assert.deepEqual(seen, ['{"a":1}', 'line one\nline two', '[DONE]']);
});
