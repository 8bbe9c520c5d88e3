// Chunks as Meilisearch documents, and hits back as chunks.

import type { Analyzer } from '../search/analyzer.ts';
import type { ChunkRecord, SearchHit } from '../search/search.ts';

/** The embedder every index configures; vectors come from Lectern's own model (`userProvided`). */
export const EMBEDDER = 'lectern';

/**
 * A chunk id, knowledge base id or document id as Meilisearch may hold it in a primary key or
 * compare it in a filter: base64url, whose alphabet is exactly what a document id allows and
 * needs no quoting in a filter expression, whatever the id holds.
 */
export const key = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');

export interface MeiliChunk {
  pk: string;
  id: string;
  kbId: string;
  documentId: string;
  kbKey: string;
  documentKey: string;
  documentName: string;
  headings: string[];
  page: ChunkRecord['page'];
  pageEnd: ChunkRecord['pageEnd'];
  pages: ChunkRecord['pages'];
  start: number;
  end: number;
  text: string;
  _vectors: Record<string, number[] | null>;
}

/** What a search returns of a document (never the filter keys, the owner or the vector). */
export const RETRIEVED = ['id', 'kbId', 'documentId', 'documentName', 'headings', 'page', 'pageEnd', 'pages', 'start', 'end', 'text'] as const;

/**
 * The document for `chunk`. It always names the embedder under `_vectors`, null without a vector:
 * Meilisearch fails a whole batch (or the settings change adding a `userProvided` embedder to a
 * filled index) when a document leaves its embedder out, and a replaced chunk must not keep the
 * vector of what it replaced. Before the index has the embedder, the field is kept as plain data.
 */
export function toDocument(chunk: ChunkRecord): MeiliChunk {
  return {
    pk: key(chunk.id),
    id: chunk.id,
    kbId: chunk.kbId,
    documentId: chunk.documentId,
    kbKey: key(chunk.kbId),
    documentKey: key(chunk.documentId),
    documentName: chunk.documentName,
    headings: chunk.headings,
    page: chunk.page,
    pageEnd: chunk.pageEnd,
    pages: chunk.pages,
    start: chunk.start,
    end: chunk.end,
    text: chunk.text,
    _vectors: { [EMBEDDER]: chunk.vector && chunk.vector.length > 0 ? Array.from(chunk.vector) : null },
  };
}

/** The hit for a returned document; Meilisearch's `_rankingScore` is already in [0, 1]. */
export function toHit(doc: Record<string, unknown>, matchedTerms: string[]): SearchHit {
  const d = doc as unknown as MeiliChunk & { _rankingScore?: number };
  return {
    id: d.id,
    kbId: d.kbId,
    documentId: d.documentId,
    documentName: d.documentName,
    headings: d.headings,
    page: d.page,
    pageEnd: d.pageEnd,
    pages: d.pages,
    start: d.start,
    end: d.end,
    text: d.text,
    score: Math.min(1, Math.max(0, d._rankingScore ?? 0)),
    matchedTerms,
  };
}

/** Highlight tags: private-use characters, which extracted text practically never holds. */
export const MARK = { pre: '\uE000', post: '\uE001' } as const;

// A word as the analyzer finds one (see server/search/analyzer.ts), so highlighting returns the
// same surface forms ("M8x1.25", "ISO-9001") whichever engine answered.
const WORD = /[\p{L}\p{N}\p{M}]+(?:[-.,_/'’][\p{L}\p{N}\p{M}]+)*/gu;

/**
 * The words of `text` that Meilisearch highlighted in `formatted` (the same text with MARK tags
 * around matched parts, a prefix match marking only part of a word), each spelling once in order
 * of first occurrence. Null when the text itself holds a tag character, so the marks cannot be
 * told apart from the text.
 */
export function highlightedWords(text: string, formatted: string): string[] | null {
  if (text.includes(MARK.pre) || text.includes(MARK.post)) return null;
  const marked: Array<[number, number]> = [];
  let plain = 0;
  let from = -1;
  for (const ch of formatted) {
    if (ch === MARK.pre) from = plain;
    else if (ch === MARK.post) {
      if (from >= 0 && plain > from) marked.push([from, plain]);
      from = -1;
    } else plain += ch.length;
  }
  const found = new Set<string>();
  for (const match of text.matchAll(WORD)) {
    const start = match.index;
    const end = start + match[0].length;
    if (marked.some(([a, b]) => a < end && b > start)) found.add(match[0]);
  }
  return [...found];
}

/** The query's words as written in `text`, by Lectern's analyzer: for hits Meilisearch did not highlight (vector search sends no words). */
export function analyzedWords(analyzer: Analyzer, text: string, query: string): string[] {
  const terms = new Set(analyzer.analyze(query));
  return terms.size > 0 ? analyzer.surfaceForms(text, terms) : [];
}
