import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameQueue } from './frame-queue.ts';

const samples = (n: number, value = 0.5) => new Float32Array(n).fill(value);

test('plays queued chunks in order across render quanta and counts what was played per item', () => {
  const q = new FrameQueue(48_000);
  q.push('item_a', samples(100, 0.1));
  q.push('item_a', samples(100, 0.2));
  q.push('item_b', samples(50, 0.3));
  assert.equal(q.queued, 250);
  const out = new Float32Array(128);
  assert.equal(q.pull(out), 128);
  assert.equal(out[99], Math.fround(0.1));
  assert.equal(out[100], Math.fround(0.2));
  assert.equal(q.current, 'item_a');
  const tail = new Float32Array(128);
  assert.equal(q.pull(tail), 122, 'an underrun leaves the rest of the block silent');
  assert.equal(tail[122], 0);
  assert.equal(q.queued, 0);
  assert.equal(q.played, 250);
  assert.equal(q.current, 'item_b');
  assert.equal(q.playedMs('item_a'), Math.round((200 * 1000) / 48_000));
  assert.equal(q.playedMs('item_b'), 1);
  assert.equal(q.playedMs('unknown'), 0);
});

test('flush stops at once and says how much of the interrupted item was heard', () => {
  const q = new FrameQueue(24_000);
  q.push('item_a', samples(4_800));
  q.pull(new Float32Array(2_400));
  const flushed = q.flush();
  assert.deepEqual(flushed, { itemId: 'item_a', playedMs: 100, cut: true });
  assert.equal(q.queued, 0);
  assert.equal(q.pull(new Float32Array(128)), 0, 'nothing plays after a flush');
  assert.equal(q.played, 2_400, 'the played count never goes back');
  assert.deepEqual(q.flush(), { itemId: 'item_a', playedMs: 100, cut: false }, 'a second flush cuts nothing');
});

test('an answer cut before its first sample was heard is truncated at 0 ms; an empty queue names nobody', () => {
  const q = new FrameQueue(24_000);
  assert.deepEqual(q.flush(), { itemId: null, playedMs: 0, cut: false });
  q.push('item_a', samples(240));
  q.pull(new Float32Array(240));
  q.push('item_b', samples(240));
  q.push('item_b', new Float32Array(0));
  assert.deepEqual(q.flush(), { itemId: 'item_b', playedMs: 0, cut: true });
});

test('remembers a bounded number of items', () => {
  const q = new FrameQueue(1_000);
  for (let i = 0; i < 20; i++) {
    q.push(`item_${i}`, samples(10));
    q.pull(new Float32Array(10));
  }
  assert.equal(q.playedMs('item_19'), 10);
  assert.equal(q.playedMs('item_0'), 0, 'long forgotten');
});
