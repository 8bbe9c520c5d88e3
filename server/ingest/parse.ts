// In-thread parsing: sniff the format, run its parser, and turn every failure into an
// IngestError. Production code calls this only inside the isolate's worker (./isolate.ts);
// tests call it directly. Format parsers are imported lazily so a worker parsing HTML never
// loads pdf.js.

import { ParseRun, type OcrEngine, type ParseOptions } from './run.ts';
import { sniff } from './sniff.ts';
import { IngestError, type ParsedDocument, type ParseLimits } from './types.ts';

export type { OcrEngine, ParseOptions } from './run.ts';

export interface ParseInput {
  bytes: Uint8Array;
  filename: string;
}

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
  return { pages: [{ number: 1, ocr: true }] };
}

async function extract(format: ParsedDocument['format'], bytes: Uint8Array, run: ParseRun): Promise<Extracted> {
  switch (format) {
    case 'pdf':
      return (await import('./formats/pdf.ts')).parsePdf(bytes, run);
    case 'docx':
      return (await import('./formats/docx.ts')).parseDocx(bytes, run);
    case 'html':
      return (await import('./formats/html.ts')).parseHtml(bytes, run);
    case 'markdown':
      return (await import('./formats/markdown.ts')).parseMarkdown(bytes, run);
    case 'text':
      return (await import('./formats/text.ts')).parseText(bytes, run);
    case 'image':
      return ocrImage(bytes, run, run.ocr);
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

/** The `too_large` error for input over `maxBytes`, checked before any parsing starts. */
export function oversized(bytes: Uint8Array, limits: ParseLimits): IngestError | undefined {
  if (bytes.length <= limits.maxBytes) return undefined;
  return new IngestError('too_large', `The file is ${bytes.length.toLocaleString('en')} bytes; the limit is ${limits.maxBytes.toLocaleString('en')}`);
}

export async function parseDocument(input: ParseInput, limits: ParseLimits, options: ParseOptions = {}): Promise<ParsedDocument> {
  const tooLarge = oversized(input.bytes, limits);
  if (tooLarge) throw tooLarge;
  const run = new ParseRun(limits, options);
  try {
    const { format, mimeType } = sniff(input.bytes, input.filename);
    run.progress('parsing', 0);
    const extracted = await extract(format, input.bytes, run);
    if (run.blocks.length === 0) throw new IngestError('no_text', 'No text was found in the document');
    if (run.stage === 'parsing') run.progress('parsing', 1);
    return { format, mimeType, ...extracted, blocks: run.blocks, warnings: run.warnings };
  } catch (error) {
    throw toIngestError(error);
  }
}
