import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Citation } from '../api.ts';
import { paragraphs, splitCitations, type AnswerPiece } from './citation-text.ts';

const cite = (n: number): Citation => ({ n, chunkId: `c${n}`, documentId: `d${n}`, documentName: `doc${n}.txt`, page: null, pageLabel: null, quote: `quote ${n}` });
const CITES = [cite(1), cite(2), cite(3)];

/** Pieces as a compact string: text as is, citations as {n}. */
const show = (pieces: AnswerPiece[]) => pieces.map((p) => ('text' in p ? p.text : `{${p.citation.n}}`)).join('|');

test('markers become citations and the text between them stays whole', () => {
  assert.equal(show(splitCitations('Wash hands [1]. Wear gloves [2][3].', CITES)), 'Wash hands |{1}|. Wear gloves |{2}|{3}|.');
  assert.equal(show(splitCitations('[1]', CITES)), '{1}');
  assert.equal(show(splitCitations('No sources here.', CITES)), 'No sources here.');
});

test('lists of numbers cite each source', () => {
  assert.equal(show(splitCitations('Both say so [1, 3] and [2,1].', CITES)), 'Both say so |{1}|{3}| and |{2}|{1}|.');
});

test('unknown numbers, other brackets and half-streamed markers stay text', () => {
  assert.equal(show(splitCitations('See [4] and [1, 9], [a] or [ 1 ] and [1', CITES)), 'See [4] and [1, 9], [a] or [ 1 ] and [1');
  assert.equal(show(splitCitations('Before [1] after [7].', CITES)), 'Before |{1}| after [7].');
  assert.equal(show(splitCitations('Cited [1]', [])), 'Cited [1]');
});

test('citations point at the citation objects themselves', () => {
  const [, piece] = splitCitations('x [2]', CITES);
  assert.ok(piece && 'citation' in piece);
  assert.equal(piece.citation, CITES[1]);
});

test('paragraphs split at blank lines and keep single line breaks', () => {
  assert.deepEqual(paragraphs('One.\nStill one.\n\n  Two. \n \n\n\nThree.\n'), ['One.\nStill one.', 'Two.', 'Three.']);
  assert.deepEqual(paragraphs('  \n\n '), []);
});
