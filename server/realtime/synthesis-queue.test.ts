import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynthesisQueue } from './synthesis-queue.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('synthesis queue', () => {
  it('runs first sentences before later ones, each in arrival order, at most `concurrency` at once', async () => {
    const queue = new SynthesisQueue(1);
    const order: string[] = [];
    const gates = new Map<string, () => void>();
    const task = (name: string) => () => new Promise<string>((resolve) => gates.set(name, () => (order.push(name), resolve(name))));
    const runs = [queue.run(false, task('a2')), queue.run(false, task('b2')), queue.run(true, task('c1')), queue.run(true, task('d1'))];
    await tick();
    assert.equal(queue.waiting, 3);
    assert.deepEqual([...gates.keys()], ['a2'], 'one at a time');
    for (let i = 0; i < 4; i++) {
      await tick();
      const running = [...gates.keys()].at(-1)!;
      gates.get(running)!();
      await tick();
    }
    assert.deepEqual(await Promise.all(runs), ['a2', 'b2', 'c1', 'd1']);
    assert.deepEqual(order, ['a2', 'c1', 'd1', 'b2']);
  });

  it('drops a waiting task whose signal aborts, and frees the slot of one that fails', async () => {
    const queue = new SynthesisQueue(1);
    let release!: () => void;
    const busy = queue.run(true, () => new Promise<void>((resolve) => (release = resolve)));
    const stop = new AbortController();
    const dropped = queue.run(true, async () => assert.fail('an aborted task never runs'), stop.signal);
    const failing = queue.run(false, async () => {
      throw new Error('voice failed');
    });
    stop.abort(new Error('barge-in'));
    await assert.rejects(dropped, /barge-in/);
    assert.equal(queue.waiting, 1);
    release();
    await busy;
    await assert.rejects(failing, /voice failed/);
    assert.equal(await queue.run(true, async () => 'next'), 'next');
    assert.equal(queue.waiting, 0);
  });
});
