// Offline OCR for scanned uploads: images (PNG/JPEG) and image-only PDF pages.
//
// Everything runs from npm packages, so `npm install && npm start` is a working OCR setup with no
// network at run time: tesseract.js with its WASM core (tesseract.js-core), English LSTM data
// from @tesseract.js-data/eng, PDF pages rasterised by pdf.js onto @napi-rs/canvas. Language data
// is read from local files only (see ./ocr/languages.ts); the core is `require`d from its package
// by tesseract.js's Node worker, which never consults `corePath`.
//
// Each call starts its own engine thread and terminates it before returning (why, in
// ./ocr/engine.ts). Pages are rendered at 300 DPI: on born-digital pages 200 DPI read as well and
// ~25 % faster, but Tesseract's own guidance has accuracy dropping below 10 pt print at 300 DPI,
// and forms, labels and footnotes are set in 8–9 pt. Pages that read poorly are read again upside
// down, since scanners and phones get orientation wrong often (details in ./ocr/engine.ts).

import { createRequire } from 'node:module';
import { startEngine, type OcrEngine, type Recognition } from './ocr/engine.ts';
import { resolveLanguages, stageLanguages, SYSTEM_TESSDATA_DIRS, type LanguageFile } from './ocr/languages.ts';
import { openPdf } from './ocr/pdf.ts';
import { decodeImage, loadCanvas, type GrayImage } from './ocr/raster.ts';
import { IngestError } from './types.ts';

export interface OcrOptions {
  /** Tesseract codes, e.g. ["eng"] or ["eng", "deu"]; each must be installed (see `ocrAvailable`). */
  languages: string[];
  /** Aborting terminates the engine at once; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Fraction (0..1) of the requested pages done. */
  onProgress?: (fraction: number) => void;
  /** tessdata folders searched after the npm packages; default: Debian's (SYSTEM_TESSDATA_DIRS). */
  dataDirs?: readonly string[];
}

/** `confidence` is Tesseract's mean word confidence, 0..1; text keeps Tesseract's line breaks, blank lines between paragraphs. */
export type OcrResult = Recognition;

async function withEngine<T>(languages: LanguageFile[], signal: AbortSignal | undefined, work: (engine: OcrEngine) => Promise<T>): Promise<T> {
  const staged = await stageLanguages(languages);
  try {
    const engine = await startEngine(staged, signal);
    try {
      return await work(engine);
    } finally {
      await engine.close();
    }
  } finally {
    await staged.dispose();
  }
}

/** Text of an image (PNG/JPEG bytes). */
export async function ocrImage(bytes: Uint8Array, options: OcrOptions): Promise<OcrResult> {
  options.signal?.throwIfAborted();
  const languages = resolveLanguages(options.languages, options.dataDirs ?? SYSTEM_TESSDATA_DIRS);
  const image = await decodeImage(bytes);
  const result = await withEngine(languages, options.signal, (engine) => engine.read(image));
  options.onProgress?.(1);
  return result;
}

function renderFailure(page: number, signal: AbortSignal | undefined) {
  return (error: unknown): never => {
    if (signal?.aborted || error instanceof IngestError) throw error;
    throw new IngestError('corrupt', `page ${page} could not be rendered for OCR`, { cause: error });
  };
}

/** Renders the given 1-based pages of a PDF and OCRs them; returns text per page. */
export async function ocrPdfPages(pdf: Uint8Array, pages: number[], options: OcrOptions): Promise<Map<number, OcrResult>> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const languages = resolveLanguages(options.languages, options.dataDirs ?? SYSTEM_TESSDATA_DIRS);
  const wanted = [...new Set(pages)];
  const invalid = wanted.find((page) => !Number.isInteger(page) || page < 1);
  if (invalid !== undefined) throw new IngestError('internal', `${invalid} is not a 1-based page number`);
  const results = new Map<number, OcrResult>();
  if (wanted.length === 0) return results;

  const doc = await openPdf(pdf, signal);
  try {
    const beyond = wanted.find((page) => page > doc.numPages);
    if (beyond !== undefined) throw new IngestError('internal', `page ${beyond} is beyond the PDF's ${doc.numPages} pages`);
    const render = (page: number): Promise<GrayImage> => {
      const rendering = doc.render(page, signal).catch(renderFailure(page, signal));
      // Awaited later; a failure before then must not count as an unhandled rejection.
      rendering.catch(() => undefined);
      return rendering;
    };
    // The next page renders on this thread while Tesseract reads the current one in its own, and
    // the first renders while the engine starts: on two cores that hides most of the rendering.
    let next = render(wanted[0] ?? 1);
    await withEngine(languages, signal, async (engine) => {
      for (const [index, page] of wanted.entries()) {
        const image = await next;
        const following = wanted[index + 1];
        if (following !== undefined) next = render(following);
        results.set(page, await engine.read(image));
        onProgress?.((index + 1) / wanted.length);
      }
    });
    return results;
  } finally {
    await doc.close();
  }
}

/**
 * Whether OCR can run for these languages, without starting the engine: for the server to report
 * readiness (and what to install) before any document needs it.
 */
export async function ocrAvailable(languages: string[], dataDirs: readonly string[] = SYSTEM_TESSDATA_DIRS): Promise<{ ok: boolean; reason?: string }> {
  try {
    resolveLanguages(languages, dataDirs);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  try {
    createRequire(import.meta.url).resolve('tesseract.js-core/package.json');
    await loadCanvas();
  } catch (error) {
    return { ok: false, reason: `an OCR component is missing or does not load on this platform (${(error as Error).message}); run npm install` };
  }
  return { ok: true };
}
