import assert from 'node:assert/strict';
import { test } from 'node:test';
import { around, DEFAULT_LINE_PX, offsets, pageAt, pageHeights, pagesBetween, roughLines } from './windowing.ts';

test('a page is estimated from its wrapped text, its blocks and its separator', () => {
  assert.equal(roughLines({ chars: 0, blocks: 0 }, 80), 3);
  assert.equal(roughLines({ chars: 800, blocks: 4 }, 80), 3 + 4 + 10);
  assert.equal(roughLines({ chars: 801, blocks: 4 }, 80), 3 + 4 + 11);
  assert.equal(roughLines({ chars: 100, blocks: 1 }, 0), 3 + 1 + 10, 'a zero-width column still counts lines');
});

test('unmeasured pages take the px per line that the measured pages show', () => {
  assert.deepEqual(pageHeights([10, 20], new Map()), [10 * DEFAULT_LINE_PX, 20 * DEFAULT_LINE_PX]);
  // Page 0 measured 300 px for 10 lines: 30 px a line for the others.
  assert.deepEqual(pageHeights([10, 20, 5], new Map([[0, 300]])), [300, 600, 150]);
  assert.deepEqual(pageHeights([10, 30], new Map([[0, 100], [1, 500]])), [100, 500], 'measured heights are kept as they are');
});

test('offsets and the page at a position', () => {
  const starts = offsets([100, 200, 50]);
  assert.deepEqual(starts, [0, 100, 300, 350]);
  assert.equal(pageAt(starts, -40), 0, 'above the view: the first page');
  assert.equal(pageAt(starts, 0), 0);
  assert.equal(pageAt(starts, 99.5), 0);
  assert.equal(pageAt(starts, 100), 1);
  assert.equal(pageAt(starts, 349), 2);
  assert.equal(pageAt(starts, 10_000), 2, 'below the view: the last page');
  assert.equal(pageAt(offsets([]), 5), 0);
});

test('the pages between two positions, on 400 pages', () => {
  const starts = offsets(Array.from({ length: 400 }, () => 800));
  assert.deepEqual(pagesBetween(starts, 0, 800), [0, 0]);
  assert.deepEqual(pagesBetween(starts, 300_000 - 800, 300_000 + 1_600), [374, 376]);
  assert.deepEqual(pagesBetween(starts, 319_000, 330_000), [398, 399]);
});

test('opening at a page renders one page before it and two after, within the document', () => {
  assert.deepEqual(around(376, 400), [375, 378]);
  assert.deepEqual(around(0, 400), [0, 2]);
  assert.deepEqual(around(399, 400), [398, 399]);
  assert.deepEqual(around(0, 1), [0, 0]);
});
