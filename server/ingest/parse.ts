// In-thread parsing: sniff the format, run its parser, and turn every failure into an
// IngestError. Production code calls this only inside the isolate's worker (./isolate.ts);
// tests call it directly. Format parsers are imported lazily so a worker parsing HTML never
// loads pdf.js.

import { ParseRun, type OcrEngine, type ParseOptions } from './run.ts';
import { cleanUp } from './clean-up.ts';
import { lowConfidenceNote } from './ocr-confidence.ts';
import { sniff } from './sniff.ts';
import { ByteSource, HEAD_BYTES } from './source.ts';
import { IngestError, type ParsedDocument, type ParseInput, type ParseLimits } from './types.ts';

export type { OcrEngine, ParseOptions } from './run.ts';
export type { ParseInput } from './types.ts';

type Extracted = Pick<ParsedDocument, 'title' | 'pages' | 'encoding'>;

async function ocrImage(bytes: Uint8Array, run: ParseRun, engine: OcrEngine | undefined): Promise<Extracted> {
  const why = run.ocrUnavailable();
  if (why !== undefined || !engine) throw new IngestError('no_text', `Images can only be read with OCR, and ${why}`);
  run.progress('ocr', 0);
  const result = await engine.ocrImage(bytes, {
    languages: run.limits.ocrLanguages,
    ...(run.signal ? { signal: run.signal } : {}),
    onProgress: (fraction) => run.progress('ocr', fraction),
  });
  run.progress('ocr', 1);
  run.addParagraphs(result.text, 1);
  const unsure = lowConfidenceNote([result], run.limits.ocrLanguages);
  if (unsure) run.warnings.push(unsure);
  return { pages: [{ number: 1, ocr: true }] };
}

/** Text formats read the source a piece at a time; the others need the file whole. */
async function extract(format: ParsedDocument['format'], source: ByteSource, run: ParseRun): Promise<Extracted> {
  switch (format) {
    case 'pdf':
      return (await import('./formats/pdf.ts')).parsePdf(await source.all(), run);
    case 'docx':
      return (await import('./formats/docx.ts')).parseDocx(await source.all(), run);
    case 'html':
      return (await import('./formats/html.ts')).parseHtml(source, run);
    case 'markdown':
      return (await import('./formats/markdown.ts')).parseMarkdown(source, run);
    case 'text':
      return (await import('./formats/text.ts')).parseText(source, run);
    case 'xml':
      return (await import('./formats/xml-document.ts')).parseXmlDocument(await source.all(), run);
    case 'image':
      return ocrImage(await source.all(), run, run.ocr);
  }
}

/** Maps what a parser library may throw onto the stable failure codes. */
export function toIngestError(error: unknown): unknown {
  if (error instanceof IngestError) return error;
  if ((error as { name?: string }).name === 'AbortError') return error;
  const message = (error as { message?: string }).message ?? String(error);
  if (error instanceof RangeError && /call stack/i.test(message)) {
    return new IngestError('unsafe', 'The document is nested too deeply to parse safely', { cause: error });
  }
  if (error instanceof RangeError && /(string length|allocation failed|array length)/i.test(message)) {
    return new IngestError('too_large', 'The document expands to more data than can be held in memory', { cause: error });
  }
  return new IngestError('internal', `The parser failed unexpectedly: ${message}`, { cause: error });
}

/** The `too_large` error for a file of `size` bytes over `maxBytes`, checked before any parsing starts. */
export function oversized(size: number, limits: ParseLimits): IngestError | undefined {
  if (size <= limits.maxBytes) return undefined;
  return new IngestError('too_large', `The file is ${size.toLocaleString('en')} bytes; the limit is ${limits.maxBytes.toLocaleString('en')}`);
}

// A ZIP container's directory is at its end: telling a DOCX from other ZIPs needs the whole file.
const ZIP = [[0x50, 0x4b, 0x03, 0x04], [0x50, 0x4b, 0x05, 0x06]];
const isZip = (head: Uint8Array) => ZIP.some((signature) => signature.every((byte, i) => head[i] === byte));

export async function parseDocument(input: ParseInput, limits: ParseLimits, options: ParseOptions = {}): Promise<ParsedDocument> {
  const source = new ByteSource(input);
  const tooLarge = oversized(source.size, limits);
  if (tooLarge) throw tooLarge;
  const run = new ParseRun(limits, options);
  try {
    const head = await source.head(HEAD_BYTES);
    const { format, mimeType } = sniff(isZip(head) ? await source.all() : head, input.filename);
    run.progress('parsing', 0);
    const extracted = await extract(format, source, run);
    if (run.blocks.length === 0) throw new IngestError('no_text', 'No text was found in the document');
    cleanUp(run);
    if (run.stage === 'parsing') run.progress('parsing', 1);
    return { format, mimeType, ...extracted, blocks: run.blocks, warnings: run.warnings };
  } catch (error) {
    throw toIngestError(error);
  }
}
