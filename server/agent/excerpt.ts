import type { Analyzer } from '../search/analyzer.ts';

// Cutting passages down to the part that matters: quotes for citations and extractive answers,
// and passages trimmed to fit a prompt budget. The unit is the sentence, so a quote never starts
// or stops mid-thought unless a single sentence is itself too long.

/** Index term → weight: how much a sentence containing it is worth. */
export type Focus = ReadonlyMap<string, number>;

export interface ExcerptOptions {
  focus: Focus;
  /** Largest excerpt, in units of `size`. */
  limit: number;
  /** Size of a piece of text; characters unless given (the packer passes a token count). */
  size?: ((text: string) => number) | undefined;
  /** Keep line breaks (lists, steps) instead of folding all whitespace into spaces. */
  keepLines?: boolean | undefined;
  /**
   * A lone matching sentence shorter than this fraction of the limit (default 0.25) gets one
   * neighbour for context; sentences about as relevant as the best are added while they fit.
   */
  fill?: number | undefined;
  /** Return the whole text when it fits (for prompts); otherwise even a short text is cut to its matching sentences (for quotes). */
  wholeIfFits?: boolean | undefined;
}

const ELLIPSIS = '…';
/** A sentence scoring at least this share of the best one is part of the point, not context. */
const STRONG = 0.5;
const ANAPHORIC_OPENING = /^\s*(?:it|its|they|their|them|this|these|those|he|she|his|her|such|there)\b/i;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });

/** Adds each text's index terms to a focus with the given weight (keeping the larger weight). */
export function addFocus(analyzer: Analyzer, focus: Map<string, number>, weight: number, ...texts: string[]): Map<string, number> {
  for (const text of texts) {
    for (const term of analyzer.analyze(text)) focus.set(term, Math.max(weight, focus.get(term) ?? 0));
  }
  return focus;
}

function tidy(text: string, keepLines = false): string {
  return keepLines
    ? text
        .replace(/[^\S\n]+/g, ' ')
        .replace(/ ?\n ?/g, '\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim()
    : text.replace(/\s+/g, ' ').trim();
}

/**
 * Whether two texts say the same thing: the share of the smaller one's terms found in the other
 * reaches `overlap` (the same paragraph uploaded twice, or sitting in the overlap of two chunks).
 */
export function sameContent(a: ReadonlySet<string>, b: ReadonlySet<string>, overlap = 0.8): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  if (small.size === 0) return true;
  let shared = 0;
  for (const term of small) if (large.has(term)) shared++;
  return shared / small.size >= overlap;
}

export function sentences(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** Sum of the weights of the distinct focus terms in `text`. */
function score(analyzer: Analyzer, text: string, focus: Focus): number {
  let total = 0;
  for (const term of new Set(analyzer.analyze(text))) total += focus.get(term) ?? 0;
  return total;
}

/** A single over-long sentence: the words around its first focus term, as many as fit. */
function clipWords(analyzer: Analyzer, sentence: string, focus: Focus, limit: number, size: (text: string) => number): string {
  const words = sentence.trim().split(/\s+/);
  const hit = Math.max(
    0,
    words.findIndex((w) => analyzer.analyze(w).some((t) => focus.has(t))),
  );
  // A little lead-in before the matched word reads better than starting on it.
  let from = Math.max(0, hit - 6);
  let to = from;
  const render = (a: number, b: number) => `${a > 0 ? `${ELLIPSIS} ` : ''}${words.slice(a, b).join(' ')}${b < words.length ? ` ${ELLIPSIS}` : ''}`;
  while (to < words.length && size(render(from, to + 1)) <= limit) to++;
  while (from > 0 && to === words.length && size(render(from - 1, to)) <= limit) from--;
  return to > from ? render(from, to) : '';
}

/**
 * The best run of whole sentences of `text` within `limit`: it starts from the sentence with the
 * most focus weight and grows towards the stronger neighbour while it fits. Ellipses mark cuts.
 */
export function excerpt(analyzer: Analyzer, text: string, options: ExcerptOptions): string {
  const size = options.size ?? ((t: string) => t.length);
  const clean = tidy(text, options.keepLines);
  if (options.wholeIfFits && size(clean) <= options.limit) return clean;
  const parts = sentences(clean);
  const scores = parts.map((s) => score(analyzer, s, options.focus));
  const best = scores.reduce((b, s, i) => (s > scores[b]! ? i : b), 0);
  const render = (lo: number, hi: number) =>
    `${lo > 0 ? `${ELLIPSIS} ` : ''}${parts.slice(lo, hi + 1).join('').trim()}${hi < parts.length - 1 ? ` ${ELLIPSIS}` : ''}`;
  if (size(render(best, best)) > options.limit) return clipWords(analyzer, parts[best]!, options.focus, options.limit, size);
  const fill = (options.fill ?? 0.25) * options.limit;
  let lo = best;
  let hi = best;
  for (;;) {
    const fits = [hi + 1 < parts.length && size(render(lo, hi + 1)) <= options.limit ? hi + 1 : -1, lo > 0 && size(render(lo - 1, hi)) <= options.limit ? lo - 1 : -1].filter((i) => i >= 0);
    const strongest = (among: number[]) => among.reduce((b, i) => (b < 0 || scores[i]! > scores[b]! ? i : b), -1);
    // A neighbour about as relevant as the best sentence belongs in the quote (the stronger first,
    // the following one on a tie: documents tend to state a thing, then qualify it).
    let pick = strongest(fits.filter((i) => scores[i]! >= scores[best]! * STRONG));
    // A short lone sentence gets one neighbour for context: one that matches something, else the
    // preceding one if it opens with a pronoun (that is where "It" is explained), else the next.
    if (pick < 0 && lo === hi && size(render(lo, hi)) < fill) {
      pick = strongest(fits.filter((i) => scores[i]! > 0));
      const [prev, next] = [fits.find((i) => i < lo) ?? -1, fits.find((i) => i > hi) ?? -1];
      if (pick < 0) pick = ANAPHORIC_OPENING.test(parts[lo]!) ? (prev >= 0 ? prev : next) : next >= 0 ? next : prev;
    }
    if (pick < 0) break;
    if (pick > hi) hi = pick;
    else lo = pick;
  }
  return render(lo, hi);
}
