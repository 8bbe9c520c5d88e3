import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { formatMs, gaps, markdownTable, parseOptions, percentile, sessionSteps } from './bench-voice.ts';

test('percentile is nearest-rank over the finite values only', () => {
  const values = [40, 10, 30, 20];
  assert.equal(percentile(values, 50), 20);
  assert.equal(percentile(values, 99), 40);
  assert.equal(percentile(values, 100), 40);
  assert.equal(percentile(values, 0), 10);
  assert.equal(percentile([5, null, undefined, Number.NaN, 7], 50), 5, 'missing measurements are left out, not counted as zero');
  assert.ok(Number.isNaN(percentile([null, undefined], 50)));
  assert.ok(Number.isNaN(percentile([], 99)));
  // p99 of 100 values is the 99th, not the maximum.
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99), 99);
});

test('formatMs says n/a for what the server did not report', () => {
  assert.equal(formatMs(12.34), '12');
  assert.equal(formatMs(12.34, 1), '12.3');
  assert.equal(formatMs(-3.6), '-4');
  assert.equal(formatMs(null), 'n/a');
  assert.equal(formatMs(undefined), 'n/a');
  assert.equal(formatMs(Number.NaN), 'n/a');
});

test('markdownTable escapes pipes and newlines so a transcript cannot break a row', () => {
  assert.equal(markdownTable(['a', 'b'], [[1, 'x|y'], ['two\nlines', '']]), '| a | b |\n| --- | --- |\n| 1 | x\\|y |\n| two lines |  |');
});

test('sessionSteps doubles up to the cap and ends on it', () => {
  assert.deepEqual(sessionSteps(32), [1, 2, 4, 8, 16, 32]);
  assert.deepEqual(sessionSteps(20), [1, 2, 4, 8, 16, 20]);
  assert.deepEqual(sessionSteps(1), [1]);
});

test('gaps are the differences of consecutive times', () => {
  assert.deepEqual(gaps([10, 15, 15, 40]), [5, 0, 25]);
  assert.deepEqual(gaps([3]), []);
});

test('parseOptions: defaults, values, and refusals', () => {
  assert.deepEqual(parseOptions([]), { turns: 10, modelsDir: null, maxSessions: 32, only: null, json: false });
  assert.deepEqual(parseOptions(['--turns', '3', '--models-dir', 'models', '--max-sessions', '8', '--json']), {
    turns: 3,
    modelsDir: path.resolve('models'),
    maxSessions: 8,
    only: null,
    json: true,
  });
  assert.equal(parseOptions(['--only', 'spoken']).only, 'spoken');
  assert.throws(() => parseOptions(['--only', 'memory']), /--only must be spoken, first-audio or turn-end/);
  assert.throws(() => parseOptions(['--turns', '0']), /--turns must be a positive integer/);
  assert.throws(() => parseOptions(['--max-sessions', 'many']), /--max-sessions must be a positive integer/);
  assert.throws(() => parseOptions(['--trials', '3']), /Unknown option/);
});
