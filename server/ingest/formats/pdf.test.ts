import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OcrEngine } from '../run.ts';
import { ParseRun } from '../run.ts';
import { needsShared, pdf, sharedFile, testLimits, testRun } from '../testing.ts';
import type { ParseLimits } from '../types.ts';
import { itemsToLines, parsePdf } from './pdf.ts';

const item = (str: string, x: number, y: number, size = 10, hasEOL = false) => ({
  str,
  transform: [size, 0, 0, size, x, y],
  width: str.length * size * 0.5,
  height: size,
  hasEOL,
});

async function parse(file: string, limits: Partial<ParseLimits> = {}, ocr?: OcrEngine) {
  const run = ocr ? new ParseRun(testLimits(limits), { ocr }) : testRun(limits);
  const result = await parsePdf(sharedFile(file), run);
  return { ...result, blocks: run.blocks, warnings: run.warnings };
}

describe('itemsToLines', () => {
  it('joins runs on one baseline, inserting spaces only at real gaps, and keeps superscripts on their line', () => {
    const lines = itemsToLines([
      item('Hello', 10, 700),
      item('world', 10 + 25 + 3, 700),
      item('1', 10 + 25 + 3 + 25, 703.5, 6),
      item('Next line', 10, 686, 10, true),
      item('Split', 10, 672),
      item('ting', 35, 672),
    ]);
    assert.deepEqual(
      lines.map((l) => [l.text, l.size, l.y]),
      [
        ['Hello world1', 10, 700],
        ['Next line', 10, 686],
        ['Splitting', 10, 672],
      ],
    );
  });
});

describe('parsePdf', () => {
  it('reads CJK text through the CMaps and standard fonts shipped in the package (no network)', async () => {
    // 日本語 in a non-embedded Japanese font: decoding needs the predefined UniJIS-UCS2-H CMap.
    const content = 'BT /F1 24 Tf 20 100 Td <65E5672C8A9E> Tj ET BT /F2 12 Tf 20 60 Td (Standard Helvetica text) Tj ET';
    const bytes = pdf([
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R /F2 8 0 R >> >> >>',
      `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
      '<< /Type /Font /Subtype /Type0 /BaseFont /KozMinPr6N-Regular /Encoding /UniJIS-UCS2-H /DescendantFonts [6 0 R] >>',
      '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /KozMinPr6N-Regular /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> /FontDescriptor 7 0 R >>',
      '<< /Type /FontDescriptor /FontName /KozMinPr6N-Regular /Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>',
      '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ]);
    const run = testRun();
    assert.deepEqual(await parsePdf(bytes, run), { title: '日本語', pages: [{ number: 1 }] });
    assert.deepEqual(run.blocks, [
      { kind: 'heading', text: '日本語', level: 1, page: 1 },
      { kind: 'paragraph', text: 'Standard Helvetica text', page: 1 },
    ]);
  });
});

describe('parsePdf on shared documents', { skip: needsShared }, () => {
  it('reads the 76-page guide with page labels, headings and no running footers', async () => {
    const { pages, blocks } = await parse('pdf/cancer-council-understanding-breast-cancer-76p.pdf');
    assert.equal(pages.length, 76);
    assert.deepEqual(pages.slice(0, 4), [
      { number: 1, label: 'i' },
      { number: 2, label: 'ii' },
      { number: 3, label: '1' },
      { number: 4, label: '2' },
    ]);
    assert.ok(blocks.every((b) => b.page !== undefined && b.page >= 1 && b.page <= 76));
    assert.ok(blocks.some((b) => b.kind === 'heading' && b.text === 'What is cancer?' && b.page === 6));
    const body = blocks.find((b) => b.text.startsWith('Cancer is a disease of the cells'));
    assert.equal(body?.kind, 'paragraph');
    assert.match(body?.text ?? '', /which are the body’s basic building blocks\. The body constantly makes new cells/);
    const footers = blocks.filter((b) => b.text === 'Understanding Breast Cancer' || /^\d+$/.test(b.text));
    assert.ok(footers.length < 5, `running footers should be dropped, found ${footers.length}`);
  });

  it('takes the title from the metadata and finds list items', async () => {
    const { title, blocks } = await parse('pdf/gao-23-106826-cybersecurity-2p.pdf');
    assert.equal(title, 'GAO-23-106826, Cybersecurity: Launching and Implementing the National Cybersecurity Strategy');
    assert.ok(blocks.some((b) => b.kind === 'list-item' && b.text.startsWith('Secure federal systems and information.')));
    assert.ok(blocks.some((b) => b.kind === 'heading' && b.text === 'Threats Highlight the Importance of Establishing Leadership in Cybersecurity'));
  });

  it('opens owner-password (permissions-only) PDFs', async () => {
    const { blocks } = await parse('hostile/permissions-restricted-owner-password.pdf');
    assert.ok(blocks.some((b) => b.text.includes('LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis')));
  });

  it('maps failures to stable codes', async () => {
    await assert.rejects(parse('hostile/encrypted-user-password-1234.pdf'), { code: 'encrypted' });
    await assert.rejects(parse('hostile/malformed-no-startxref.pdf'), { code: 'corrupt' });
    await assert.rejects(parse('pdf/ibm-redpaper-redp5110-db2-rcac-sampled-18p.pdf', { maxPages: 10 }), {
      code: 'too_many_pages',
      message: 'The PDF has 18 pages; the limit is 10',
    });
    await assert.rejects(parse('pdf/cancer-council-understanding-breast-cancer-76p.pdf', { maxTextChars: 5000 }), { code: 'too_large' });
  });

  it('says why an image-only PDF has no text when OCR is off or missing', async () => {
    const file = 'hostile/scanned-image-only-4p-known-text.pdf';
    await assert.rejects(parse(file, { ocr: false }), { code: 'no_text', message: /no text layer.*OCR is turned off/ });
    await assert.rejects(parse(file, { ocr: true }), { code: 'no_text', message: /OCR is not available/ });
  });

  it('reports an OCR engine failure on an image-only PDF as retryable', async () => {
    const broken: OcrEngine = {
      ocrImage: () => Promise.reject(new Error('engine did not start')),
      ocrPdfPages: () => Promise.reject(new Error('engine did not start')),
    };
    await assert.rejects(parse('hostile/scanned-image-only-4p-known-text.pdf', { ocr: true }, broken), { code: 'internal', retryable: true });
  });

  it('passes over blank pages (no text layer, no image) without a word, as there is nothing to miss', async () => {
    // Pages 2 and 6 of the manual are blank: before, they were reported as skipped for want of OCR.
    const { warnings, pages } = await parse('pdf/inform-benutzerhandbuch-de-6p.pdf');
    assert.equal(pages.length, 6);
    assert.deepEqual(warnings, []);
  });
});
