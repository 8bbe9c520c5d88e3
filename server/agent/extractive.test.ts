import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnalyzer } from '../search/analyzer.ts';
import { addFocus, excerpt, sameContent } from './excerpt.ts';
import { toCitation } from './citations.ts';
import { extractiveAnswer, quoteFor } from './extractive.ts';
import { passage } from './testing.ts';

const analyzer = createAnalyzer();
const focus = (text: string) => addFocus(analyzer, new Map(), 1, text);

const TEXT =
  'The clinic opened in 1998. It moved to the new building in 2010. ' +
  'Air filters are replaced every three months. Each replacement is logged by the technician. ' +
  'The car park has forty spaces. Visitors park on level two.';

describe('excerpt', () => {
  it('quotes the matching sentences, with ellipses where it cut', () => {
    assert.equal(excerpt(analyzer, TEXT, { focus: focus('air filter replacement'), limit: 300 }), '… Air filters are replaced every three months. Each replacement is logged by the technician. …');
  });

  it('gives a short lone sentence one neighbour for context', () => {
    assert.equal(excerpt(analyzer, TEXT, { focus: focus('car park'), limit: 300, fill: 0 }), '… The car park has forty spaces. Visitors park on level two.');
    assert.equal(excerpt(analyzer, TEXT, { focus: focus('clinic opened'), limit: 300 }), 'The clinic opened in 1998. It moved to the new building in 2010. …');
    // "It" is explained by the sentence before.
    assert.equal(excerpt(analyzer, TEXT, { focus: focus('building 2010'), limit: 300 }), 'The clinic opened in 1998. It moved to the new building in 2010. …');
    assert.equal(excerpt(analyzer, TEXT, { focus: focus('building 2010'), limit: 300, fill: 0 }), '… It moved to the new building in 2010. …');
  });

  it('returns a text that fits whole when asked to', () => {
    assert.equal(excerpt(analyzer, 'Short.  Text.', { focus: focus('x'), limit: 100, wholeIfFits: true }), 'Short. Text.');
  });

  it('clips a single overlong sentence around its first match', () => {
    const sentence = `${'word '.repeat(60)}the filter sits here ${'more '.repeat(60)}end.`;
    const quote = excerpt(analyzer, sentence, { focus: focus('filter'), limit: 80 });
    assert.ok(quote.length <= 80, quote);
    assert.match(quote, /^… (word ){5}the filter sits here .* …$/);
  });

  it('starts at the beginning when nothing matches', () => {
    assert.match(excerpt(analyzer, TEXT, { focus: focus('zebra'), limit: 100 }), /^The clinic opened in 1998\./);
  });
});

describe('sameContent', () => {
  it('compares by the share of the smaller text found in the larger', () => {
    const terms = (t: string) => new Set(analyzer.analyze(t));
    assert.equal(sameContent(terms('Air filters are replaced every three months.'), terms('The air filters are replaced every three months by staff.')), true);
    assert.equal(sameContent(terms('Air filters are replaced every three months.'), terms('Visitors park on level two.')), false);
  });
});

describe('quoteFor', () => {
  it('centres on the claim being supported', () => {
    const p = passage('c', TEXT, { matchedTerms: ['building', 'filters'] });
    assert.equal(quoteFor(analyzer, p, 'clinic building filters', 'Replacements are logged by the technician', 300), '… Air filters are replaced every three months. Each replacement is logged by the technician. …');
  });
});

describe('extractiveAnswer', () => {
  const candidates = [
    { passage: passage('c1', TEXT, { documentName: 'Facilities', headings: ['Building', 'Air'], page: 3 }), query: 'air filter replaced' },
    // The neighbouring chunk repeats the matching sentence in its overlap: not quoted twice.
    { passage: passage('c2', 'Air filters are replaced every three months. Each replacement is logged by the technician. Spare filters are in store room B.', { page: 4 }), query: 'air filter replaced' },
    { passage: passage('c3', 'Filter bags for the vacuum cleaner are replaced when full.', { documentName: 'Cleaning', page: null }), query: 'air filter replaced' },
  ];

  it('lists distinct quotes with their sources, each cited', () => {
    const extract = extractiveAnswer(analyzer, { candidates, intro: 'Intro:', empty: 'None.', maxPassages: 4, quoteChars: 300 });
    assert.equal(
      extract.answer,
      'Intro:\n\n' +
        '1. “… Air filters are replaced every three months. Each replacement is logged by the technician. …” — Facilities › Air, page 3 [1]\n' +
        '2. “Filter bags for the vacuum cleaner are replaced when full.” — Cleaning [2]',
    );
    assert.deepEqual(
      extract.citations.map((c) => [c.n, c.chunkId, c.page]),
      [
        [1, 'c1', 3],
        [2, 'c3', null],
      ],
    );
    assert.deepEqual(extract.chunkIds, ['c1', 'c3']);
  });

  const history = 'The clinic opened in 1998. It moved to the new building in 2010.';
  const crossing = (page: number) => {
    const text = `${history}\nAir filters are replaced every three months. Each replacement is logged by the technician.`;
    const pages = [
      { number: 3, label: 'iii', offset: 0 },
      { number: 4, label: 'iv', offset: history.length + 1 },
    ];
    return passage('c1', text, { documentName: 'Facilities', headings: ['Air'], page, pageLabel: pages.find((p) => p.number === page)!.label, pages });
  };

  it('quotes from the page the hit names when the passage crosses pages, and cites that page', () => {
    const extract = extractiveAnswer(analyzer, { candidates: [{ passage: crossing(4), query: 'air filter replaced' }], intro: 'Intro:', empty: 'None.', maxPassages: 4, quoteChars: 300 });
    assert.deepEqual(
      extract.citations.map((c) => [c.page, c.pageLabel]),
      [[4, 'iv']],
    );
    assert.doesNotMatch(extract.citations[0]!.quote, /clinic opened/, 'nothing from the other page');
    assert.match(extract.answer, /— Facilities › Air, page iv \[1\]$/);
  });

  it('quotes a claim from whichever page supports it, and the citation names that page', () => {
    const hit = crossing(3);
    const quote = quoteFor(analyzer, hit, 'when did the clinic open', 'The filters are replaced every three months', 300);
    assert.match(quote, /Air filters are replaced/);
    assert.deepEqual(
      [toCitation(1, hit, quote)].map((c) => [c.page, c.pageLabel]),
      [[4, 'iv']],
    );
  });

  it('stops at the maximum, and says so when nothing is left', () => {
    assert.equal(extractiveAnswer(analyzer, { candidates, intro: 'Intro:', empty: 'None.', maxPassages: 1, quoteChars: 300 }).citations.length, 1);
    assert.deepEqual(extractiveAnswer(analyzer, { candidates: [], intro: 'Intro:', empty: 'None.', maxPassages: 4, quoteChars: 300 }), { answer: 'None.', citations: [], chunkIds: [] });
  });
});
