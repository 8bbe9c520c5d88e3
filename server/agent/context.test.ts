import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnalyzer } from '../search/analyzer.ts';
import { approxTokens } from '../../test/fixtures/scripted-engine.ts';
import { packPassages, PassageNumbers, relevant, sourceLabel, type PackOptions } from './context.ts';
import { addFocus } from './excerpt.ts';
import { answerV1 } from './prompts/answer-v1.ts';
import { passage } from './testing.ts';

const analyzer = createAnalyzer();

function options(budget: number, query = 'filter'): PackOptions {
  return { budget, countTokens: approxTokens, analyzer, focus: addFocus(analyzer, new Map(), 1, query), render: (e) => answerV1.passage(e, false) };
}

const filler = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `Sentence ${i + 1} is about ${topic} in general terms.`).join(' ');

describe('sourceLabel', () => {
  it('shows the document, heading path and page', () => {
    const p = passage('c', 'text', { documentName: 'Intake policy', headings: ['Admissions', 'Eligibility'], page: 4 });
    assert.equal(sourceLabel(p), 'Intake policy › Admissions › Eligibility, page 4');
    assert.equal(sourceLabel(p, 'nearest'), 'Intake policy › Eligibility, page 4');
    assert.equal(sourceLabel(passage('c', 'text', { documentName: 'Intake policy', page: 4, pageLabel: 'iv' })), 'Intake policy, page iv');
    assert.equal(sourceLabel({ ...p, headings: [], page: null, pages: [] }), 'Intake policy');
  });

  it('shows every page a passage runs over, by printed label, unless a quote cites one of them', () => {
    const pages = [
      { number: 4, label: '2', offset: 0 },
      { number: 5, label: '3', offset: 10 },
      { number: 6, label: '4', offset: 20 },
    ];
    const p = passage('c', 'x'.repeat(30), { documentName: 'Intake policy', page: 5, pages });
    assert.equal(sourceLabel(p), 'Intake policy, pages 2–4', 'a prompt shows the whole passage');
    assert.equal(sourceLabel(p, 'nearest', { page: 5, pageLabel: '3' }), 'Intake policy, page 3');
    assert.equal(sourceLabel(p, 'nearest', { page: 5, pageLabel: null }), 'Intake policy, page 5');
  });
});

describe('relevant', () => {
  it('drops hits below the minimum and far behind the best', () => {
    const hits = [0.9, 0.5, 0.25, 0.15].map((score, i) => passage(`c${i}`, 'x', { score }));
    assert.deepEqual(
      relevant(hits, 0.2, 0.3).map((h) => h.score),
      [0.9, 0.5],
    );
    assert.deepEqual(relevant(hits.slice(3), 0.2, 0.3), []);
  });
});

describe('packPassages', () => {
  it('packs best first within the budget and numbers only what it packs', () => {
    const hits = [
      passage('low', filler('valves', 4), { score: 0.4 }),
      passage('top', filler('filters', 4), { score: 0.9 }),
      passage('mid', filler('pumps', 4), { score: 0.6 }),
    ];
    const numbers = new PassageNumbers();
    const packed = packPassages(hits, numbers, 'filter', options(120));
    assert.deepEqual(
      packed.fresh.map((p) => [p.n, numbers.get(p.n)?.passage.chunkId]),
      [
        [1, 'top'],
        [2, 'mid'],
      ],
    );
    assert.ok(packed.tokens <= 120, `${packed.tokens} tokens`);
    assert.equal(numbers.size, 2);
  });

  it('cuts an oversized passage to its sentences about the query', () => {
    const text = `${filler('history', 12)} The filter is replaced every March. ${filler('budgets', 12)}`;
    const packed = packPassages([passage('big', text)], new PassageNumbers(), 'filter replaced', options(60, 'filter replaced'));
    const [only] = packed.fresh;
    assert.match(only!.text, /The filter is replaced every March\./);
    assert.match(only!.text, /^… .* …$/s);
    assert.ok(packed.tokens <= 60);
  });

  it('skips repeated chunks and near-identical passages', () => {
    const text = 'Replace the filter every three months and log it.';
    const hits = [passage('a', text), passage('a', text), passage('copy', `${text} `), passage('other', 'Clean the filter housing with a dry cloth.', { score: 0.5 })];
    const packed = packPassages(hits, new PassageNumbers(), 'filter', options(500));
    assert.deepEqual(
      packed.fresh.map((p) => p.text),
      [text, 'Clean the filter housing with a dry cloth.'],
    );
  });

  it('keeps numbers across searches: a chunk found again is referred to, not repeated', () => {
    const numbers = new PassageNumbers();
    packPassages([passage('a', 'Filters are replaced monthly.'), passage('b', 'Filters are logged.', { score: 0.8 })], numbers, 'filter', options(500));
    const again = packPassages([passage('c', 'Filter stock is in room 2.'), passage('b', 'Filters are logged.', { score: 0.8 })], numbers, 'filter', options(500));
    assert.deepEqual(
      again.fresh.map((p) => p.n),
      [3],
    );
    assert.deepEqual(
      again.repeated.map((p) => p.n),
      [2],
    );
    assert.match(answerV1.toolResult(again.fresh, again.repeated), /^\[3\] Manual, page 1 \(document_id: doc-1\)\nFilter stock is in room 2\.\n\nAlso matched, shown above: \[2\]\.$/);
  });

  it('keeps line breaks of lists', () => {
    const packed = packPassages([passage('steps', 'Steps:\n1. Open the cover.\n\n\n2. Pull the filter.')], new PassageNumbers(), 'filter', options(500));
    assert.equal(packed.fresh[0]!.text, 'Steps:\n1. Open the cover.\n\n2. Pull the filter.');
  });
});
