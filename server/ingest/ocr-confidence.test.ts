import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as Ocr from './ocr.ts';
import { lowConfidenceNote } from './ocr-confidence.ts';
import { parsePdf } from './formats/pdf.ts';
import { ParseRun, type OcrEngine } from './run.ts';
import { testLimits, textPagesPdf } from './testing.ts';

describe('OCR where it helps', () => {
  it('notes OCR that was more likely wrong than right, with its mean confidence weighted by text', () => {
    assert.equal(lowConfidenceNote([{ text: 'Clear scan text', confidence: 0.93 }], ['eng']), null);
    assert.equal(
      lowConfidenceNote([{ text: 'x'.repeat(300), confidence: 0.31 }, { text: 'y'.repeat(100), confidence: 0.75 }], ['eng']),
      'OCR was unsure of what it read (mean confidence 42 %): the text of 2 pages may be wrong; if the scan is not in eng, choose its language in the knowledge base\'s settings (OCR languages) and re-index',
    );
    assert.equal(lowConfidenceNote([], ['eng']), null);
  });

  it('does not start OCR for blank pages: no text layer and no image to read', async () => {
    const asked: number[][] = [];
    const ocr: OcrEngine = { ocrImage: Ocr.ocrImage, ocrPdfPages: (pdf, pages, options) => (asked.push(pages), Ocr.ocrPdfPages(pdf, pages, options)) };
    const prose = 'Rub hands with an alcohol-based rub for twenty seconds before every patient contact.';
    const run = new ParseRun(testLimits({ ocr: true }), { ocr });
    await parsePdf(textPagesPdf([prose, '', prose, '']), run);
    assert.deepEqual(asked, [], 'the OCR engine was never started');
    assert.deepEqual([...new Set(run.blocks.map((b) => b.page))], [1, 3]);
    assert.deepEqual(run.warnings, []);
    await assert.rejects(parsePdf(textPagesPdf(['', '']), new ParseRun(testLimits({ ocr: true }), { ocr })), /The PDF's 2 pages are blank: no text and no images/);
    assert.deepEqual(asked, []);
  });
});
