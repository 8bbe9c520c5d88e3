// Rasterises PDF pages for OCR with pdf.js (legacy Node build) onto @napi-rs/canvas, which pdf.js
// itself picks up in Node for its scratch canvases. pdf.js 6 no longer evaluates PDF functions
// with `eval`, so the old `isEvalSupported: false` hardening has nothing left to switch off.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { IngestError } from '../types.ts';
import { raceAbort } from './abort.ts';
import { fitScale, grayFromRgba, loadCanvas, MAX_OCR_PIXELS, MAX_SOURCE_PIXELS, OCR_DPI, type GrayImage } from './raster.ts';

export interface PdfPages {
  numPages: number;
  /** The 1-based page, rendered at OCR_DPI (less for pages too large for MAX_OCR_PIXELS), in grey. */
  render(page: number, signal: AbortSignal | undefined): Promise<GrayImage>;
  close(): Promise<void>;
}

/** pdf.js's own fonts, CMaps, colour profiles and image decoders (JBIG2 and JPEG 2000 are common in scans), read from disk. */
function assetUrls(): Record<'standardFontDataUrl' | 'cMapUrl' | 'iccUrl' | 'wasmUrl', string> {
  const root = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  const folder = (name: string): string => join(root, name) + '/';
  return { standardFontDataUrl: folder('standard_fonts'), cMapUrl: folder('cmaps'), iccUrl: folder('iccs'), wasmUrl: folder('wasm') };
}

export async function openPdf(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<PdfPages> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const { createCanvas } = await loadCanvas();
  const task = pdfjs.getDocument({
    // pdf.js takes ownership of the buffer it is given (and refuses Buffers): the caller keeps theirs.
    data: new Uint8Array(bytes),
    ...assetUrls(),
    verbosity: pdfjs.VerbosityLevel.ERRORS,
    // Images beyond this are skipped rather than decoded (a few KB of Flate can declare gigapixels).
    maxImageSize: MAX_SOURCE_PIXELS,
  });
  let doc: Awaited<typeof task.promise>;
  try {
    doc = await raceAbort(task.promise, signal);
  } catch (error) {
    await task.destroy();
    if (signal?.aborted) throw error;
    if (error instanceof pdfjs.PasswordException) throw new IngestError('encrypted', 'the PDF is password-protected', { cause: error });
    throw new IngestError('corrupt', `the PDF could not be opened for OCR: ${(error as Error).message}`, { cause: error });
  }

  return {
    numPages: doc.numPages,
    async render(pageNumber, pageSignal) {
      const page = await raceAbort(doc.getPage(pageNumber), pageSignal);
      const canvas = createCanvas(1, 1);
      try {
        const unscaled = page.getViewport({ scale: 1 });
        const scale = fitScale(unscaled.width, unscaled.height, OCR_DPI / 72, MAX_OCR_PIXELS);
        const viewport = page.getViewport({ scale });
        canvas.width = Math.ceil(viewport.width);
        canvas.height = Math.ceil(viewport.height);
        const context = canvas.getContext('2d');
        const rendering = page.render({
          canvas: canvas as unknown as HTMLCanvasElement,
          canvasContext: context as unknown as CanvasRenderingContext2D,
          viewport,
          background: 'white',
        });
        const cancel = (): void => rendering.cancel();
        pageSignal?.addEventListener('abort', cancel, { once: true });
        try {
          await raceAbort(rendering.promise, pageSignal);
        } finally {
          pageSignal?.removeEventListener('abort', cancel);
        }
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        return { ...grayFromRgba(pixels, canvas.width, canvas.height), dpi: Math.round(scale * 72) };
      } finally {
        // Release the page's decoded images and the canvas's pixels now rather than at the next GC.
        page.cleanup();
        canvas.width = 0;
        canvas.height = 0;
      }
    },
    close: () => task.destroy(),
  };
}
