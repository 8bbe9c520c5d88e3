import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { docx, needsShared, para, sharedFile, testRun, wordPart } from '../testing.ts';
import { IngestError, type Block } from '../types.ts';
import { parseDocx } from './docx.ts';

async function blocks(bytes: Uint8Array): Promise<Block[]> {
  const run = testRun();
  await parseDocx(bytes, run);
  return run.blocks;
}

const STYLES = wordPart(
  'styles',
  `<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
   <w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/></w:style>
   <w:style w:type="paragraph" w:styleId="Kop2"><w:name w:val="heading 2"/></w:style>
   <w:style w:type="paragraph" w:styleId="Fancy"><w:name w:val="Fancy Heading"/><w:basedOn w:val="Kop2"/></w:style>
   <w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>
   <w:style w:type="paragraph" w:styleId="Outline"><w:name w:val="Outline"/><w:pPr><w:outlineLvl w:val="2"/></w:pPr></w:style>
   <w:style w:type="paragraph" w:styleId="Bullets"><w:name w:val="List Bullet"/><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>
   <w:style w:type="paragraph" w:styleId="Caption"><w:name w:val="caption"/></w:style>`,
);
const NUMBERING = wordPart(
  'numbering',
  `<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/></w:lvl><w:lvl w:ilvl="1"><w:numFmt w:val="decimal"/></w:lvl><w:lvl w:ilvl="2"><w:numFmt w:val="none"/></w:lvl></w:abstractNum>
   <w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>`,
);
const styled = (body: string) => docx(body, { 'word/styles.xml': STYLES, 'word/numbering.xml': NUMBERING });
const numbered = (text: string, ilvl: number, numId = 1) => para(text, `<w:numPr><w:ilvl w:val="${ilvl}"/><w:numId w:val="${numId}"/></w:numPr>`);
const cell = (text: string, props = '') => `<w:tc>${props ? `<w:tcPr>${props}</w:tcPr>` : ''}${para(text)}</w:tc>`;
const row = (...cells: string[]) => `<w:tr>${cells.join('')}</w:tr>`;

describe('parseDocx', () => {
  it('takes headings from style names (any style id, through basedOn) and outline levels', async () => {
    const result = await blocks(
      styled(
        para('The Report', '<w:pStyle w:val="Title"/>') +
          para('Chapter', '<w:pStyle w:val="Kop1"/>') +
          para('Inherited', '<w:pStyle w:val="Fancy"/>') +
          para('Outlined', '<w:pStyle w:val="Outline"/>') +
          para('Direct', '<w:outlineLvl w:val="0"/>') +
          para('Body text') +
          para('Figure 1: a duck', '<w:pStyle w:val="Caption"/>'),
      ),
    );
    assert.deepEqual(result, [
      { kind: 'heading', text: 'The Report', level: 1 },
      { kind: 'heading', text: 'Chapter', level: 1 },
      { kind: 'heading', text: 'Inherited', level: 2 },
      { kind: 'heading', text: 'Outlined', level: 3 },
      { kind: 'heading', text: 'Direct', level: 1 },
      { kind: 'paragraph', text: 'Body text' },
      { kind: 'caption', text: 'Figure 1: a duck' },
    ]);
  });

  it('uses the Title paragraph, or docProps/core.xml, as the title', async () => {
    const run = testRun();
    assert.deepEqual(await parseDocx(styled(para('Annual Plan', '<w:pStyle w:val="Title"/>')), run), { title: 'Annual Plan' });
    const core =
      '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>From Core</dc:title></cp:coreProperties>';
    assert.deepEqual(await parseDocx(docx(para('x'), { 'docProps/core.xml': core }), testRun()), { title: 'From Core' });
  });

  it('emits list items with their level, only for numbering that exists and shows', async () => {
    const result = await blocks(
      styled(
        numbered('first', 0) +
          numbered('nested', 1) +
          para('by style', '<w:pStyle w:val="Bullets"/>') +
          numbered('unnumbered (numId 0)', 0, 0) +
          numbered('dangling numId', 0, 42) +
          numbered('format none', 2),
      ),
    );
    assert.deepEqual(result, [
      { kind: 'list-item', text: 'first', level: 0 },
      { kind: 'list-item', text: 'nested', level: 1 },
      { kind: 'list-item', text: 'by style', level: 0 },
      { kind: 'paragraph', text: 'unnumbered (numId 0)' },
      { kind: 'paragraph', text: 'dangling numId' },
      { kind: 'paragraph', text: 'format none' },
    ]);
  });

  it('turns table rows into Markdown table rows, repeating vertically merged text and folding nested tables', async () => {
    const nested = `<w:tbl>${row(cell('inner 1'), cell('inner 2'))}</w:tbl>`;
    const table = `<w:tbl>
      ${row(cell('Name'), cell('Dose'), cell('Notes'))}
      ${row(cell('Aspirin'), cell('100 mg', '<w:vMerge w:val="restart"/>'), cell('daily'))}
      ${row(cell('Ibuprofen'), cell('', '<w:vMerge/>'), cell('with food'))}
      ${row(cell('Spanning both', '<w:gridSpan w:val="2"/>'), cell('end'))}
      ${row(`<w:tc>${para('outer')}${nested}</w:tc>`, cell('b'), cell(''))}
      <w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr>${cell('late', '<w:vMerge/>')}${cell('x')}</w:tr>
    </w:tbl>`;
    assert.deepEqual(
      (await blocks(docx(table))).map((b) => [b.kind, b.text]),
      [
        ['table-row', '| Name | Dose | Notes |\n| --- | --- | --- |'],
        ['table-row', '| Aspirin | 100 mg | daily |'],
        ['table-row', '| Ibuprofen | 100 mg | with food |'],
        ['table-row', '| Spanning both | | end |'],
        ['table-row', '| outer inner 1 / inner 2 | b | |'],
        ['table-row', '| | | x |'],
      ],
    );
  });

  it('reads runs, tabs and breaks but not deleted text, field codes or fallback copies', async () => {
    const body = `<w:p>
      <w:r><w:t xml:space="preserve">Kept </w:t></w:r><w:del><w:r><w:delText>deleted</w:delText></w:r></w:del>
      <w:ins><w:r><w:t>inserted</w:t></w:r></w:ins><w:r><w:tab/><w:t>after-tab</w:t><w:br/><w:t>next line</w:t></w:r>
      <w:r><w:instrText>PAGEREF _Toc1 \\h</w:instrText></w:r>
      <mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">
        <mc:Choice Requires="wps"><w:r><w:t> choice</w:t></w:r></mc:Choice>
        <mc:Fallback><w:r><w:t> fallback</w:t></w:r></mc:Fallback>
      </mc:AlternateContent>
      <w:r><w:t>&amp; &lt;done&gt;</w:t></w:r>
    </w:p>`;
    assert.deepEqual(await blocks(docx(body)), [{ kind: 'paragraph', text: 'Kept inserted after-tab next line choice& <done>' }]);
  });

  it('goes by namespace, not by the prefix a producer chose', async () => {
    const ns = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
    const prefixed = `<x:document xmlns:x="${ns}" xmlns:w="urn:not-word"><x:body><x:p><x:r><x:t>odd prefix</x:t></x:r></x:p><w:p><w:r><w:t>foreign</w:t></w:r></w:p></x:body></x:document>`;
    // OOXML attributes are namespace-qualified, so even a default-namespace document prefixes them.
    const unprefixed = `<document xmlns="${ns}" xmlns:q="${ns}"><body><p><pPr><outlineLvl q:val="1"/></pPr><r><t>default namespace</t></r></p></body></document>`;
    assert.deepEqual(await blocks(docx('', { 'word/document.xml': prefixed })), [{ kind: 'paragraph', text: 'odd prefix' }]);
    assert.deepEqual(await blocks(docx('', { 'word/document.xml': unprefixed })), [{ kind: 'heading', text: 'default namespace', level: 2 }]);
  });

  it('refuses DOCTYPEs, so an external entity is never resolved', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lectern-xxe-'));
    try {
      const secret = path.join(dir, 'secret.txt');
      writeFileSync(secret, 'TOP-SECRET-7f3a9');
      const xxe = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY leak SYSTEM "file://${secret}">]><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${para('value: &leak;')}</w:body></w:document>`;
      const bytes = docx('', { 'word/document.xml': xxe });
      const run = testRun();
      await assert.rejects(parseDocx(bytes, run), (error: unknown) => {
        assert.ok(error instanceof IngestError);
        assert.equal(error.code, 'unsafe');
        assert.doesNotMatch(error.message, /TOP-SECRET/);
        return true;
      });
      assert.ok(!JSON.stringify(run.blocks).includes('TOP-SECRET'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses entity-expansion bombs before expanding anything', async () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${para('&lol2;')}</w:body></w:document>`;
    await assert.rejects(parseDocx(docx('', { 'word/document.xml': lol }), testRun()), { code: 'unsafe' });
  });

  it('reports malformed XML and missing parts as corrupt', async () => {
    await assert.rejects(parseDocx(docx('<w:p><w:r><w:t>unclosed</w:r></w:p>'), testRun()), { code: 'corrupt' });
    await assert.rejects(parseDocx(docx('', { 'word/document.xml': '<w:document><w:body>' }), testRun()), { code: 'corrupt' });
  });

  it('enforces the uncompressed-size budget on the parts it reads', async () => {
    const big = docx(para('y'.repeat(300_000)));
    await assert.rejects(parseDocx(big, testRun({ maxUncompressedBytes: 100_000 })), { code: 'too_large' });
    await assert.rejects(parseDocx(big, testRun({ maxTextChars: 1000 })), { code: 'too_large' });
  });

  describe('pages', () => {
    const rendered = (before: string, after = '') => `<w:p><w:r>${before ? `<w:t xml:space="preserve">${before}</w:t>` : ''}<w:lastRenderedPageBreak/><w:t xml:space="preserve">${after}</w:t></w:r></w:p>`;

    it('takes the pages Word laid out, a block on the page it begins on', async () => {
      const run = testRun();
      const { pages } = await parseDocx(docx(para('One') + rendered('', 'Two') + rendered('Three begins', ' and ends over the page') + `<w:tbl>${row(cell('Four'), cell('4'))}</w:tbl>` + rendered('', 'Five')), run);
      assert.deepEqual(pages, [{ number: 1 }, { number: 2 }, { number: 3 }, { number: 4 }]);
      assert.deepEqual(run.blocks.map((b) => `${b.text}@${b.page}`), ['One@1', 'Two@2', 'Three begins and ends over the page@2', '| Four | 4 |\n| --- | --- |@3', 'Five@4']);
      assert.deepEqual(run.warnings, []);
    });

    it('counts the author\'s breaks where Word left no layout, and says the pages are approximate', async () => {
      const run = testRun();
      const body =
        para('Cover', '<w:pageBreakBefore/>') + // before any text: no blank first page
        `<w:p><w:r><w:br w:type="page"/><w:t>After a page break</w:t></w:r></w:p>` +
        para('Chapter', '<w:pageBreakBefore/>') +
        para('Ends a continuous section', '<w:sectPr><w:type w:val="continuous"/></w:sectPr>') +
        para('Same page') +
        para('Ends a section', '<w:sectPr/>') +
        para('New section') +
        para('Not before', '<w:pageBreakBefore w:val="0"/>');
      const { pages } = await parseDocx(docx(body), run);
      assert.equal(pages?.length, 4);
      assert.deepEqual(run.blocks.map((b) => `${b.text}@${b.page}`), ['Cover@1', 'After a page break@2', 'Chapter@3', 'Ends a continuous section@3', 'Same page@3', 'Ends a section@3', 'New section@4', 'Not before@4']);
      assert.match(run.warnings.join(), /Page numbers are approximate/);
    });

    it('gives no pages to a file with neither', async () => {
      const run = testRun();
      assert.equal((await parseDocx(docx(para('One') + para('Two')), run)).pages, undefined);
      assert.ok(run.blocks.every((b) => b.page === undefined));
    });
  });

  describe('shared documents', { skip: needsShared }, () => {
    it('reads the lists-and-images sample', async () => {
      const run = testRun();
      const { title } = await parseDocx(sharedFile('docx/word-sample-lists-images.docx'), run);
      assert.equal(title, 'Swimming in the lake');
      const text = (kind: string) => run.blocks.filter((b) => b.kind === kind).map((b) => b.text);
      assert.deepEqual(text('list-item').slice(0, 3), ['You can relax and look around', 'Paddle about', 'Enjoy summer warmth']);
      assert.ok(text('heading').includes('Let’s eat'));
      assert.deepEqual(text('caption'), ['Figure 1: This is a cute duckling']);
      assert.ok(text('table-row').includes('| Berries | Blueberry, Strawberry, Cranberry | 150 |'));
      assert.deepEqual(run.warnings, ['1 embedded image was not read']);
    });

    it('reads merged cells sensibly', async () => {
      const rows = (await blocks(sharedFile('docx/word-tables-merged-cells.docx'))).filter((b) => b.kind === 'table-row').map((b) => b.text);
      assert.ok(rows.includes('| Header 0.0 | Header 0.1 | Header 0.2 |\n| --- | --- | --- |'), 'a header row carries the separator');
      assert.ok(rows.includes('| Cell 1.0 | Merged Cell 1.1 1.2 | |'), 'a horizontal span covers its columns');
      assert.ok(rows.includes('| Cell 1.0 | Merged Cell 1.1 1.2 | | Cell 1.3 |'), 'cells after a span stay under their headers');
      assert.ok(rows.includes('| Cell 1.0 | Merged Cell 1.1 2.1 | Cell 1.2 |'));
      assert.ok(rows.includes('| Cell 2.0 | Merged Cell 1.1 2.1 | Cell 2.2 |'));
      assert.ok(rows.includes('| | | Merged Cell 0.2 1.2 |'));
      const headers = rows.filter((r) => r.includes('\n'));
      assert.equal(headers.length, 7, 'one header row per table');
      for (const r of rows) {
        const lines = r.split('\n');
        assert.ok(lines.every((l) => /^\|.*\|$/.test(l)), r);
      }
    });

    it('reads the Russian document', async () => {
      const result = await blocks(sharedFile('docx/ru-library-calendar-2017.docx'));
      assert.equal(result[1]?.text, 'Большечерниговская районная библиотека');
      assert.ok(result.some((b) => b.kind === 'table-row' && b.text === '| 7 | Рождество Христово |'));
    });

    it('pages the Word files as Word did (docProps/app.xml says 15 and 2 pages)', async () => {
      const run = testRun();
      const { pages } = await parseDocx(sharedFile('docx/ru-library-calendar-2017.docx'), run);
      assert.equal(pages?.length, 15);
      const numbers = run.blocks.map((b) => b.page ?? 0);
      assert.ok(numbers.every((n, i) => n >= 1 && n >= (numbers[i - 1] ?? 1)), 'every block has a page, in order');
      assert.deepEqual([numbers[0], numbers.at(-1)], [1, 15]);
      assert.equal(run.blocks.find((b) => b.text === '| Июнь | |')?.page, 7);
      const lists = testRun();
      assert.equal((await parseDocx(sharedFile('docx/word-sample-lists-images.docx'), lists)).pages?.length, 2);
    });
  });
});
