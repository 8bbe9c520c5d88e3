// What a parser hands to the rest of the pipeline: the document as an ordered list of
// structural blocks, each tied to the page it came from. Parsers know nothing of chunks, the
// store or the queue; they run isolated (see ./isolate.ts) and may only return this or fail with
// an IngestError.

export const blockKinds = ['heading', 'paragraph', 'list-item', 'table-row', 'code', 'caption'] as const;
export type BlockKind = (typeof blockKinds)[number];

export interface Block {
  kind: BlockKind;
  /**
   * Plain text, whitespace normalised (single spaces; newlines only inside `code`). Never empty.
   * A `table-row` is a Markdown table row ("| M6 | 10 Nm |", pipes in cells escaped as "\|"); a
   * table's first row is its header and carries the separator on a second line
   * ("| Size | Torque |\n| --- | --- |"), so a header row starts each table (see ./table.ts).
   */
  text: string;
  /** Heading level 1..6 for headings; nesting depth (0-based) for list items. */
  level?: number;
  /** 1-based page in the file, for paged formats (PDF, OCR'd images count as page 1). */
  page?: number;
}

export interface PageInfo {
  /** 1-based index in the file. */
  number: number;
  /** The printed page label when the PDF defines one (e.g. "iv", "A-3"); absent otherwise. */
  label?: string;
  /** Whether this page's text came from OCR. */
  ocr?: boolean;
}

export type DocumentFormat = 'pdf' | 'docx' | 'html' | 'markdown' | 'text' | 'xml' | 'image';

export interface ParsedDocument {
  format: DocumentFormat;
  /** The detected MIME type (decided by content, never by the file name's extension alone). */
  mimeType: string;
  title?: string;
  /** Paged formats only, in order. */
  pages?: PageInfo[];
  blocks: Block[];
  /** For text formats: the detected source encoding (e.g. "utf-8", "utf-16le", "windows-1252", "shift_jis"). */
  encoding?: string;
  /** Things a reader should know (e.g. "3 pages had no text and were OCR'd", "embedded images skipped"). */
  warnings: string[];
}

/** Stable failure codes shown to users and kept on the document record. */
export const ingestErrorCodes = [
  'encrypted',
  'unsupported_type',
  'corrupt',
  'too_large',
  'too_many_pages',
  'no_text',
  'timeout',
  'out_of_memory',
  'unsafe',
  /** The malware scanner found a signature; the original is quarantined, never parsed. */
  'infected',
  /** Beyond what the malware scanner accepts (clamd's StreamMaxLength): not parsed unscanned. */
  'too_large_to_scan',
  /** The malware scanner answered with an error, attempt after attempt. */
  'scan_failed',
  'internal',
] as const;
export type IngestErrorCode = (typeof ingestErrorCodes)[number];

export class IngestError extends Error {
  readonly code: IngestErrorCode;
  /** Transient failures (e.g. the OCR engine could not start) may be retried; a bad file never is. */
  readonly retryable: boolean;
  constructor(code: IngestErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'IngestError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * What to parse: the file's bytes, or its size and a way to stream them (the blob store's), so
 * that text can be read a piece at a time and a file is never held whole without need.
 */
export type ParseInput = { filename: string } & ({ bytes: Uint8Array } | { size: number; stream: () => Promise<ByteStream> });

/** A file's bytes in order; strings only as Node's readable streams type them (never without an encoding set). */
export type ByteStream = AsyncIterable<Uint8Array | string>;

export interface ParseLimits {
  /** Largest file accepted at all. */
  maxBytes: number;
  maxPages: number;
  /** Extracted text beyond this fails with `too_large` (a 2 GB text bomb must not fill the store). */
  maxTextChars: number;
  /** Largest total uncompressed size of a zip container (DOCX) and largest single XML part. */
  maxUncompressedBytes: number;
  /** Wall-clock limit for the whole parse including OCR. */
  timeoutMs: number;
  /** Heap limit of the isolated parser (worker `resourceLimits.maxOldGenerationSizeMb`). */
  maxMemoryMb: number;
  /** OCR for image-only pages and images. */
  ocr: boolean;
  /** Tesseract language codes, e.g. ["eng"]. */
  ocrLanguages: string[];
}

export type ParseStage = 'parsing' | 'ocr';

/** Progress from inside a parse: which stage, and the fraction (0..1) of that stage done. */
export type ParseProgress = (stage: ParseStage, fraction: number) => void;
