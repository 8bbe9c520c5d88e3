import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN_HELD_FRAMES, PushToTalk, RELEASE_TAIL_MS, TOO_SHORT, type TalkTarget } from './push-to-talk.ts';

/** Timers that run when the test moves time on. */
function clock() {
  let now = 0;
  let next = 1;
  const timers = new Map<number, { at: number; run: () => void }>();
  return {
    setTimeout: (run: () => void, ms: number): unknown => {
      timers.set(next, { at: now + ms, run });
      return next++;
    },
    clearTimeout: (handle: unknown) => void timers.delete(handle as number),
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at > now) continue;
        timers.delete(id);
        t.run();
      }
    },
  };
}

function harness(answer: { playing?: boolean; responding?: boolean } = {}) {
  const calls: string[] = [];
  const world = { open: true, playing: answer.playing ?? false, responding: answer.responding ?? false };
  const target: TalkTarget = {
    canTalk: () => world.open,
    responding: () => world.responding,
    playing: () => world.playing,
    interrupt: () => calls.push('interrupt'),
    cancel: () => calls.push('cancel'),
    hold: (held) => calls.push(held ? 'hold' : 'let go'),
    clear: () => calls.push('clear'),
    commit: () => calls.push('commit'),
    notice: (text) => calls.push(`notice: ${text}`),
  };
  const time = clock();
  const shown: boolean[] = [];
  const ptt = new PushToTalk(target, time, (held) => shown.push(held));
  /** The microphone delivers `n` frames; returns how many were sent. */
  const frames = (n: number, handsFree = false) => {
    let sent = 0;
    for (let i = 0; i < n; i++) ptt.frame(() => (sent++, true), handsFree);
    return sent;
  };
  return { ptt, calls, world, time, shown, frames };
}

test('idle sends nothing; a press holds, a release leaves a tail, then the turn is committed', () => {
  const h = harness();
  assert.equal(h.frames(3), 0, 'push-to-talk sends nothing until pressed');
  assert.equal(h.frames(3, true), 3, 'hands-free sends every frame');

  h.ptt.press();
  assert.equal(h.ptt.phase, 'held');
  assert.deepEqual(h.calls, ['hold', 'clear'], 'audio from before the press is thrown away');
  assert.equal(h.frames(MIN_HELD_FRAMES), MIN_HELD_FRAMES);
  h.ptt.release();
  assert.equal(h.ptt.phase, 'tail');
  assert.equal(h.frames(1), 1, 'the tail still goes to the server');
  h.time.advance(RELEASE_TAIL_MS - 1);
  assert.equal(h.calls.includes('commit'), false);
  h.time.advance(1);
  assert.equal(h.ptt.phase, 'idle');
  assert.deepEqual(h.calls, ['hold', 'clear', 'let go', 'commit']);
  assert.equal(h.frames(2), 0);
  assert.deepEqual(h.shown, [true, false]);
});

test('a tap too short to be a turn is cleared, with a word on how to use the button', () => {
  const h = harness();
  h.ptt.press();
  h.frames(MIN_HELD_FRAMES - 1);
  h.ptt.release();
  h.time.advance(RELEASE_TAIL_MS);
  assert.deepEqual(h.calls, ['hold', 'clear', 'let go', 'clear', `notice: ${TOO_SHORT}`]);
});

test('frames the server did not take do not count toward a turn', () => {
  const h = harness();
  h.ptt.press();
  for (let i = 0; i < 5; i++) h.ptt.frame(() => false, false);
  h.ptt.release();
  h.time.advance(RELEASE_TAIL_MS);
  assert.equal(h.calls.includes('commit'), false);
});

test('pressed again in the tail: the same utterance goes on and is committed once', () => {
  const h = harness();
  h.ptt.press();
  h.frames(1);
  h.ptt.release();
  h.time.advance(RELEASE_TAIL_MS / 2);
  h.ptt.press();
  h.frames(1);
  h.time.advance(RELEASE_TAIL_MS);
  assert.equal(h.ptt.phase, 'held', 'the tail of the first release was called off');
  h.ptt.release();
  h.time.advance(RELEASE_TAIL_MS);
  assert.deepEqual(h.calls, ['hold', 'clear', 'let go', 'hold', 'let go', 'commit'], 'no second clear: both halves make one turn');
});

test('releases reported twice (pointer up, lost capture, blur) count once; no press without a session', () => {
  const h = harness();
  h.ptt.release();
  assert.deepEqual(h.calls, []);
  h.ptt.press();
  h.ptt.press();
  h.ptt.release();
  h.ptt.release();
  assert.deepEqual(h.calls, ['hold', 'clear', 'let go']);

  const closed = harness();
  closed.world.open = false;
  closed.ptt.press();
  assert.equal(closed.ptt.phase, 'idle');
  assert.deepEqual(closed.calls, []);
});

test('pressing over an answer interrupts it: audio still playing is stopped, one still coming is cancelled', () => {
  const playing = harness({ playing: true });
  playing.ptt.press();
  assert.deepEqual(playing.calls, ['hold', 'interrupt', 'clear'], 'only playing: nothing to cancel on the server');

  const streaming = harness({ playing: true, responding: true });
  streaming.ptt.press();
  assert.deepEqual(streaming.calls, ['hold', 'interrupt', 'cancel', 'clear']);

  const quiet = harness();
  quiet.ptt.press();
  assert.deepEqual(quiet.calls, ['hold', 'clear']);
});

test('the microphone going off drops what was held: no turn, the button shows up', () => {
  const h = harness();
  h.ptt.press();
  h.frames(MIN_HELD_FRAMES);
  h.ptt.release();
  h.ptt.reset();
  h.time.advance(RELEASE_TAIL_MS);
  assert.equal(h.ptt.phase, 'idle');
  assert.equal(h.calls.includes('commit'), false);
  h.ptt.press();
  h.ptt.reset();
  assert.deepEqual(h.shown, [true, false, true, false]);
});
