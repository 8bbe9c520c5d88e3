import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentKeys } from './recent.ts';

function clockAt(ms: number) {
  const clock = { ms, now: () => new Date(clock.ms) };
  return clock;
}

describe('RecentKeys', () => {
  it('claims a key once per window', () => {
    const clock = clockAt(1_000_000);
    const keys = new RecentKeys(clock, { windowMs: 300_000, maxKeys: 100 });
    assert.equal(keys.claim('a'), true);
    assert.equal(keys.claim('a'), false);
    assert.equal(keys.claim('b'), true);
    clock.ms += 299_999;
    assert.equal(keys.claim('a'), false, 'still within the window');
    clock.ms += 1;
    assert.equal(keys.claim('a'), true, 'the window has passed');
    assert.equal(keys.size, 1, "b expired and was dropped; a's new claim is held");
  });

  it('stays within its bound, forgetting the oldest claims first', () => {
    const clock = clockAt(0);
    const keys = new RecentKeys(clock, { windowMs: 300_000, maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'd']) assert.equal(keys.claim(k), true);
    assert.equal(keys.size, 3);
    assert.equal(keys.claim('d'), false);
    assert.equal(keys.claim('a'), true, 'a was forgotten, so it is claimed (and recorded) again');
  });

  it('gives a claim back', () => {
    const keys = new RecentKeys(clockAt(0), { windowMs: 300_000, maxKeys: 10 });
    assert.equal(keys.claim('a'), true);
    keys.release('a');
    assert.equal(keys.claim('a'), true);
  });
});
