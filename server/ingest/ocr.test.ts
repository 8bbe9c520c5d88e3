import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { ocrAvailable, ocrImage, ocrPdfPages } from './ocr.ts';
import { installedLanguages } from './ocr/languages.ts';
import { FRENCH_LINES, textScan, wordsOf } from './ocr/scan-fixture.ts';
import { IngestError } from './types.ts';

const hostile = fileURLToPath(new URL('../../../shared/docs/hostile/', import.meta.url));
const scannedPdf = join(hostile, 'scanned-image-only-4p-known-text.pdf');
const noShared = !existsSync(scannedPdf) && 'needs ../shared/docs/hostile (third-party test material), which is absent';
const scannedSentence = 'Docling bundles PDF document conversion to JSON and Markdown';

const require = createRequire(import.meta.url);
// A font that ships with pdf.js, so the rendered test text does not depend on the machine's fonts.
GlobalFonts.registerFromPath(join(dirname(require.resolve('pdfjs-dist/package.json')), 'standard_fonts/LiberationSans-Regular.ttf'), 'Lectern Test Sans');

const words = (text: string): string[] => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

/** Every word of `expected`, in order, among the OCR'd words: tolerant of line breaks, case, punctuation and stray marks. */
function assertReads(actual: string, expected: string): void {
  const got = words(actual);
  let at = 0;
  for (const word of words(expected)) {
    const found = got.indexOf(word, at);
    assert.ok(found >= 0, `expected "${word}" (from "${expected}") in OCR text ${JSON.stringify(actual)}`);
    at = found + 1;
  }
}

/** Known text set in 28 px type, optionally black on transparent or photographed a quarter turn clockwise (1) or counter-clockwise (3). */
function sentenceImage(lines: string[], format: 'png' | 'jpeg', options: { transparent?: boolean; turns?: 0 | 1 | 3 } = {}): Buffer {
  const [width, height] = [1100, 60 + lines.length * 44];
  const turns = options.turns ?? 0;
  const canvas = turns === 0 ? createCanvas(width, height) : createCanvas(height, width);
  const context = canvas.getContext('2d');
  if (!options.transparent) {
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
  }
  if (turns === 1) context.setTransform(0, 1, -1, 0, height, 0);
  if (turns === 3) context.setTransform(0, -1, 1, 0, 0, width);
  context.fillStyle = '#111';
  context.font = '28px "Lectern Test Sans"';
  lines.forEach((line, index) => context.fillText(line, 40, 60 + index * 44));
  return format === 'png' ? canvas.toBuffer('image/png') : canvas.toBuffer('image/jpeg', 92);
}

const note = ['Patient reports mild headache after the second dose.', 'Follow-up appointment booked for Tuesday at nine.'];
const isIngestError = (code: string, pattern?: RegExp) => (error: unknown) =>
  error instanceof IngestError && error.code === code && (!pattern || pattern.test(error.message));

/** Collects the threads started while `run` is pending: the OCR engine's, here. */
async function withThreads<T>(run: (threads: Worker[]) => Promise<T>): Promise<T> {
  const threads: Worker[] = [];
  const capture = (message: unknown): void => void threads.push((message as { worker: Worker }).worker);
  subscribe('worker_threads', capture);
  try {
    return await run(threads);
  } finally {
    unsubscribe('worker_threads', capture);
  }
}

describe('OCR', () => {
  it('reads an image-only PDF page, and one the scanner turned upside down', { skip: noShared }, async (t) => {
    const progress: number[] = [];
    const started = performance.now();
    const pages = await ocrPdfPages(await readFile(scannedPdf), [1, 2], { languages: ['eng'], onProgress: (f) => progress.push(f) });
    t.diagnostic(`2 pages in ${Math.round(performance.now() - started)} ms (engine start included)`);
    assert.deepEqual([...pages.keys()], [1, 2]);
    for (const [page, result] of pages) {
      assertReads(result.text, scannedSentence);
      assert.ok(result.confidence > 0.8 && result.confidence <= 1, `page ${page} confidence ${result.confidence}`);
    }
    assert.deepEqual(progress, [0.5, 1]);
  });

  it('reads images: PNG with a transparent background, photos lying a quarter turn either way', async () => {
    const text = note.join(' ');
    const progress: number[] = [];
    const png = await ocrImage(sentenceImage(note, 'png', { transparent: true }), { languages: ['eng'], onProgress: (f) => progress.push(f) });
    assertReads(png.text, text);
    assert.ok(png.confidence > 0.8, `confidence ${png.confidence}`);
    assert.deepEqual(progress, [1]);
    for (const turns of [1, 3] as const) {
      const photo = await ocrImage(sentenceImage(note, 'jpeg', { turns }), { languages: ['eng'] });
      assertReads(photo.text, text);
      assert.ok(photo.confidence > 0.8, `confidence ${photo.confidence} turned ${turns}`);
    }
  });

  it('stops the engine and rejects promptly when aborted mid-run', async () => {
    const reason = new IngestError('timeout', 'parse took too long');
    const page = sentenceImage(Array.from({ length: 30 }, () => note).flat(), 'png'); // seconds of work
    await withThreads(async (threads) => {
      const controller = new AbortController();
      const run = ocrImage(page, { languages: ['eng'], signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 700));
      const abortedAt = performance.now();
      controller.abort(reason);
      await assert.rejects(run, (error) => error === reason);
      const latency = performance.now() - abortedAt;
      assert.ok(latency < 300, `rejected ${Math.round(latency)} ms after the abort`);
      assert.equal(threads.length, 1, 'one engine thread per call');
      const [engine] = threads;
      if (engine && engine.threadId !== -1) await once(engine, 'exit');
    });
    const aborted = AbortSignal.abort(reason);
    await assert.rejects(ocrPdfPages(new Uint8Array(0), [1], { languages: ['eng'], signal: aborted }), (error) => error === reason);
  });

  it('names what to install for a missing language, before doing any work', async () => {
    const missing = /npm install @tesseract\.js-data\/tlh\b.*tesseract-ocr-tlh/;
    await assert.rejects(ocrImage(new Uint8Array(0), { languages: ['eng', 'tlh'] }), isIngestError('internal', missing));
    await assert.rejects(ocrPdfPages(new Uint8Array(0), [1], { languages: ['tlh'], dataDirs: [] }), isIngestError('internal', missing));
    await assert.rejects(ocrImage(new Uint8Array(0), { languages: ['../../etc/passwd'] }), isIngestError('internal', /not a Tesseract language code/));
    await assert.rejects(ocrImage(new Uint8Array(0), { languages: [] }), isIngestError('internal', /no OCR language/));
    assert.deepEqual(await ocrAvailable(['eng']), { ok: true });
    const unavailable = await ocrAvailable(['eng', 'tlh']);
    assert.equal(unavailable.ok, false);
    assert.match(unavailable.reason ?? '', missing);
  });

  it('combines languages installed in different places', async () => {
    // A second "language" in a tessdata folder of its own: the English model under another code.
    const folder = await mkdtemp(join(tmpdir(), 'lectern-ocr-test-'));
    try {
      const eng = join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int/eng.traineddata.gz');
      await copyFile(eng, join(folder, 'enm.traineddata.gz'));
      assert.deepEqual(await ocrAvailable(['eng', 'enm'], [folder]), { ok: true });
      const result = await ocrImage(sentenceImage(note, 'png'), { languages: ['eng', 'enm'], dataDirs: [folder] });
      assertReads(result.text, note.join(' '));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('reads a French scan right with French data, where English data misreads its accents', async (t) => {
    assert.deepEqual(installedLanguages().filter((code) => code === 'eng' || code === 'fra'), ['eng', 'fra'], 'both ship as npm packages');
    const scan = textScan(FRENCH_LINES);
    const expected = wordsOf(FRENCH_LINES.join(' '));
    const read = async (languages: string[]) => {
      const result = await ocrImage(scan, { languages });
      const got = new Set(wordsOf(result.text));
      const right = expected.filter((word) => got.has(word)).length;
      t.diagnostic(`${languages.join('+')}: confidence ${result.confidence.toFixed(3)}, ${right} of ${expected.length} words right: ${JSON.stringify(result.text)}`);
      return { confidence: result.confidence, right };
    };
    const english = await read(['eng']);
    const french = await read(['fra']);
    assert.equal(french.right, expected.length, 'every word read right');
    assert.ok(english.right <= expected.length - 5, `English data read ${english.right} of ${expected.length} words right`);
    assert.ok(french.confidence > english.confidence, `confidence ${french.confidence} (fra) against ${english.confidence} (eng)`);
  });

  it('refuses bad PDFs and page numbers with the right status', { skip: noShared }, async () => {
    const options = { languages: ['eng'] };
    const scanned = await readFile(scannedPdf);
    await assert.rejects(ocrPdfPages(await readFile(join(hostile, 'encrypted-user-password-1234.pdf')), [1], options), isIngestError('encrypted'));
    await assert.rejects(ocrPdfPages(await readFile(join(hostile, 'malformed-no-startxref.pdf')), [1], options), isIngestError('corrupt'));
    await assert.rejects(ocrPdfPages(scanned, [5], options), isIngestError('internal', /beyond the PDF's 4 pages/));
    await assert.rejects(ocrPdfPages(scanned, [0], options), isIngestError('internal', /not a 1-based page/));
    assert.equal((await ocrPdfPages(scanned, [], options)).size, 0);
  });
});
