import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSeparatorRow, rowCells, tableRows } from './table-rows.ts';

const texts = (rows: { text: string }[][]) => rows.map((r) => r.map((c) => c.text));

test('Markdown rows: a header above the separator, cells trimmed, offsets into the document', () => {
  const blocks = [
    { text: '| Part | Code |', start: 100 },
    { text: '|---|:---:|', start: 117 },
    { text: '| Gasket | G-12 |', start: 130 },
    { text: '| Torque spring |  |', start: 149 },
  ];
  const { head, body } = tableRows(blocks);
  assert.deepEqual(texts(head), [['Part', 'Code']]);
  assert.deepEqual(texts(body), [['Gasket', 'G-12'], ['Torque spring', '']]);
  assert.equal(head[0]?.[1]?.start, 100 + '| Part | '.length, 'a cell starts where its text does');
  assert.equal(body[0]?.[0]?.start, 132);
});

test('the plain "a | b" form has no header and keeps its cells', () => {
  const { head, body } = tableRows([
    { text: 'Part | Code | Stock', start: 0 },
    { text: 'Gasket | G-12 | 40', start: 21 },
  ]);
  assert.deepEqual(head, []);
  assert.deepEqual(texts(body), [['Part', 'Code', 'Stock'], ['Gasket', 'G-12', '40']]);
  assert.equal(body[1]?.[2]?.start, 21 + 'Gasket | G-12 | '.length);
});

test('a whole Markdown table in one block, lines counted into the offsets', () => {
  const text = '| a | b |\n| --- | --- |\n| c | d |';
  const { head, body } = tableRows([{ text, start: 10 }]);
  assert.deepEqual(texts(head), [['a', 'b']]);
  assert.deepEqual(texts(body), [['c', 'd']]);
  assert.equal(body[0]?.[1]?.start, 10 + text.lastIndexOf('d'));
});

test('escaped pipes stay inside their cell; a separator first is not a header', () => {
  assert.deepEqual(texts([rowCells('| a \\| b | c |', 0)]), [['a \\| b', 'c']]);
  assert.deepEqual(texts([rowCells('| a | b', 0)]), [['a', 'b']], 'no closing pipe');
  const { head, body } = tableRows([{ text: '|---|', start: 0 }, { text: '| x |', start: 6 }]);
  assert.deepEqual(head, []);
  assert.deepEqual(texts(body), [['x']]);
  assert.ok(isSeparatorRow('| :-- | --: |') && isSeparatorRow('---|---') && !isSeparatorRow('---') && isSeparatorRow('| - |') && !isSeparatorRow('| a |') && !isSeparatorRow('') && !isSeparatorRow('a | b'));
});
