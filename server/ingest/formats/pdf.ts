// PDF via pdf.js (legacy Node build). Text items are assembled into lines, lines into
// paragraphs by vertical gaps and font size, and lines set clearly larger than the body text
// become headings. Running headers/footers and bare page numbers are dropped so they do not
// pollute every chunk. Pages without a text layer go to OCR when it is enabled.
//
// Hardening: pdf.js 6 has no eval code path left (its `isEvalSupported` option is gone), fonts are
// never turned into font faces or looked up on the system, and CMaps/standard fonts/wasm are read
// from the package's own folders on disk, so nothing is ever fetched from the network.

import { createRequire } from 'node:module';
import path from 'node:path';
import { lowConfidenceNote } from '../ocr-confidence.ts';
import type { OcrResult, ParseRun } from '../run.ts';
import { IngestError, type PageInfo } from '../types.ts';

interface Line {
  text: string;
  size: number;
  x: number;
  y: number;
  /** Rotated text (margin stamps, axis labels) is kept but never taken for a heading. */
  rotated?: boolean;
}

interface PageText {
  number: number;
  label?: string;
  /** In reading order, running headers/footers removed. */
  lines: Line[];
  /** Non-space characters on the page's text layer. */
  chars: number;
  /** pdf.js could not read the page's content; it is skipped (and not sent to OCR). */
  broken?: boolean;
  /** For a page without text: whether it paints any image (a scan); a blank one is not OCR'd. */
  images?: boolean;
  ocr?: OcrResult;
}

interface RawItem {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

/** Below this many non-space characters a page counts as having no text layer. */
const MIN_PAGE_CHARS = 16;

function packageAssets(): Record<'cMapUrl' | 'standardFontDataUrl' | 'wasmUrl' | 'iccUrl', string> {
  const root = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  // pdf.js insists on a trailing "/" and reads these with fs in Node.
  const dir = (name: string) => `${path.join(root, name)}/`;
  return { cMapUrl: dir('cmaps'), standardFontDataUrl: dir('standard_fonts'), wasmUrl: dir('wasm'), iccUrl: dir('iccs') };
}

/** Joins positioned text items into lines in content-stream order (which is reading order for almost all producers). */
export function itemsToLines(items: readonly RawItem[]): Line[] {
  const lines: Line[] = [];
  let current: (Line & { endX: number; weight: number }) | undefined;
  const end = () => {
    if (current?.text.trim()) {
      const { text, size, x, y, rotated } = current;
      lines.push({ text: text.trim(), size, x, y, ...(rotated ? { rotated } : {}) });
    }
    current = undefined;
  };
  for (const item of items) {
    const [a = 0, b = 0, c = 0, d = 0, x = 0, y = 0] = item.transform;
    const size = Math.hypot(c, d) || item.height;
    if (item.str) {
      const sameLine =
        current && Math.abs(y - current.y) <= Math.max(size, current.size) * 0.5 && x >= current.endX - Math.max(size, current.size) * 2;
      if (!sameLine) end();
      if (!current) {
        current = { text: item.str, size, x, y, endX: x + item.width, weight: item.str.length, rotated: Math.abs(b) > Math.abs(a) * 0.5 };
      } else {
        const gap = x - current.endX;
        if (gap > size * 0.12 && !/\s$/.test(current.text) && !/^\s/.test(item.str)) current.text += ' ';
        current.text += item.str;
        current.endX = x + item.width;
        // The line's size is that of its longest run, so superscripts and symbols do not count.
        if (item.str.trim().length > current.weight) {
          current.weight = item.str.trim().length;
          current.size = size;
          current.y = y;
        }
      }
    }
    if (item.hasEOL) end();
  }
  end();
  return lines;
}

// Page numbers (arabic or roman) vary between otherwise identical running headers.
const norm = (text: string) => text.toLowerCase().replace(/\d+|\b[ivxlcdm]+\b/g, '#').replace(/\s+/g, ' ').trim();
const PAGE_NUMBER = /^(page\s*)?(\d{1,4}|[ivxlcdm]{1,7})(\s*(of|\/)\s*\d{1,4})?$/i;

/** Drops running headers/footers: margin lines repeated on many pages, and bare page numbers. */
function dropMarginals(pages: PageText[], boxes: Array<readonly number[]>): void {
  const inMargin = (line: Line, page: number) => {
    const [, bottom = 0, , top = 792] = boxes[page] ?? [];
    const h = top - bottom;
    return line.y > bottom + h * 0.9 || line.y < bottom + h * 0.1;
  };
  const seen = new Map<string, number>();
  pages.forEach((page, i) => {
    for (const key of new Set(page.lines.filter((l) => inMargin(l, i)).map((l) => norm(l.text)))) {
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  });
  const threshold = Math.max(3, pages.length * 0.4);
  pages.forEach((page, i) => {
    page.lines = page.lines.filter(
      (l) => !inMargin(l, i) || !(PAGE_NUMBER.test(l.text.trim()) || (seen.get(norm(l.text)) ?? 0) >= threshold),
    );
    page.chars = countChars(page.lines);
  });
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const were = (n: number) => (n === 1 ? 'was' : 'were');
const roundSize = (size: number) => Math.round(size * 2) / 2;

/** Heading levels by font size: the body size is the one carrying most characters. */
function headingLevels(pages: PageText[]): Map<number, number> {
  const weight = new Map<number, number>();
  for (const page of pages) {
    for (const l of page.lines) if (!l.rotated) weight.set(roundSize(l.size), (weight.get(roundSize(l.size)) ?? 0) + l.text.length);
  }
  let body = 0;
  let best = -1;
  for (const [size, w] of weight) if (w > best) [body, best] = [size, w];
  const larger = [...weight.keys()].filter((size) => size >= body * 1.08 && size >= body + 0.9).sort((a, b) => b - a);
  return new Map(larger.map((size, i) => [size, Math.min(6, i + 1)]));
}

const BULLET = /^([•●▪■◦‣–-]|\d{1,2}[.)])\s+/;

function emitPage(page: PageText, levels: Map<number, number>, run: ParseRun): void {
  const opts = { page: page.number };
  if (page.ocr) {
    run.addParagraphs(page.ocr.text, page.number);
    return;
  }
  let para: { text: string; kind: 'heading' | 'paragraph' | 'list-item'; last: Line; level?: number } | undefined;
  const flush = () => {
    // Large type running past a couple of lines is a pull quote or cover blurb, not a heading.
    if (para?.kind === 'heading' && para.text.length > 200) para = { ...para, kind: 'paragraph', level: undefined };
    if (para) run.add(para.kind, para.text, para.level === undefined ? opts : { ...opts, level: para.level });
    para = undefined;
  };
  for (const line of page.lines) {
    const level = !line.rotated && /\p{L}.*\p{L}/u.test(line.text) ? levels.get(roundSize(line.size)) : undefined;
    const bullet = BULLET.exec(line.text);
    if (para && continues(para.last, line) && level === (para.kind === 'heading' ? para.level : undefined) && !bullet) {
      para.text += /\p{L}-$/u.test(para.text) ? line.text : ` ${line.text}`;
      para.last = line;
      continue;
    }
    flush();
    if (level !== undefined) para = { text: line.text, kind: 'heading', last: line, level };
    else if (bullet) para = { text: line.text.slice(bullet[0].length), kind: 'list-item', last: line, level: 0 };
    else para = { text: line.text, kind: 'paragraph', last: line };
  }
  flush();
}

/** Whether `line` continues the paragraph whose last line is `prev`: same size, next baseline down, no big gap. */
function continues(prev: Line, line: Line): boolean {
  const size = Math.max(prev.size, line.size);
  if (Math.abs(prev.size - line.size) > Math.max(0.5, size * 0.05)) return false;
  // Table-of-contents entries end in dot leaders and a page number.
  if (/(\.\s?){4,}\s*\S{1,6}$/.test(prev.text)) return false;
  const drop = prev.y - line.y;
  return drop > 0 && drop <= size * 1.6;
}

function cleanTitle(title: unknown): string | undefined {
  if (typeof title !== 'string') return undefined;
  const clean = title
    .replace(/^microsoft (word|powerpoint) - /i, '')
    .replace(/\s+/g, ' ')
    .replace(/^[\s\p{P}]+|[\s,;:-]+$/gu, '');
  return clean && !/^untitled/i.test(clean) ? clean : undefined;
}

function openError(error: unknown): IngestError {
  const name = (error as { name?: string }).name;
  const message = (error as { message?: string }).message ?? String(error);
  if (name === 'PasswordException') {
    return new IngestError('encrypted', 'This PDF is password-protected; remove the password and upload it again', { cause: error });
  }
  return new IngestError('corrupt', `The PDF could not be read: ${message}`, { cause: error });
}

export async function parsePdf(bytes: Uint8Array, run: ParseRun): Promise<{ title?: string; pages: PageInfo[] }> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const task = pdfjs.getDocument({
    // pdf.js may transfer (detach) what it is given; OCR needs the original bytes afterwards.
    data: new Uint8Array(bytes),
    ...packageAssets(),
    disableFontFace: true,
    useSystemFonts: false,
    enableXfa: false,
    verbosity: 0,
  });
  try {
    const doc = await task.promise.catch((error: unknown) => {
      throw openError(error);
    });
    if (doc.numPages > run.limits.maxPages) {
      throw new IngestError('too_many_pages', `The PDF has ${doc.numPages} pages; the limit is ${run.limits.maxPages}`);
    }
    const labels = await doc.getPageLabels().catch(() => null);
    const info = await doc.getMetadata().catch(() => undefined);
    const title = cleanTitle(info?.metadata?.get('dc:title')) ?? cleanTitle((info?.info as { Title?: unknown } | undefined)?.Title);
    const pages: PageText[] = [];
    const boxes: Array<readonly number[]> = [];
    for (let number = 1; number <= doc.numPages; number++) {
      run.checkpoint();
      const label = labels?.[number - 1]?.trim();
      const text: PageText = { number, lines: [], chars: 0, ...(label ? { label } : {}) };
      try {
        const page = await doc.getPage(number);
        const content = await page.getTextContent();
        text.lines = itemsToLines(content.items.filter((item): item is RawItem & typeof item => 'str' in item));
        if (countChars(text.lines) < MIN_PAGE_CHARS) text.images = await paintsImages(page, imageOps(pdfjs.OPS));
        boxes.push(page.view);
        page.cleanup();
      } catch {
        // One damaged page should not cost the reader the rest of the document.
        text.broken = true;
        boxes.push([]);
      }
      pages.push(text);
      run.progress('parsing', number / doc.numPages);
    }
    const broken = pages.filter((p) => p.broken).map((p) => p.number);
    if (broken.length === pages.length) throw new IngestError('corrupt', 'None of the PDF’s pages could be read');
    if (broken.length > 0) run.warnings.push(`${plural(broken.length, 'page')} could not be read and ${were(broken.length)} skipped: ${broken.join(', ')}`);
    dropMarginals(pages, boxes);
    const ocrd = await ocrEmptyPages(bytes, pages, run);
    if (pages.every((p) => p.chars === 0 && !p.ocr?.text.trim())) throw noText(run, pages.length, pages.every((p) => p.broken || p.images === false));
    const levels = headingLevels(pages.filter((p) => !p.ocr));
    for (const page of pages) emitPage(page, levels, run);
    if (run.blocks.length === 0) throw noText(run, pages.length);
    const infos = pages.map((p): PageInfo => ({ number: p.number, ...(p.label ? { label: p.label } : {}), ...(p.ocr ? { ocr: true } : {}) }));
    if (ocrd > 0) run.warnings.push(`${plural(ocrd, 'page')} had no text layer and ${were(ocrd)} OCR'd`);
    // Without metadata, the first top-level heading near the start names the document.
    const heading = run.blocks.find((b) => b.kind === 'heading' && b.level === 1 && (b.page ?? 0) <= 2)?.text;
    const name = title ?? heading;
    return name ? { title: name, pages: infos } : { pages: infos };
  } finally {
    await task.destroy();
  }
}

function noText(run: ParseRun, pages: number, blank = false): IngestError {
  if (blank) return new IngestError('no_text', `The PDF's ${plural(pages, 'page')} ${pages === 1 ? 'is' : 'are'} blank: no text and no images`);
  const why = run.ocrUnavailable();
  return new IngestError(
    'no_text',
    why
      ? `The PDF has no text layer (it looks scanned) and ${why}`
      : `No text was found in the PDF's ${plural(pages, 'page')}, even with OCR`,
  );
}

const countChars = (lines: readonly Line[]) => lines.reduce((sum, l) => sum + l.text.replace(/\s/g, '').length, 0);

/** pdf.js's operator codes that paint an image. */
const imageOps = (ops: Record<string, number>) => new Set(Object.entries(ops).filter(([name]) => /^paint.*Image/.test(name)).map(([, code]) => code));

/** Whether a page paints an image: only then can OCR find text on a page without a text layer. */
async function paintsImages(page: { getOperatorList(): Promise<{ fnArray: number[] }> }, ops: ReadonlySet<number>): Promise<boolean> {
  try {
    return (await page.getOperatorList()).fnArray.some((op) => ops.has(op));
  } catch {
    // Undecided: let OCR look.
    return true;
  }
}

/** OCRs the pages without a text layer that show an image; returns how many were OCR'd. */
async function ocrEmptyPages(bytes: Uint8Array, pages: PageText[], run: ParseRun): Promise<number> {
  const empty = pages.filter((p) => p.chars < MIN_PAGE_CHARS && !p.broken && p.images !== false).map((p) => p.number);
  if (empty.length === 0) return 0;
  const why = run.ocrUnavailable();
  const engine = run.ocr;
  if (why !== undefined || !engine) {
    if (empty.length < pages.length) {
      run.warnings.push(`${plural(empty.length, 'page')} had no text layer and ${were(empty.length)} skipped: ${why}`);
    }
    return 0;
  }
  run.progress('ocr', 0);
  let results: Map<number, OcrResult>;
  try {
    results = await engine.ocrPdfPages(bytes, empty, {
      languages: run.limits.ocrLanguages,
      ...(run.signal ? { signal: run.signal } : {}),
      onProgress: (fraction) => run.progress('ocr', fraction),
    });
  } catch (error) {
    if (error instanceof IngestError || run.signal?.aborted) throw error;
    if (empty.length < pages.length) {
      run.warnings.push(`OCR failed (${(error as Error).message}); ${plural(empty.length, 'page')} without a text layer skipped`);
      return 0;
    }
    throw new IngestError('internal', `OCR failed: ${(error as Error).message}`, { retryable: true, cause: error });
  }
  run.progress('ocr', 1);
  const read: OcrResult[] = [];
  for (const page of pages) {
    const result = results.get(page.number);
    if (result && result.text.trim()) {
      page.ocr = result;
      read.push(result);
    }
  }
  const unsure = lowConfidenceNote(read, run.limits.ocrLanguages);
  if (unsure) run.warnings.push(unsure);
  return read.length;
}

