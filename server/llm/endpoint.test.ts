import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, describeFailure, errorDetail, retryAfterMs } from './endpoint.ts';

test('the human part of an error body, whatever shape the endpoint gives it', () => {
  assert.equal(errorDetail('{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}'), 'Rate limit reached (rate_limit_exceeded)');
  assert.equal(errorDetail({ error: 'model not found' }), 'model not found');
  assert.equal(errorDetail('{"detail":"Not authenticated"}'), 'Not authenticated');
  assert.equal(errorDetail('  <html>Bad gateway</html> '), '<html>Bad gateway</html>');
  assert.equal(errorDetail('x'.repeat(1_000)).length, 300);
});

test('Retry-After in ms, seconds or as a date; nothing when absent or unreadable', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '1500' }), now), 1500);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' }), now), 2000);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Sun, 22 Nov 2026 10:00:03 GMT' }), now), 3000);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now), null);
  assert.equal(retryAfterMs(new Headers(), now), null);
});

test('backoff: what the server asked for (capped), else full jitter under the exponential cap', () => {
  const limits = { baseDelayMs: 250, maxDelayMs: 2_000 };
  assert.equal(backoffDelay(1, 5_000, limits, () => 0.5), 2_000);
  assert.equal(backoffDelay(1, 100, limits, () => 0.5), 100);
  assert.equal(backoffDelay(1, null, limits, () => 1), 250);
  assert.equal(backoffDelay(3, null, limits, () => 1), 1_000);
  assert.equal(backoffDelay(9, null, limits, () => 1), 2_000);
  assert.equal(backoffDelay(3, null, limits, () => 0), 0);
});

test('a socket failure is described from its cause chain', () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  assert.equal(describeFailure(new TypeError('fetch failed', { cause })), 'connection failed: fetch failed: connect ECONNREFUSED 127.0.0.1:9');
  assert.equal(describeFailure('boom'), 'connection failed: boom');
});
