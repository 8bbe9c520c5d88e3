import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startOpenAiPeer, type OpenAiPeer, type PeerScript } from '../../test/fixtures/openai-peer.ts';
import { createLogger } from '../logger.ts';
import { CloudLlmEngine } from './cloud.ts';
import { LlmError, type GenerateRequest, type GenerateResult, type LlmEngine, type LlmErrorKind } from './llm.ts';
import { LlmRouter } from './router.ts';

/** Fault injector: an engine that is installed but always fails before generating anything. */
class DownEngine implements LlmEngine {
  readonly kind: 'local' | 'cloud';
  readonly name: string;
  readonly model = { id: 'down-model', contextSize: 4096, toolCalling: false };
  readonly #error: { kind: LlmErrorKind; message: string };
  calls = 0;

  constructor(options: { kind?: 'local' | 'cloud'; name?: string; error?: LlmErrorKind; message?: string } = {}) {
    this.kind = options.kind ?? 'local';
    this.name = options.name ?? 'local';
    this.#error = { kind: options.error ?? 'unavailable', message: options.message ?? 'overloaded: 8 waiting' };
  }

  generate(): Promise<GenerateResult> {
    this.calls += 1;
    return Promise.reject(new LlmError(this.#error.kind, this.name, this.#error.message));
  }

  countTokens(text: string): number {
    return text.length;
  }

  async close(): Promise<void> {}
}

const peers: OpenAiPeer[] = [];
const engines: LlmEngine[] = [];
after(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  await Promise.all(peers.map((peer) => peer.close()));
});

async function cloudEngine(name: string, script: PeerScript): Promise<{ engine: CloudLlmEngine; peer: OpenAiPeer }> {
  const peer = await startOpenAiPeer(script);
  const engine = new CloudLlmEngine({
    name,
    baseUrl: peer.url,
    model: `${name}-model`,
    apiKey: 'sk-router-test',
    timeouts: { connectMs: 1000, firstTokenMs: 1000, totalMs: 3000 },
    retries: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  peers.push(peer);
  engines.push(engine);
  return { engine, peer };
}

function router(local: LlmEngine | null, cloud: LlmEngine[], breaker = { failureThreshold: 5, coolDownMs: 30_000 }): { router: LlmRouter; advance: (ms: number) => void } {
  let now = Date.parse('2026-03-01T12:00:00.000Z');
  const clock = { now: () => new Date(now) };
  return {
    router: new LlmRouter({ local, cloud, breaker, log: createLogger({ level: 'silent' }), clock }),
    advance: (ms) => {
      now += ms;
    },
  };
}

function ask(extra: Partial<GenerateRequest> = {}): GenerateRequest & { deltas: string[] } {
  const deltas: string[] = [];
  return { messages: [{ role: 'user', content: 'Private patient question' }], maxTokens: 32, onDelta: (text) => deltas.push(text), deltas, ...extra };
}

async function rejection(promise: Promise<unknown>): Promise<LlmError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof LlmError, String(error));
  return error;
}

const names = (list: LlmEngine[]): string[] => list.map((engine) => engine.name);

test('candidates follow the policy order; absent engines are left out', async () => {
  const local = new DownEngine();
  const a = new DownEngine({ kind: 'cloud', name: 'cloud:a' });
  const b = new DownEngine({ kind: 'cloud', name: 'cloud:b' });
  const { router: full } = router(local, [a, b]);
  assert.deepEqual(names(full.candidates('local-only')), ['local']);
  assert.deepEqual(names(full.candidates('local-then-cloud')), ['local', 'cloud:a', 'cloud:b']);
  assert.deepEqual(names(full.candidates('cloud-first')), ['cloud:a', 'cloud:b', 'local']);

  const { router: cloudOnly } = router(null, [a]);
  assert.deepEqual(names(cloudOnly.candidates('local-only')), []);
  assert.deepEqual(names(cloudOnly.candidates('cloud-first')), ['cloud:a']);
  const none = await rejection(cloudOnly.generate('local-only', ask()));
  assert.equal(none.kind, 'unavailable');
  assert.equal(none.engine, 'none');
  assert.equal(none.message, 'no LLM allowed by policy local-only is installed');
  assert.equal(a.calls, 0);
});

test('local-only with the local engine down sends nothing anywhere', async () => {
  const local = new DownEngine();
  const { engine, peer } = await cloudEngine('groq', [{ kind: 'stream', text: ['must never be asked'] }]);
  const { router: r } = router(local, [engine]);
  const error = await rejection(r.generate('local-only', ask()));
  assert.equal(error.kind, 'unavailable');
  assert.equal(error.message, 'policy local-only: every allowed engine failed: local engine unavailable (overloaded: 8 waiting)');
  assert.equal(local.calls, 1);
  assert.equal(peer.connections, 0, 'no TCP connection reached the cloud endpoint');
  assert.equal(peer.requests.length, 0);
});

test('local-then-cloud falls back while nothing was streamed and explains why', async () => {
  const local = new DownEngine();
  const { engine, peer } = await cloudEngine('groq', [{ kind: 'stream', text: ['From ', 'the cloud.'] }]);
  const { router: r } = router(local, [engine]);
  const request = ask();
  const served = await r.generate('local-then-cloud', request);
  assert.equal(served.engine, engine);
  assert.equal(served.result.text, 'From the cloud.');
  assert.deepEqual(request.deltas, ['From ', 'the cloud.']);
  assert.equal(served.reason, 'policy local-then-cloud: local engine unavailable (overloaded: 8 waiting), fell back to cloud:groq');
  assert.equal(peer.requests.length, 1);

  const status = r.status();
  assert.deepEqual(
    status.map(({ name, kind, model, requests, failures }) => ({ name, kind, model, requests, failures })),
    [
      { name: 'local', kind: 'local', model: 'down-model', requests: 1, failures: 1 },
      { name: 'cloud:groq', kind: 'cloud', model: 'groq-model', requests: 1, failures: 0 },
    ],
  );
  assert.deepEqual(status[0]?.lastError, { kind: 'unavailable', message: 'overloaded: 8 waiting', at: '2026-03-01T12:00:00.000Z' });
  assert.deepEqual(status[0]?.breaker, { state: 'closed', failures: 1, openedAt: null, lastError: 'overloaded: 8 waiting' });
});

test('cloud-first tries the cloud endpoints in order, then local; total failure lists every engine', async () => {
  const first = await cloudEngine('primary', [{ kind: 'error', status: 503 }, { kind: 'error', status: 503 }]);
  const second = await cloudEngine('secondary', [{ kind: 'stream', text: ['second'] }, { kind: 'stream', text: ['x'], headerDelayMs: 5000 }]);
  const local = new DownEngine({ error: 'timeout', message: 'no first token within 20000 ms' });
  const { router: r } = router(local, [first.engine, second.engine]);

  const served = await r.generate('cloud-first', ask());
  assert.equal(served.engine.name, 'cloud:secondary');
  assert.match(served.reason, /^policy cloud-first: cloud:primary unavailable \(HTTP 503 from http:\/\/127\.0\.0\.1:\d+: scripted 503\), fell back to cloud:secondary$/);
  assert.equal(local.calls, 0);

  const slow = new CloudLlmEngine({
    name: 'secondary',
    baseUrl: second.peer.url,
    model: 'm',
    timeouts: { connectMs: 100, firstTokenMs: 1000, totalMs: 3000 },
    retries: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  engines.push(slow);
  const { router: r2 } = router(local, [first.engine, slow]);
  const error = await rejection(r2.generate('cloud-first', ask()));
  assert.equal(error.kind, 'unavailable');
  assert.equal(error.engine, 'none');
  assert.match(
    error.message,
    /^policy cloud-first: every allowed engine failed: cloud:primary unavailable \(HTTP 503 .*\); cloud:secondary timed out \(no response headers within 100 ms\); local engine timed out \(no first token within 20000 ms\)$/,
  );
  assert.equal(local.calls, 1);
});

test('notes engines the policy wanted but that are not installed', async () => {
  const { engine } = await cloudEngine('groq', [{ kind: 'stream', text: ['hi'] }]);
  const { router: r } = router(null, [engine]);
  assert.equal((await r.generate('local-then-cloud', ask())).reason, 'policy local-then-cloud: no local engine installed, using cloud:groq');
});

test('the breaker opens after N failures, the router skips the engine until half-open, and a good trial restores it', async () => {
  const flaky = await cloudEngine('flaky', [
    { kind: 'error', status: 500 },
    { kind: 'error', status: 500 },
    { kind: 'error', status: 502 },
    { kind: 'stream', text: ['recovered'] },
  ]);
  const steady = await cloudEngine('steady', () => ({ kind: 'stream', text: ['steady'] }));
  const { router: r, advance } = router(null, [flaky.engine, steady.engine], { failureThreshold: 2, coolDownMs: 10_000 });
  const serve = async (): Promise<{ name: string; reason: string }> => {
    const { engine, reason } = await r.generate('cloud-first', ask());
    return { name: engine.name, reason };
  };

  assert.equal((await serve()).name, 'cloud:steady');
  assert.equal((await serve()).name, 'cloud:steady');
  assert.equal(r.status()[0]?.breaker.state, 'open');
  assert.deepEqual(names(r.candidates('cloud-first')), ['cloud:steady']);

  const skipped = await serve();
  assert.equal(skipped.name, 'cloud:steady');
  assert.match(skipped.reason, /^policy cloud-first: cloud:flaky skipped \(circuit open since 2026-03-01T12:00:00.000Z after 2 consecutive failures; last error: HTTP 500 .*\), fell back to cloud:steady$/);
  assert.equal(flaky.peer.requests.length, 2, 'an open circuit sends nothing');

  advance(10_000);
  assert.deepEqual(names(r.candidates('cloud-first')), ['cloud:flaky', 'cloud:steady']);
  assert.equal((await serve()).name, 'cloud:steady', 'the failed trial falls back');
  assert.equal(flaky.peer.requests.length, 3);
  assert.equal(r.status()[0]?.breaker.state, 'open');
  advance(9_999);
  await serve();
  assert.equal(flaky.peer.requests.length, 3);

  advance(1);
  assert.equal((await serve()).name, 'cloud:flaky');
  assert.equal(r.status()[0]?.breaker.state, 'closed');
  assert.deepEqual(
    r.status().map(({ requests, failures }) => ({ requests, failures })),
    [
      { requests: 4, failures: 3 },
      { requests: 5, failures: 0 },
    ],
  );
});

test('no fallback once text was streamed, on an invalid request, or after an abort', async () => {
  const dropping = await cloudEngine('dropping', [
    { kind: 'stream', text: ['half ', 'an ', 'answer'], dropAfterChunks: 3 },
    { kind: 'error', status: 400, body: { error: { message: 'context too long', type: 'invalid_request_error', code: 'context_length_exceeded' } } },
    { kind: 'stream', text: ['slow'], firstTokenDelayMs: 5000 },
  ]);
  const backup = await cloudEngine('backup', [{ kind: 'stream', text: ['must not be used'] }]);
  const { router: r } = router(null, [dropping.engine, backup.engine]);

  const request = ask();
  const interrupted = await rejection(r.generate('cloud-first', request));
  assert.equal(interrupted.kind, 'interrupted');
  assert.deepEqual(request.deltas, ['half ', 'an ']);

  const invalid = await rejection(r.generate('cloud-first', ask()));
  assert.equal(invalid.kind, 'invalid');
  assert.match(invalid.message, /context too long/);

  const controller = new AbortController();
  const reason = new Error('caller hung up');
  setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(r.generate('cloud-first', ask({ signal: controller.signal })), (error) => error === reason);

  assert.equal(backup.peer.connections, 0);
  const [status] = r.status();
  assert.equal(status?.requests, 3);
  assert.equal(status?.failures, 2, 'the abort is not a failure');
  assert.equal(status?.breaker.failures, 0, 'neither interruptions, invalid requests nor aborts count towards opening');
});
