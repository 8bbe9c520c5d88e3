import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipRange, excerpt, mergeRanges, rangeOnPage, splitMarked, termRanges } from './text-ranges.ts';

const marked = (text: string, terms: string[]) =>
  splitMarked(text, termRanges(text, terms))
    .filter((s) => s.marked)
    .map((s) => s.text);

test('terms match whole words, case-insensitively, longest first', () => {
  assert.deepEqual(marked('Start the Art of art-making; ARTISTS art.', ['art']), ['Art', 'art', 'art']);
  assert.deepEqual(marked('cyber security and cybersecurity', ['cybersecurity', 'cyber security']), ['cyber security', 'cybersecurity']);
  assert.deepEqual(marked('Straße und STRASSE', ['straße']), ['Straße']);
  assert.deepEqual(marked('Ente à l’orange, café', ['café', 'à']), ['à', 'café']);
});

test('terms are text, not patterns', () => {
  assert.deepEqual(marked('costs $5 (plus tax) a.b', ['$5', '(plus', 'a.b', '.*']), ['$5', '(plus', 'a.b']);
  assert.deepEqual(marked('anything', ['', '  ']), []);
});

test('splitting keeps every character exactly once', () => {
  const text = 'one two three two';
  const segments = splitMarked(text, [[4, 7], [5, 9], [14, 99], [-3, 1]]);
  assert.equal(segments.map((s) => s.text).join(''), text);
  assert.deepEqual(segments, [
    { text: 'o', marked: true },
    { text: 'ne ', marked: false },
    { text: 'two t', marked: true },
    { text: 'hree ', marked: false },
    { text: 'two', marked: true },
  ]);
  assert.deepEqual(splitMarked('', []), [{ text: '', marked: false }]);
});

test('ranges merge and clip to blocks', () => {
  assert.deepEqual(mergeRanges([[5, 6], [0, 2], [2, 3], [7, 7]]), [[0, 3], [5, 6]]);
  // Passage 10..30 against blocks at 0..12, 14..20 and 32..40 (joined by "\n\n").
  assert.deepEqual(clipRange([10, 30], 0, 12), [10, 12]);
  assert.deepEqual(clipRange([10, 30], 14, 6), [0, 6]);
  assert.equal(clipRange([10, 30], 32, 8), null);
});

test('excerpts keep the densest matches and cut at spaces', () => {
  const text = `${'alpha '.repeat(40)}needle one needle two ${'omega '.repeat(40)}`;
  const ranges = termRanges(text, ['needle']);
  const ex = excerpt(text, ranges, 60);
  assert.ok(ex.text.length <= 60, ex.text);
  assert.ok(ex.clippedStart && ex.clippedEnd);
  assert.ok(!ex.text.startsWith(' ') && !ex.text.endsWith(' '), JSON.stringify(ex.text));
  assert.deepEqual(
    ex.ranges.map(([s, e]) => ex.text.slice(s, e)),
    ['needle', 'needle'],
  );
  // Short text is returned whole; no ranges starts at the beginning.
  assert.deepEqual(excerpt('short', [[0, 5]], 60), { text: 'short', ranges: [[0, 5]], clippedStart: false, clippedEnd: false });
  assert.equal(excerpt(text, [], 30).text.startsWith('alpha'), true);
});

test('the part of a passage on one page runs from its first block there to its last', () => {
  const blocks = [
    { page: 36, start: 0, end: 40 },
    { page: 36, start: 42, end: 90 },
    { page: 37, start: 92, end: 150 },
    { page: 37, start: 152, end: 200 },
    { page: 38, start: 202, end: 260 },
  ];
  assert.deepEqual(rangeOnPage([60, 170], blocks, 37), [92, 170], 'cut to the passage where it ends mid-block');
  assert.deepEqual(rangeOnPage([60, 170], blocks, 36), [60, 90], 'and where it starts mid-block');
  assert.deepEqual(rangeOnPage([60, 170], blocks, 38), [60, 170], 'a page the passage is not on leaves it whole');
  assert.deepEqual(rangeOnPage([60, 170], [{ page: null, start: 0, end: 260 }], 37), [60, 170]);
});
