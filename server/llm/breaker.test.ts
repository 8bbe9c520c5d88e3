import assert from 'node:assert/strict';
import { test } from 'node:test';
import { breakerVerdict, CircuitBreaker, CircuitOpenError } from './breaker.ts';
import { LlmError } from './llm.ts';

function setup(): { breaker: CircuitBreaker; advance: (ms: number) => void; calls: () => number; fail: (kind?: LlmError['kind']) => Promise<unknown>; succeed: () => Promise<unknown> } {
  let now = Date.parse('2026-03-01T12:00:00.000Z');
  let calls = 0;
  const breaker = new CircuitBreaker('cloud:test', { failureThreshold: 3, coolDownMs: 10_000, clock: { now: () => new Date(now) } });
  const run = (outcome: () => Promise<string>): Promise<unknown> =>
    breaker
      .execute(() => {
        calls += 1;
        return outcome();
      })
      .catch((error: unknown) => error);
  return {
    breaker,
    advance: (ms) => {
      now += ms;
    },
    calls: () => calls,
    fail: (kind = 'unavailable') => run(() => Promise.reject(new LlmError(kind, 'cloud:test', `${kind} #${calls}`))),
    succeed: () => run(() => Promise.resolve('ok')),
  };
}

test('opens after N consecutive unavailable/timeout failures and then refuses without calling', async () => {
  const { breaker, fail, calls } = setup();
  await fail('unavailable');
  await fail('timeout');
  assert.deepEqual(breaker.status(), { state: 'closed', failures: 2, openedAt: null, lastError: 'timeout #2' });
  await fail('unavailable');
  assert.deepEqual(breaker.status(), { state: 'open', failures: 3, openedAt: '2026-03-01T12:00:00.000Z', lastError: 'unavailable #3' });
  assert.equal(breaker.admits, false);

  const refused = await fail();
  assert.ok(refused instanceof CircuitOpenError);
  assert.equal(refused.kind, 'unavailable');
  assert.equal(refused.engine, 'cloud:test');
  assert.match(refused.message, /circuit open since 2026-03-01T12:00:00.000Z after 3 consecutive failures; last error: unavailable #3/);
  assert.equal(calls(), 3);
});

test('invalid requests prove the endpoint answers; aborts and interruptions count for nothing', async () => {
  const { breaker, fail } = setup();
  await fail();
  await fail();
  await fail('invalid');
  assert.equal(breaker.status().failures, 0, 'an invalid request resets the streak');
  await fail();
  await fail();
  await fail('interrupted');
  const controller = new AbortController();
  controller.abort(new Error('user left'));
  await breaker.execute(() => Promise.reject(new LlmError('timeout', 'cloud:test', 'aborted mid-way')), controller.signal).catch(() => undefined);
  await breaker.execute(() => Promise.reject(new TypeError('bug'))).catch(() => undefined);
  assert.deepEqual(breaker.status(), { state: 'closed', failures: 2, openedAt: null, lastError: 'unavailable #5' });
});

test('half-open after the cool-down lets exactly one trial through; success closes the circuit', async () => {
  const { breaker, fail, succeed, advance, calls } = setup();
  for (let i = 0; i < 3; i += 1) await fail();
  advance(9_999);
  assert.equal(breaker.state, 'open');
  advance(1);
  assert.equal(breaker.state, 'half-open');
  assert.equal(breaker.admits, true);

  let release: (value: string) => void = () => undefined;
  const trial = breaker.execute(() => new Promise<string>((resolve) => (release = resolve)));
  assert.equal(breaker.admits, false, 'the trial slot is taken');
  assert.ok((await succeed()) instanceof CircuitOpenError);
  assert.match(String(await fail().then((e) => (e as Error).message)), /half-open .*trial request is in flight/);
  release('fine');
  assert.equal(await trial, 'fine');
  assert.deepEqual(breaker.status(), { state: 'closed', failures: 0, openedAt: null, lastError: 'unavailable #3' });
  assert.equal(await succeed(), 'ok');
  assert.equal(calls(), 4);
});

test('a failed trial re-opens for a fresh cool-down; an aborted trial leaves it half-open', async () => {
  const { breaker, fail, advance, succeed } = setup();
  for (let i = 0; i < 3; i += 1) await fail();
  advance(10_000);
  await fail('timeout');
  assert.deepEqual(breaker.status(), { state: 'open', failures: 4, openedAt: '2026-03-01T12:00:10.000Z', lastError: 'timeout #4' });
  advance(5_000);
  assert.equal(breaker.state, 'open');
  advance(5_000);
  const controller = new AbortController();
  controller.abort();
  await breaker.execute(() => Promise.reject(new LlmError('unavailable', 'cloud:test', 'cut')), controller.signal).catch(() => undefined);
  assert.equal(breaker.state, 'half-open');
  assert.equal(breaker.admits, true);
  assert.equal(await succeed(), 'ok');
  assert.equal(breaker.state, 'closed');
});

test('rejects a threshold below one', () => {
  assert.throws(() => new CircuitBreaker('x', { failureThreshold: 0, coolDownMs: 1, clock: { now: () => new Date() } }), RangeError);
});

test('breakerVerdict does not count an overloaded (busy, healthy) engine as failing', () => {
  assert.equal(breakerVerdict(new LlmError('unavailable', 'local', 'local engine overloaded: 8 waiting', { overloaded: true })), 'neutral');
  assert.equal(breakerVerdict(new LlmError('unavailable', 'local', 'model crashed')), 'failure');
});
