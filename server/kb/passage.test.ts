import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkPage } from '../chunks/chunk.ts';
import { createAnalyzer } from '../search/analyzer.ts';
import { pageText, passagePage, quotedPage, quoteRange } from './passage.ts';

const analyzer = createAnalyzer();

/** A chunk's text and page starts from its pages' texts, joined as the chunker joins pieces. */
function chunk(...pages: Array<[number, string, string?]>): { text: string; pages: ChunkPage[] } {
  let text = '';
  const starts: ChunkPage[] = [];
  for (const [number, body, label] of pages) {
    if (text) text += '\n';
    starts.push({ number, label: label ?? null, offset: text.length });
    text += body;
  }
  return { text, pages: starts };
}

const WOUND = chunk(
  [36, 'Pain relief is given through a drip, an injection or tablets, and you will be given pain', '34'],
  [37, 'medicine when you go home. Bruising and swelling at the surgery site usually settle within two to three weeks.\nTalking to someone who has had breast surgery might help.', '35'],
  [38, 'Drains are removed once the fluid slows down, usually after a week.', '36'],
);

describe('passagePage', () => {
  it('names the page of the best-matching passage, not the first page of the chunk', () => {
    assert.equal(passagePage(analyzer, { ...WOUND, query: 'How long does bruising and swelling take to settle?' })?.number, 37);
    assert.equal(passagePage(analyzer, { ...WOUND, query: 'When are the drains removed?' })?.label, '36');
    assert.equal(passagePage(analyzer, { ...WOUND, query: 'pain relief' })?.number, 36);
  });

  it('counts distinct terms within a window, so many scattered mentions lose to one passage holding them all', () => {
    const filler = Array.from({ length: 50 }, (_, i) => `word${i}`).join(' ');
    const c = chunk([1, `The pump is red. ${filler} The belt is new. ${filler} The pump belt is grey.`], [2, 'Check the pump belt tension monthly with a gauge.']);
    assert.equal(passagePage(analyzer, { ...c, query: 'pump belt tension' })?.number, 2);
  });

  it('weighs rare terms above common ones when the caller says which are rare', () => {
    const c = chunk([4, 'Breast surgery and breast care after surgery.'], [5, 'A prosthesis is fitted once the scar heals.']);
    const query = 'breast surgery prosthesis';
    assert.equal(passagePage(analyzer, { ...c, query })?.number, 4, 'two terms beat one when all weigh the same');
    const rare = new Set(analyzer.analyze('prosthesis'));
    assert.equal(passagePage(analyzer, { ...c, query, weight: (t) => (rare.has(t) ? 3 : 1) })?.number, 5);
  });

  it('breaks a tie towards the earlier page', () => {
    const c = chunk([10, 'Row and column access control: activating it.'], [11, 'Row and column access control: dropping it.']);
    assert.equal(passagePage(analyzer, { ...c, query: 'row column access control' })?.number, 10);
  });

  it('gives a hit that shares no term with the query the page holding most of its text', () => {
    // A vector hit: found by meaning; its one-line first page is the tail of the page before.
    assert.equal(passagePage(analyzer, { ...WOUND, query: 'recovery at home' })?.number, 37);
    const even = chunk([2, 'aaaa'], [3, 'bbbb']);
    assert.equal(passagePage(analyzer, { ...even, query: 'zzz' })?.number, 2);
  });

  it('needs no matching for a single page, and has no page for unpaged text', () => {
    assert.deepEqual(passagePage(analyzer, { ...chunk([7, 'Anything at all.', 'vii']), query: 'nothing' }), { number: 7, label: 'vii', offset: 0 });
    assert.equal(passagePage(analyzer, { text: 'Plain text.', pages: [], query: 'text' }), null);
  });
});

describe('pageText', () => {
  it('is the stretch of the text on one page', () => {
    assert.equal(pageText({ ...WOUND, page: 38 }), 'Drains are removed once the fluid slows down, usually after a week.');
    assert.ok(pageText({ ...WOUND, page: 37 }).startsWith('medicine when you go home.'));
    assert.equal(pageText({ ...WOUND, page: 99 }), WOUND.text, 'a page the chunk does not touch leaves it whole');
  });
});

describe('quoteRange and quotedPage', () => {
  it('finds a quote with folded whitespace and cut marks in the chunk text', () => {
    const range = quoteRange(WOUND.text, '… usually settle within two to three weeks. Talking to someone …');
    assert.ok(range);
    assert.equal(WOUND.text.slice(...range), 'usually settle within two to three weeks.\nTalking to someone');
    assert.equal(quoteRange(WOUND.text, 'words that are not there'), null);
  });

  it('keeps the hit page when the quote is on it, else names the page most of the quote is on', () => {
    const onHitPage = 'Bruising and swelling at the surgery site usually settle within two to three weeks.';
    assert.equal(quotedPage({ ...WOUND, page: 37 }, onHitPage)?.number, 37);
    assert.equal(quotedPage({ ...WOUND, page: 38 }, onHitPage)?.number, 37, 'the quote is on page 37, whatever page the search preferred');
    const across = 'and you will be given pain medicine when you go home. Bruising and swelling at the surgery site usually settle within two to three weeks.';
    assert.equal(quotedPage({ ...WOUND, page: 36 }, across)?.number, 36, 'a quote crossing onto the hit page keeps it');
    assert.equal(quotedPage({ ...WOUND, page: 38 }, across)?.number, 37);
  });

  it('falls back to the hit page when the quote cannot be found, and to nothing when unpaged', () => {
    assert.equal(quotedPage({ ...WOUND, page: 38 }, 'paraphrased, not quoted')?.number, 38);
    assert.equal(quotedPage({ text: 'x', pages: [], page: null }, 'x'), null);
  });
});
