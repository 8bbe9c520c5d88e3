import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContentBlock, DocContent } from '../../api.ts';
import { SLICE_BLOCKS, sizeOf, unitsOf } from './units.ts';

const block = (i: number, page: number | null, kind: ContentBlock['kind'] = 'paragraph'): ContentBlock => ({ kind, text: `text ${i}`, level: null, page, start: i * 10, end: i * 10 + 6 });
const content = (blocks: ContentBlock[], pages: DocContent['pages']): DocContent => ({ documentId: 'd', format: 'pdf', pages, blocks });

test('a paged document: one unit per page, empty pages kept, blocks without a page on the first', () => {
  const units = unitsOf(content([block(0, null), block(1, 1), block(2, 3)], [{ number: 1, label: null }, { number: 2, label: 'ii' }, { number: 3, label: null }]));
  assert.deepEqual(units.map((u) => [u.page, u.label, u.blocks.length]), [[1, null, 2], [2, 'ii', 0], [3, null, 1]]);
  assert.deepEqual(sizeOf(units[1]!), { chars: 0, blocks: 1 }, 'an empty page still has its "no text" line');
  assert.deepEqual(sizeOf(units[0]!), { chars: 12, blocks: 2 });
});

test('an unpaged document is sliced, never inside a table', () => {
  const blocks = Array.from({ length: 100 }, (_, i) => block(i, null, i >= 35 && i < 50 ? 'table-row' : 'paragraph'));
  const units = unitsOf(content(blocks, null));
  assert.deepEqual(units.map((u) => u.blocks.length), [50, SLICE_BLOCKS, 10]);
  assert.equal(units[0]!.blocks.at(-1)!.kind, 'table-row', 'the table ends the first slice whole');
  assert.deepEqual(unitsOf(content([], null)), []);
});
