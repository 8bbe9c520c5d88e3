import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approximateTokens, chunkDocument, positionBlocks, type Chunk } from './chunker.ts';
import { parseDocx } from './formats/docx.ts';
import { markdownTable } from './table.ts';
import { needsShared, sharedFile, testRun } from './testing.ts';
import type { Block } from './types.ts';

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
const opts = { chunkSize: 20, chunkOverlap: 5, countTokens: words };
const para = (n: number, word: string, page?: number): Block => ({ kind: 'paragraph', text: Array.from({ length: n }, (_, i) => `${word}${i}`).join(' '), ...(page ? { page } : {}) });

describe('chunkDocument', () => {
  it('keeps offsets exact: every chunk is a slice of the document text', () => {
    const blocks: Block[] = [
      { kind: 'heading', text: 'Intake policy', level: 1 },
      para(12, 'a', 1),
      { kind: 'heading', text: 'Triage', level: 2 },
      para(30, 'b', 2),
      { kind: 'list-item', text: 'Check airway. Check breathing.', level: 0, page: 3 },
    ];
    const { text } = positionBlocks(blocks);
    const chunks = chunkDocument({ blocks }, opts);
    for (const c of chunks) {
      const slice = text.slice(c.start, c.end);
      assert.ok(slice.startsWith(c.text.split('\n')[0]!), `chunk ${c.index} starts at its offset`);
      assert.ok(slice.endsWith(c.text.split('\n').at(-1)!), `chunk ${c.index} ends at its offset`);
      assert.ok(c.tokens <= opts.chunkSize, `chunk ${c.index} has ${c.tokens} tokens`);
    }
  });

  it('makes a chunk of a document that is nothing but headings, and none of headings that label a section', () => {
    const alone = chunkDocument({ blocks: [{ kind: 'heading', text: 'VISITING HOURS 9 TO 5', level: 1 }] }, opts);
    assert.deepEqual(alone.map((c) => [c.text, c.headings]), [['VISITING HOURS 9 TO 5', ['VISITING HOURS 9 TO 5']]]);
    const labelled = chunkDocument({ blocks: [{ kind: 'heading', text: 'Visiting', level: 1 }, para(3, 'v'), { kind: 'heading', text: 'Unused', level: 1 }] }, opts);
    assert.deepEqual(labelled.map((c) => c.text), ['Visiting\nv0 v1 v2']);
  });

  it('starts a new chunk at each heading and carries the heading path', () => {
    const chunks = chunkDocument(
      {
        blocks: [
          { kind: 'heading', text: 'Manual', level: 1 },
          { kind: 'heading', text: 'Filters', level: 2 },
          para(5, 'f'),
          { kind: 'heading', text: 'Belts', level: 2 },
          para(5, 'g'),
          { kind: 'heading', text: 'Appendix', level: 1 },
          para(3, 'h'),
        ],
      },
      opts,
    );
    assert.deepEqual(chunks.map((c) => c.headings), [['Manual', 'Filters'], ['Manual', 'Belts'], ['Appendix']]);
    assert.match(chunks[0]!.text, /^Manual\nFilters\nf0/, 'a parent heading directly above its first section joins it');
    assert.match(chunks[1]!.text, /^Belts\ng0/);
  });

  it('drops a heading left empty by its next sibling', () => {
    const chunks = chunkDocument({ blocks: [{ kind: 'heading', text: 'Empty', level: 2 }, { kind: 'heading', text: 'Full', level: 2 }, para(3, 'x')] }, opts);
    assert.equal(chunks.length, 1);
    assert.match(chunks[0]!.text, /^Full\n/);
  });

  it('packs small blocks, overlaps within a section, and never splits a table row', () => {
    const rows: Block[] = Array.from({ length: 12 }, (_, i) => ({ kind: 'table-row', text: `M${i} | 10 Nm | steel`, page: 1 }));
    const chunks = chunkDocument({ blocks: rows }, { ...opts, chunkOverlap: 8 });
    assert.ok(chunks.length > 1);
    for (const c of chunks) for (const line of c.text.split('\n')) assert.match(line, /^M\d+ \| 10 Nm \| steel$/);
    const firstRows = chunks[0]!.text.split('\n');
    assert.ok(chunks[1]!.text.startsWith(firstRows.at(-1)!), 'the next chunk repeats the previous tail');
  });

  it('splits an oversized paragraph at sentence ends, and a giant sentence at spaces', () => {
    const sentences = Array.from({ length: 8 }, (_, i) => `Sentence number ${i} has exactly seven words.`).join(' ');
    const giant = Array.from({ length: 70 }, (_, i) => `w${i}`).join(' ');
    const { text } = positionBlocks([{ kind: 'paragraph', text: sentences }, { kind: 'paragraph', text: giant }]);
    const chunks = chunkDocument({ blocks: [{ kind: 'paragraph', text: sentences }, { kind: 'paragraph', text: giant }] }, opts);
    for (const c of chunks) {
      assert.ok(c.tokens <= opts.chunkSize, `${c.tokens} tokens`);
      assert.equal(text.slice(c.start, c.end).replace(/\s+/g, ' ').includes(c.text.split('\n')[0]!.replace(/\s+/g, ' ')), true);
    }
    const sentenceChunks = chunks.filter((c) => c.text.includes('Sentence'));
    assert.ok(sentenceChunks.every((c) => c.text.split('\n').at(-1)!.endsWith('words.') || c.text.includes('w0')), 'sentence pieces end at a sentence end');
    const giantWords = new Set(chunks.flatMap((c) => c.text.split(/\s+/)).filter((w) => /^w\d+$/.test(w)));
    assert.equal(giantWords.size, 70, 'no word is lost');
  });

  it('records the page range of chunks spanning pages', () => {
    const chunks = chunkDocument({ blocks: [para(6, 'p', 4), para(6, 'q', 5)] }, { ...opts, chunkSize: 50 });
    assert.deepEqual([chunks[0]!.page, chunks[0]!.pageEnd], [4, 5]);
    assert.deepEqual(chunkDocument({ blocks: [para(3, 'x')] }, opts).map((c) => [c.page, c.pageEnd]), [[null, null]]);
  });

  it('records where each page begins inside a chunk, with its printed label', () => {
    const blocks: Block[] = [
      { kind: 'heading', text: 'Wound care', level: 1, page: 36 },
      para(4, 'a', 36),
      para(5, 'b', 37),
      // A block with no page (a parser could not place it) continues the page before it.
      { kind: 'caption', text: 'Figure 3' },
      para(3, 'c', 38),
    ];
    const pages = [36, 37, 38].map((number) => ({ number, label: String(number - 2) }));
    const [chunk, ...rest] = chunkDocument({ blocks, pages }, { ...opts, chunkSize: 50 });
    assert.equal(rest.length, 0);
    assert.deepEqual(
      chunk!.pages.map((p) => [p.number, p.label, chunk!.text.slice(p.offset, p.offset + 2)]),
      [
        [36, '34', 'Wo'],
        [37, '35', 'b0'],
        [38, '36', 'c0'],
      ],
    );
    assert.deepEqual([chunk!.page, chunk!.pageEnd], [36, 38]);
    assert.ok(chunk!.text.slice(chunk!.pages[1]!.offset, chunk!.pages[2]!.offset).includes('Figure 3'), 'the unplaced caption stays with page 37');
  });

  it('gives a chunk opened by the previous one’s tail the page that tail is on', () => {
    const blocks: Block[] = [para(8, 'a', 4), para(8, 'b', 4), para(4, 't', 4), para(8, 'c', 5)];
    const chunks = chunkDocument({ blocks, pages: [{ number: 4 }, { number: 5 }] }, { ...opts, chunkSize: 20, chunkOverlap: 5 });
    const second = chunks.find((c) => c.text.includes('c0'))!;
    assert.ok(second.text.startsWith('t0'), 'the overlap opens the next chunk');
    assert.deepEqual(
      second.pages.map((p) => [p.number, p.label, second.text.slice(p.offset).split(' ')[0]]),
      [
        [4, null, 't0'],
        [5, null, 'c0'],
      ],
    );
  });

  it('cuts a sentence of a million characters counting each character a bounded number of times', () => {
    const giant = Array.from({ length: 150_000 }, (_, i) => `word${i % 1000}`).join(' ');
    let counted = 0;
    const countTokens = (text: string) => {
      counted += text.length;
      return approximateTokens(text);
    };
    const chunks = chunkDocument({ blocks: [{ kind: 'paragraph', text: giant }] }, { chunkSize: 350, chunkOverlap: 50, countTokens });
    // Counting the whole rest of the sentence for every cut counted it ~500 times over.
    assert.ok(counted < 50 * giant.length, `counted ${counted} characters for ${giant.length}`);
    assert.ok(chunks.every((c) => c.tokens <= 350));
    assert.equal(chunks.map((c) => c.text).join(' '), giant);
  });

  it('keeps the page of every piece of an oversized block split across chunks', () => {
    const long = Array.from({ length: 6 }, (_, i) => `Step ${i} takes four words.`).join(' ');
    const chunks = chunkDocument({ blocks: [{ kind: 'paragraph', text: long, page: 9 }] }, { ...opts, chunkSize: 12, chunkOverlap: 0 });
    assert.ok(chunks.length > 1);
    for (const c of chunks) assert.deepEqual(c.pages, [{ number: 9, label: null, offset: 0 }]);
  });

  describe('tables', () => {
    const ROW = /^\| .* \|$|^\| \|/;
    const SEPARATOR = /^\|(?: :?-{3,}:? \|)+$/;
    /** A chunk's own blocks as the document text holds them, newline-joined as chunks are. */
    const own = (text: string, c: Chunk) => text.slice(c.start, c.end).replaceAll('\n\n', '\n');

    it('keeps rows whole and opens each chunk that continues a table with its header row, offsets spanning only its own rows', () => {
      const rows = [['Size', 'Torque', 'Material'], ...Array.from({ length: 20 }, (_, i) => [`M${i}`, `${10 + i} Nm`, 'steel'])];
      const blocks: Block[] = [
        { kind: 'paragraph', text: 'Tightening torques for bolts.', page: 1 },
        ...markdownTable(rows).map((text, i): Block => ({ kind: 'table-row', text, page: i < 12 ? 1 : 2 })),
        { kind: 'paragraph', text: 'Check torque after one hour.', page: 2 },
      ];
      const { text } = positionBlocks(blocks);
      const chunks = chunkDocument({ blocks, pages: [{ number: 1 }, { number: 2 }] }, { chunkSize: 60, chunkOverlap: 0, countTokens: words });
      assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
      const header = '| Size | Torque | Material |\n| --- | --- | --- |';
      const seen: string[] = [];
      for (const c of chunks) {
        assert.ok(c.tokens <= 60, `chunk ${c.index} has ${c.tokens} tokens`);
        const lines = c.text.split('\n');
        const table = lines.filter((l) => l.startsWith('|'));
        if (table.length === 0) continue;
        assert.deepEqual(table.slice(0, 2).join('\n'), header, `chunk ${c.index}'s rows open with the header row`);
        for (const line of table.slice(2)) assert.match(line, ROW);
        assert.ok(table.slice(2).every((l) => !SEPARATOR.test(l)));
        // The repeated header is in the text only; start/end still span the chunk's own blocks.
        const repeated = c.text.startsWith(header) && !own(text, c).startsWith(header);
        assert.equal(c.text, repeated ? `${header}\n${own(text, c)}` : own(text, c), `chunk ${c.index}`);
        assert.equal(c.pages[0]!.offset, 0);
        for (const p of c.pages.slice(1)) assert.ok(c.text.slice(p.offset).startsWith('| M11 |'), 'page 2 begins at its first row');
        seen.push(...table.slice(2).filter((l) => l.startsWith('| M')));
      }
      assert.equal(new Set(seen).size, 20, 'every row is in a chunk');
      assert.ok(chunks.filter((c) => c.text.startsWith(header)).length >= 2, 'the header repeats');
    });

    it('repeats no header that would take more than a quarter of a chunk', () => {
      const rows = [Array.from({ length: 8 }, (_, i) => `Column${i}`), ...Array.from({ length: 12 }, (_, i) => [`r${i}`, 'x'])];
      const blocks = markdownTable(rows).map((text): Block => ({ kind: 'table-row', text }));
      const chunks = chunkDocument({ blocks }, { chunkSize: 40, chunkOverlap: 0, countTokens: words });
      assert.ok(chunks.length > 1);
      assert.ok(chunks.slice(1).every((c) => !c.text.includes('Column0')));
    });

    it('chunks the shared Russian calendar: each chunk of its table is a Markdown table of whole rows', { skip: needsShared }, async () => {
      const run = testRun();
      const { pages } = await parseDocx(sharedFile('docx/ru-library-calendar-2017.docx'), run);
      const { text } = positionBlocks(run.blocks);
      const chunks = chunkDocument({ blocks: run.blocks, ...(pages ? { pages } : {}) }, { chunkSize: 300, chunkOverlap: 40, countTokens: approximateTokens });
      const tabled = chunks.filter((c) => c.text.includes('| --- |'));
      assert.ok(tabled.length > 10, `${tabled.length} of ${chunks.length} chunks hold table rows`);
      const header = run.blocks.find((b) => b.kind === 'table-row')!.text;
      for (const c of tabled) {
        const lines = c.text.split('\n').filter((l) => l.startsWith('|'));
        assert.equal(lines.slice(0, 2).join('\n'), header, `chunk ${c.index}'s rows open with the header row`);
        for (const line of lines.slice(2)) assert.match(line, ROW);
        assert.ok([own(text, c), `${header}\n${own(text, c)}`].includes(c.text), `chunk ${c.index} is its own rows, maybe after the header`);
        for (const p of c.pages) assert.ok(p.offset === 0 || c.text[p.offset - 1] === '\n', 'a page begins at a row');
      }
    });
  });

  it('approximates tokens without a tokenizer', () => {
    assert.equal(approximateTokens('a'.repeat(400)), 100);
  });
});
