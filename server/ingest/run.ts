// The state one parse carries through a format parser: where blocks go, how much text has been
// produced, the deadline, cancellation and progress. Formats push blocks through `add` so every
// limit is enforced in one place instead of once per parser.

import type * as Ocr from './ocr.ts';
import { repairMojibake } from './mojibake.ts';
import { IngestError, type Block, type BlockKind, type ParseLimits, type ParseProgress, type ParseStage } from './types.ts';

export type { OcrResult } from './ocr.ts';
/** The OCR entry points a parse may use (./ocr.ts in production; injected, so the worker decides). */
export type OcrEngine = Pick<typeof Ocr, 'ocrImage' | 'ocrPdfPages'>;

export interface ParseOptions {
  onProgress?: ParseProgress;
  signal?: AbortSignal;
  /** Absent when OCR is not installed; `limits.ocr` decides whether it is used. */
  ocr?: OcrEngine;
  /** Why OCR is absent although enabled (e.g. a language not installed), shown in the failure. */
  ocrUnavailableReason?: string;
  /** Milliseconds clock for the cooperative deadline (the isolate enforces the hard one). */
  now?: () => number;
}

// Characters that carry no text: controls (tab/newlines are whitespace and handled separately),
// soft hyphens, zero-width marks and the BOM.
// oxlint-disable-next-line no-control-regex -- removing control characters is the purpose
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f\u00ad\u200b-\u200d\u2060\ufeff]/g;

/** Single spaces, no invisible characters, trimmed. */
export function normalizeSpace(text: string): string {
  return text.replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
}

/** Each line normalised, blank lines dropped: a Markdown header row keeps its separator line (see ./table.ts). */
function normalizeLines(text: string): string {
  return text.split('\n').map(normalizeSpace).filter(Boolean).join('\n');
}

/** Code keeps its line structure: only trailing spaces, invisible characters and blank edges go. */
export function normalizeCode(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(INVISIBLE, '')
    .replace(/[ \t\f\v]+$/gm, '')
    .replace(/^\n+|\n+$/g, '');
}

export class ParseRun {
  readonly limits: ParseLimits;
  readonly signal: AbortSignal | undefined;
  readonly ocr: OcrEngine | undefined;
  readonly #ocrUnavailableReason: string | undefined;
  readonly blocks: Block[] = [];
  readonly warnings: string[] = [];
  #chars = 0;
  /** Blocks whose double-encoded UTF-8 was repaired. */
  mojibakeRepaired = 0;
  readonly #now: () => number;
  readonly #deadline: number;
  readonly #onProgress: ParseProgress | undefined;

  constructor(limits: ParseLimits, options: ParseOptions = {}) {
    this.limits = limits;
    this.signal = options.signal;
    this.ocr = options.ocr;
    this.#ocrUnavailableReason = options.ocrUnavailableReason;
    this.#now = options.now ?? performance.now.bind(performance);
    this.#deadline = this.#now() + limits.timeoutMs;
    this.#onProgress = options.onProgress;
  }

  /** Throws when the parse was cancelled or ran past its deadline; call between units of work. */
  checkpoint(): void {
    this.signal?.throwIfAborted();
    if (this.#now() > this.#deadline) {
      throw new IngestError('timeout', `Parsing took longer than ${this.limits.timeoutMs} ms`);
    }
  }

  /** The stage last reported, so the end of a parse does not jump back from OCR to parsing. */
  stage: ParseStage = 'parsing';

  progress(stage: ParseStage, fraction: number): void {
    this.stage = stage;
    this.#onProgress?.(stage, Math.min(1, Math.max(0, fraction)));
  }

  /** Why OCR cannot be used in this parse, or undefined when it can. */
  ocrUnavailable(): string | undefined {
    if (!this.limits.ocr) return 'OCR is turned off';
    if (!this.ocr) return `OCR is not available on this server${this.#ocrUnavailableReason ? ` (${this.#ocrUnavailableReason})` : ''}`;
    return undefined;
  }

  /** Appends a block unless its text is empty after normalisation; enforces `maxTextChars`. */
  add(kind: BlockKind, text: string, extra: { level?: number; page?: number } = {}): void {
    let clean = kind === 'code' ? normalizeCode(text) : kind === 'table-row' ? normalizeLines(text) : normalizeSpace(text);
    if (!clean) return;
    const repaired = repairMojibake(clean);
    if (repaired !== null) {
      clean = repaired;
      this.mojibakeRepaired++;
    }
    this.#chars += clean.length;
    if (this.#chars > this.limits.maxTextChars) {
      throw new IngestError(
        'too_large',
        `The document contains more than ${this.limits.maxTextChars.toLocaleString('en')} characters of text`,
      );
    }
    const block: Block = { kind, text: clean };
    if (extra.level !== undefined) block.level = extra.level;
    if (extra.page !== undefined) block.page = extra.page;
    this.blocks.push(block);
    if (this.blocks.length % 256 === 0) this.checkpoint();
  }

  /** Adds plain text (e.g. OCR output or a text file) as paragraphs split on blank lines. */
  addParagraphs(text: string, page?: number): void {
    for (const para of text.split(/\n[ \t]*\n/)) this.add('paragraph', para, page === undefined ? {} : { page });
  }
}

/**
 * Depth-first traversal with an explicit stack, so hostile nesting depth cannot overflow the call
 * stack. `enter` returning false skips the node's subtree (and its `leave`).
 */
export function traverse<T>(
  root: T,
  children: (node: T) => readonly T[] | undefined,
  enter: (node: T) => boolean,
  leave: (node: T) => void,
): void {
  const stack: Array<{ node: T; leaving: boolean }> = [{ node: root, leaving: false }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    if (frame.leaving) {
      leave(frame.node);
      continue;
    }
    if (!enter(frame.node)) continue;
    stack.push({ node: frame.node, leaving: true });
    const kids = children(frame.node) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i] as T, leaving: false });
  }
}
