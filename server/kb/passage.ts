import type { ChunkPage } from '../chunks/chunk.ts';
import type { Analyzer } from '../search/analyzer.ts';

// Which page of a chunk a hit or a citation is about. Chunks are packed by tokens, not pages, so
// one may run from the last lines of page 36 to the middle of page 37; naming its first page
// sends the reader to the wrong page about as often as not. The page named is the one holding
// the best match for the query — or, for a citation, the one its quote is on.

/** Words in a window: about two sentences, the span an answer to one question usually takes. */
const WINDOW = 40;

interface Token {
  offset: number;
  terms: string[];
}

/** The analyzer's tokens of `text` with where each starts (tokens come in order, so each is the next occurrence of its surface form). */
function positioned(analyzer: Analyzer, text: string): Token[] {
  let cursor = 0;
  return analyzer.tokens(text).map(({ surface, terms }) => {
    const offset = text.indexOf(surface, cursor);
    cursor = offset + surface.length;
    return { offset, terms };
  });
}

/** Index of the page a character offset falls on (text before the first page start belongs to the first page). */
function pageIndexAt(pages: readonly ChunkPage[], offset: number): number {
  let i = 0;
  while (i + 1 < pages.length && pages[i + 1]!.offset <= offset) i++;
  return i;
}

/** The best score of any window of `WINDOW` consecutive words: the summed weight of the distinct query terms in it. */
function bestWindow(tokens: readonly Token[], wanted: ReadonlySet<string>, weight: (term: string) => number): number {
  const counts = new Map<string, number>();
  let score = 0;
  let best = 0;
  const matched = (t: Token) => t.terms.filter((term) => wanted.has(term));
  for (let i = 0; i < tokens.length; i++) {
    for (const term of matched(tokens[i]!)) {
      const n = counts.get(term) ?? 0;
      if (n === 0) score += weight(term);
      counts.set(term, n + 1);
    }
    if (i >= WINDOW) {
      for (const term of matched(tokens[i - WINDOW]!)) {
        const n = counts.get(term)! - 1;
        if (n === 0) score -= weight(term);
        counts.set(term, n);
      }
    }
    best = Math.max(best, score);
  }
  return best;
}

export interface PassagePageInput {
  text: string;
  pages: readonly ChunkPage[];
  query: string;
  /** How much a query term says about where the answer is (default 1: every distinct term counts the same). */
  weight?: ((term: string) => number) | undefined;
}

/**
 * The page of a chunk holding the best-matching passage: each page's stretch of the text is
 * scored by its best window of consecutive words (the distinct query terms in it, each by its
 * weight), and the highest wins; a tie goes to the earlier page.
 *
 * A hit found by meaning alone (vector search) may share no term with the query. Its embedding
 * was made from the whole chunk, so its match is spread over the text; it gets the page holding
 * most of the text, not the first one, which is often only the tail of a paragraph (or a running
 * header) carried over from the page before. A tie again goes to the earlier page.
 */
export function passagePage(analyzer: Analyzer, input: PassagePageInput): ChunkPage | null {
  const { text, pages } = input;
  if (pages.length <= 1) return pages[0] ?? null;
  const wanted = new Set(analyzer.analyze(input.query));
  const weight = input.weight ?? (() => 1);
  const byPage: Token[][] = pages.map(() => []);
  for (const token of positioned(analyzer, text)) byPage[pageIndexAt(pages, token.offset)]!.push(token);
  const scores = byPage.map((tokens) => bestWindow(tokens, wanted, weight));
  if (scores.every((s) => s === 0)) {
    const lengths = pages.map((p, i) => (pages[i + 1]?.offset ?? text.length) - (i === 0 ? 0 : p.offset));
    return pages[lengths.indexOf(Math.max(...lengths))]!;
  }
  return pages[scores.indexOf(Math.max(...scores))]!;
}

/** The stretch of a chunk's text on its page `page` (all of it for a single-page or unpaged chunk, or a page it does not touch). */
export function pageText(input: { text: string; pages: readonly ChunkPage[]; page: number | null }): string {
  const { text, pages } = input;
  const i = pages.findIndex((p) => p.number === input.page);
  if (pages.length <= 1 || i < 0) return text;
  return text.slice(i === 0 ? 0 : pages[i]!.offset, pages[i + 1]?.offset ?? text.length);
}

/** `text` with every run of whitespace folded to one space, and where each folded character came from. */
function folded(text: string): { text: string; origin: number[] } {
  let out = '';
  const origin: number[] = [];
  for (const m of text.matchAll(/\s+|\S+/g)) {
    if (/^\s/.test(m[0])) {
      if (out !== '' && !out.endsWith(' ')) {
        out += ' ';
        origin.push(m.index);
      }
      continue;
    }
    out += m[0];
    for (let i = 0; i < m[0].length; i++) origin.push(m.index + i);
  }
  return { text: out, origin };
}

/**
 * Where a quote of the chunk (whitespace folded, cuts marked with "…") lies in its text, as
 * character offsets, or null when it is not a quote of this text.
 */
export function quoteRange(text: string, quote: string): [number, number] | null {
  const core = quote
    .replace(/^\s*…\s*/, '')
    .replace(/\s*…\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (!core) return null;
  const f = folded(text);
  const at = f.text.indexOf(core);
  if (at < 0) return null;
  return [f.origin[at]!, f.origin[at + core.length - 1]! + 1];
}

/**
 * The page a citation names: the hit's page when its quote is on it (the quote shows the
 * passage that made the hit), otherwise the page holding most of the quote — a citation must
 * name the page where the reader finds the words it quotes. Null for an unpaged chunk.
 */
export function quotedPage(input: { text: string; pages: readonly ChunkPage[]; page: number | null }, quote: string): ChunkPage | null {
  const { pages } = input;
  const hitPage = pages.find((p) => p.number === input.page) ?? pages[0] ?? null;
  const range = pages.length > 1 ? quoteRange(input.text, quote) : null;
  if (!range) return hitPage;
  const [from, to] = range;
  const shares = pages.map((p, i) => Math.max(0, Math.min(to, pages[i + 1]?.offset ?? Infinity) - Math.max(from, i === 0 ? 0 : p.offset)));
  if (hitPage && shares[pages.indexOf(hitPage)]! > 0) return hitPage;
  return pages[shares.indexOf(Math.max(...shares))]!;
}
