import type { Analyzer } from '../search/analyzer.ts';
import { excerpt, sameContent, type Focus } from './excerpt.ts';
import type { PromptPassage } from './prompts/answer-v1.ts';
import type { Citation, Passage } from './types.ts';

// What the model sees of the knowledge base in one answer: passages numbered once per answer
// (a chunk found by two searches keeps its first number), packed best first into a token budget.

export interface ShownPassage {
  n: number;
  passage: Passage;
  /** The search that found it: quoting centres on its terms. */
  query: string;
}

/**
 * Numbers passages in the order they are shown; a number always means the same chunk. A follow-up
 * that repeats the previous turn's prompt starts after the numbers that prompt already used, so no
 * number in front of the model means two passages.
 */
export class PassageNumbers {
  readonly #byChunk = new Map<string, ShownPassage>();
  readonly #list: ShownPassage[] = [];
  readonly #first: number;

  constructor(first = 1) {
    this.#first = first;
  }

  get(n: number): ShownPassage | undefined {
    return n >= this.#first ? this.#list[n - this.#first] : undefined;
  }

  byChunk(chunkId: string): ShownPassage | undefined {
    return this.#byChunk.get(chunkId);
  }

  add(passage: Passage, query: string): ShownPassage {
    const existing = this.#byChunk.get(passage.chunkId);
    if (existing) return existing;
    const shown = { n: this.next, passage, query };
    this.#list.push(shown);
    this.#byChunk.set(passage.chunkId, shown);
    return shown;
  }

  get size(): number {
    return this.#list.length;
  }

  /** The number the next new passage gets. */
  get next(): number {
    return this.#first + this.#list.length;
  }

  all(): readonly ShownPassage[] {
    return this.#list;
  }
}

/** Where a passage is: its page, or all the pages its text runs over (a prompt shows the whole text, not one page of it). */
function pages(p: Passage): string | null {
  const [first, last] = [p.pages[0], p.pages.at(-1)];
  if (!first || !last) return null;
  if (first !== last) return `pages ${first.label ?? first.number}–${last.label ?? last.number}`;
  return `page ${first.label ?? first.number}`;
}

/**
 * "Intake policy › Admissions › Eligibility, page 4": the document, its heading path (or only
 * the nearest heading, for compact quotes) and its pages — or, for a quote, the page it cites.
 */
export function sourceLabel(p: Passage, headings: 'path' | 'nearest' = 'path', cited?: Pick<Citation, 'page' | 'pageLabel'>): string {
  const path = headings === 'path' ? p.headings : p.headings.slice(-1);
  const page = !cited ? pages(p) : cited.page === null ? null : `page ${cited.pageLabel ?? cited.page}`;
  return `${[p.documentName, ...path].join(' › ')}${page ? `, ${page}` : ''}`;
}

/**
 * Hits worth showing: at least `minScore`, and not far behind the best hit (scores are relative
 * within one search, so a weak tail is noise whatever its absolute value).
 */
export function relevant(hits: readonly Passage[], minScore: number, relativeFloor: number): Passage[] {
  const top = Math.max(0, ...hits.map((h) => h.score));
  return hits.filter((h) => h.score >= minScore && h.score >= top * relativeFloor);
}

export interface PackOptions {
  /** Tokens for all rendered passages together. */
  budget: number;
  countTokens: (text: string) => number;
  analyzer: Analyzer;
  /** Terms a trimmed passage should keep. */
  focus: Focus;
  /** The passage as the prompt shows it (header and text), to measure. */
  render: (entry: PromptPassage) => string;
  /** Below this many tokens of text a trimmed passage is not worth showing. */
  minTokens?: number;
  /** Largest share of the budget one passage may take when others are waiting. */
  maxShare?: number;
}

export interface Packed {
  /** Passages newly numbered by this pack, best first. */
  fresh: PromptPassage[];
  /** Passages already shown earlier in this answer (they keep their numbers, text not repeated). */
  repeated: PromptPassage[];
  tokens: number;
}

const SEPARATOR_TOKENS = 2;
/** Stricter than for quotes: two passages must be nearly the same text to drop one from a prompt. */
const DUPLICATE_OVERLAP = 0.9;

export function toPromptPassage(shown: ShownPassage, text: string): PromptPassage {
  return { n: shown.n, source: sourceLabel(shown.passage), documentId: shown.passage.documentId, text };
}

/**
 * Packs passages best first within the budget: whole when they fit, otherwise cut to their
 * best sentences (around the focus terms); only what is packed gets a number.
 */
export function packPassages(passages: readonly Passage[], numbers: PassageNumbers, query: string, options: PackOptions): Packed {
  const { budget, countTokens, render, minTokens = 48, maxShare = 0.6 } = options;
  const ranked = [...passages].sort((a, b) => b.score - a.score);
  const seen = new Set<string>();
  // Near-identical passages (a document uploaded twice) cost tokens and add nothing.
  const contents = numbers.all().map((s) => new Set(options.analyzer.analyze(s.passage.text)));
  const packed: Packed = { fresh: [], repeated: [], tokens: 0 };
  for (const [i, passage] of ranked.entries()) {
    if (seen.has(passage.chunkId)) continue;
    seen.add(passage.chunkId);
    const earlier = numbers.byChunk(passage.chunkId);
    if (earlier) {
      packed.repeated.push(toPromptPassage(earlier, ''));
      continue;
    }
    const remaining = budget - packed.tokens;
    if (remaining < minTokens) break;
    const provisional: PromptPassage = { n: numbers.next, source: sourceLabel(passage), documentId: passage.documentId, text: '' };
    const header = countTokens(render(provisional)) + SEPARATOR_TOKENS;
    const othersWaiting = i < ranked.length - 1;
    const cap = Math.min(remaining, othersWaiting ? Math.max(minTokens, budget * maxShare) : remaining) - header;
    if (cap < minTokens) continue;
    const terms = new Set(options.analyzer.analyze(passage.text));
    if (contents.some((c) => sameContent(c, terms, DUPLICATE_OVERLAP))) continue;
    const text = excerpt(options.analyzer, passage.text, { focus: options.focus, limit: cap, size: countTokens, keepLines: true, fill: 1, wholeIfFits: true });
    if (!text) continue;
    contents.push(terms);
    const entry = toPromptPassage(numbers.add(passage, query), text);
    packed.fresh.push(entry);
    packed.tokens += countTokens(render(entry)) + SEPARATOR_TOKENS;
  }
  return packed;
}
