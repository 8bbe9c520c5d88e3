import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, backoffTotalMs, RECONNECT } from './backoff.ts';

test('the reconnect schedule doubles up to its cap, then gives up', () => {
  const none = () => 0;
  assert.deepEqual(
    Array.from({ length: RECONNECT.attempts + 1 }, (_, i) => backoffDelay(i, RECONNECT, none)),
    [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000, null],
  );
  assert.equal(backoffDelay(-1), null);
});

test('jitter only shortens a delay, by at most its share', () => {
  for (let i = 0; i < RECONNECT.attempts; i++) {
    const full = backoffDelay(i, RECONNECT, () => 0) ?? 0;
    const most = backoffDelay(i, RECONNECT, () => 0.999_999) ?? 0;
    assert.ok(most <= full && most >= full * (1 - RECONNECT.jitter) - 1, `${most} vs ${full}`);
  }
});

test('every retry happens within the server’s default resume window (120 s)', () => {
  assert.ok(backoffTotalMs() < 120_000, `${backoffTotalMs()} ms`);
});
