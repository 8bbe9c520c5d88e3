import type { Chunk, ChunkPage } from '../chunks/chunk.ts';
import { isHeaderRow } from './table.ts';
import type { Block, ParsedDocument } from './types.ts';

export type { Chunk } from '../chunks/chunk.ts';

export interface ChunkOptions {
  /** Target upper bound per chunk, in tokens of `countTokens`. */
  chunkSize: number;
  /** Tokens of the previous chunk's tail repeated at the start of the next one in the same section. */
  chunkOverlap: number;
  countTokens: (text: string) => number;
}

export interface PositionedBlock extends Block {
  start: number;
  end: number;
}

export const BLOCK_SEPARATOR = '\n\n';

/** Lays blocks end to end (separated by a blank line) and records where each one sits. */
export function positionBlocks(blocks: readonly Block[]): { text: string; blocks: PositionedBlock[] } {
  const positioned: PositionedBlock[] = [];
  let offset = 0;
  for (const block of blocks) {
    if (positioned.length > 0) offset += BLOCK_SEPARATOR.length;
    positioned.push({ ...block, start: offset, end: offset + block.text.length });
    offset += block.text.length;
  }
  return { text: positioned.map((b) => b.text).join(BLOCK_SEPARATOR), blocks: positioned };
}

/** Token-counting fallback when no model tokenizer is installed: ~4 characters per token for Latin text. */
export function approximateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A span of document text that must not be split further than this (a block, or a piece of an oversized one). */
interface Piece {
  text: string;
  start: number;
  end: number;
  page: number | null;
  tokens: number;
  /** Heading level for headings, else null. */
  level: number | null;
  /** For a table row after its table's header row: that header row (with its separator line). */
  header: Piece | null;
}

const SENTENCE_END = /(?<=[.!?。！？])\s+(?=\S)/gu;

const SPACE = /\s/gu;

/**
 * The end of the first word at which `text` from `from` holds more than `budget` tokens, or
 * undefined when all of it up to `next` fits. Only a window is counted, doubled until it is over
 * budget, so cutting a sentence of a million characters takes time linear in its length, not
 * quadratic (it once blocked the event loop for seconds per such paragraph).
 */
function overBudget(text: string, from: number, next: number, budget: number, count: (t: string) => number): number | undefined {
  for (let width = Math.max(256, budget * 8); ; width *= 2) {
    SPACE.lastIndex = Math.min(next, from + width);
    const space = SPACE.exec(text)?.index ?? text.length;
    const to = Math.min(next, space);
    if (count(text.slice(from, to)) > budget) return to;
    if (to >= next) return undefined;
  }
}

/** Splits text that exceeds the budget at sentence ends, then at spaces, keeping offsets exact. */
function splitOversized(text: string, start: number, budget: number, count: (t: string) => number): Array<{ text: string; start: number; end: number }> {
  const boundaries = [0];
  for (const m of text.matchAll(SENTENCE_END)) boundaries.push(m.index + m[0].length);
  boundaries.push(text.length);
  const out: Array<{ text: string; start: number; end: number }> = [];
  let from = 0;
  const emit = (to: number) => {
    const raw = text.slice(from, to);
    const trimmed = raw.trimEnd();
    if (trimmed) out.push({ text: trimmed, start: start + from, end: start + from + trimmed.length });
    from = to;
  };
  for (let i = 1; i < boundaries.length; i++) {
    const next = boundaries[i]!;
    if (count(text.slice(from, next)) <= budget) continue;
    const prev = boundaries[i - 1]!;
    if (prev > from) emit(prev);
    // A single sentence over budget: cut after the last word that still fits (binary search
    // over word ends, since token counts are not additive across a cut for every tokenizer).
    for (let to = overBudget(text, from, next, budget, count); to !== undefined; to = overBudget(text, from, next, budget, count)) {
      const ends: number[] = [];
      for (const m of text.slice(from, to).matchAll(/\S+/gu)) ends.push(from + m.index + m[0].length);
      let lo = 0;
      let hi = ends.length - 1;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (count(text.slice(from, ends[mid]!)) <= budget) lo = mid;
        else hi = mid - 1;
      }
      emit(ends[lo]!);
      while (from < next && /\s/u.test(text[from]!)) from++;
    }
  }
  emit(text.length);
  return out;
}

/**
 * Where each page begins in the text of `pieces` joined by newlines after `prefix` characters of
 * repeated lines (which belong to the first page), pieces without a page continuing the one
 * before, with the page's printed label when the document defines one.
 */
function pageStarts(pieces: readonly Piece[], labels: ReadonlyMap<number, string>, prefix: number): ChunkPage[] {
  const pages: ChunkPage[] = [];
  let offset = prefix;
  for (const piece of pieces) {
    if (piece.page !== null && pages.at(-1)?.number !== piece.page) pages.push({ number: piece.page, label: labels.get(piece.page) ?? null, offset: offset === prefix ? 0 : offset });
    offset += piece.text.length + 1;
  }
  return pages;
}

/**
 * Structure-aware chunking. A heading opens a new section (unless the running chunk is only a
 * heading or two), blocks within a section are packed up to the token budget, list items and
 * table rows are never split from each other mid-row, and only a block too large for a chunk on
 * its own is cut — at sentence ends first. A chunk that continues a table opens with the table's
 * header row and separator line repeated (when the header takes at most a quarter of the budget),
 * so each chunk's rows read as a Markdown table with their column names. The repeated lines are
 * in the chunk's text only: its start/end span just its own rows, as a citation's highlight
 * should, and they count as part of its first page. Each chunk carries its heading path, its page range
 * and its exact character offsets, and where inside it each page begins (with the page's printed label
 * from `parsed.pages`), so a citation can name the page its passage is on.
 */
export function chunkDocument(parsed: Pick<ParsedDocument, 'blocks' | 'pages'>, options: ChunkOptions): Chunk[] {
  const { blocks } = positionBlocks(parsed.blocks);
  const labels = new Map((parsed.pages ?? []).flatMap((p) => (p.label ? [[p.number, p.label] as const] : [])));
  const { chunkSize, countTokens } = options;
  const overlapBudget = Math.min(options.chunkOverlap, Math.floor(chunkSize / 2));
  const chunks: Chunk[] = [];
  const path: Array<{ level: number; text: string }> = [];
  let current: Piece[] = [];
  let currentHeadings: string[] = [];

  const ownTokens = (pieces: Piece[]) => pieces.reduce((n, p) => n + p.tokens, 0);
  // The header row a chunk of these pieces repeats: a small one, when it opens with a later row of a table.
  const repeated = (pieces: Piece[]) => {
    const header = pieces[0]?.header;
    return header && header.tokens * 4 <= chunkSize ? header : null;
  };
  const tokensOf = (pieces: Piece[]) => ownTokens(pieces) + (repeated(pieces)?.tokens ?? 0);
  // Headings alone make no chunk: they label the chunks of their section. Except in a document that
  // is nothing but headings (a text file of one heading-like line), whose text would else be lost.
  const flush = (keepOverlap: boolean, headingsAlone = false) => {
    if (current.length === 0 || (!headingsAlone && current.every((p) => p.level !== null))) {
      return;
    }
    const first = current[0]!;
    const last = current[current.length - 1]!;
    const header = repeated(current);
    // A row alone may still leave no room for its header (a row is never split to make some).
    const prefix = header && tokensOf(current) <= chunkSize ? `${header.text}\n` : '';
    const text = prefix + current.map((p) => p.text).join('\n');
    const pages = pageStarts(current, labels, prefix.length);
    const numbers = pages.map((p) => p.number);
    chunks.push({
      index: chunks.length,
      text,
      headings: currentHeadings,
      page: numbers.length ? Math.min(...numbers) : null,
      pageEnd: numbers.length ? Math.max(...numbers) : null,
      pages,
      start: first.start,
      end: last.end,
      tokens: countTokens(text),
    });
    // The tail of this chunk opens the next one, so a fact straddling the boundary is whole in one of them.
    const tail: Piece[] = [];
    if (keepOverlap && overlapBudget > 0) {
      for (let i = current.length - 1; i > 0; i--) {
        const piece = current[i]!;
        if (piece.level !== null || tokensOf(tail) + piece.tokens > overlapBudget) break;
        tail.unshift(piece);
      }
    }
    current = tail;
  };

  let tableHeader: Piece | null = null;
  for (const block of blocks) {
    if (block.kind !== 'table-row') tableHeader = null;
    if (block.kind === 'heading') {
      const level = block.level ?? 1;
      while (path.length > 0 && path[path.length - 1]!.level >= level) path.pop();
      path.push({ level, text: block.text });
      // The section ends here. Pending headings with nothing under them stay only if they are
      // this heading's parents (a chapter title right before its first section).
      flush(false);
      current = current.filter((p) => p.level !== null && p.level < level);
      currentHeadings = path.map((h) => h.text);
    }
    const pieceTokens = countTokens(block.text);
    const parts =
      pieceTokens > chunkSize
        ? splitOversized(block.text, block.start, chunkSize, countTokens)
        : [{ text: block.text, start: block.start, end: block.end }];
    for (const part of parts) {
      const piece: Piece = {
        ...part,
        page: block.page ?? null,
        tokens: parts.length === 1 ? pieceTokens : countTokens(part.text),
        level: block.kind === 'heading' ? (block.level ?? 1) : null,
        header: block.kind === 'table-row' ? tableHeader : null,
      };
      if (block.kind === 'table-row' && isHeaderRow(block.text)) {
        piece.header = null;
        tableHeader = parts.length === 1 ? piece : null;
      }
      if (current.length > 0 && tokensOf(current) + piece.tokens > chunkSize) {
        flush(true);
        while (current.length > 0 && tokensOf(current) + piece.tokens > chunkSize) current.shift();
      }
      if (current.length === 0) currentHeadings = path.map((h) => h.text);
      current.push(piece);
    }
  }
  flush(false, chunks.length === 0);
  return chunks;
}
