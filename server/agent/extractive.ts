import { pageText } from '../kb/passage.ts';
import type { Analyzer } from '../search/analyzer.ts';
import { addFocus, excerpt, sameContent } from './excerpt.ts';
import { toCitation } from './citations.ts';
import { sourceLabel } from './context.ts';
import type { Citation, Passage } from './types.ts';

// The answer without a language model: the best passages, each cut to the sentences that match
// the question and cited. It is what a clinic gets before any model is downloaded, so it has to
// be useful on its own: no near-duplicates (the same paragraph in two uploads, or in the overlap
// of neighbouring chunks), no weak tail, quotes short enough to read or hear.

export const EXTRACTIVE_VERSION = 'extractive-v1';

const EXTRACTIVE_FILL = 0.5;

export interface ExtractiveOptions {
  /** Candidates, best first, each with the query that found it. */
  candidates: readonly { passage: Passage; query: string }[];
  intro: string;
  /** The whole answer when no candidate is left. */
  empty: string;
  maxPassages: number;
  quoteChars: number;
}

export interface Extract {
  answer: string;
  citations: Citation[];
  chunkIds: string[];
}

export interface QuoteOptions {
  /** Share of the limit up to which a lone sentence gets a neighbour for context. */
  fill?: number | undefined;
  /** Weight of a query term (default 1). */
  weight?: ((term: string) => number) | undefined;
}

export function quoteFor(analyzer: Analyzer, passage: Passage, query: string, claim: string, limit: number, options: QuoteOptions = {}): string {
  // The query's own terms, not the passage's matched surface forms: a matched URL or compound
  // ("site-policy/github-privacy-statement") would bring all of its other pieces into focus.
  const focus = new Map<string, number>();
  for (const term of analyzer.analyze(query)) focus.set(term, options.weight?.(term) ?? 1);
  // Words of the claim being supported say more about which sentence is meant than the search did.
  addFocus(analyzer, focus, 2, claim);
  // Without a claim to go by, the quote comes from where the search found the best match — the
  // page the hit names — so the quote, its cited page and the passage view agree.
  const text = claim.trim() ? passage.text : pageText(passage);
  return excerpt(analyzer, text, { focus, limit, fill: options.fill });
}

/**
 * Query terms weighted by how few of the candidates contain them (1 + ln(N / df)): in "does
 * GitHub sell personal data", every passage says "GitHub" and "data"; the quote should centre on "sell".
 */
function rarity(analyzer: Analyzer, texts: readonly string[]): (term: string) => number {
  const sets = texts.map((t) => new Set(analyzer.analyze(t)));
  const memo = new Map<string, number>();
  return (term) => {
    let w = memo.get(term);
    if (w === undefined) {
      const df = sets.filter((s) => s.has(term)).length;
      w = 1 + Math.log(sets.length / Math.max(1, df));
      memo.set(term, w);
    }
    return w;
  };
}

export function extractiveAnswer(analyzer: Analyzer, options: ExtractiveOptions): Extract {
  const chosen: { passage: Passage; quote: string; terms: Set<string> }[] = [];
  const seen = new Set<string>();
  const weight = rarity(
    analyzer,
    options.candidates.map((c) => c.passage.text),
  );
  for (const { passage, query } of options.candidates) {
    if (chosen.length >= options.maxPassages) break;
    if (seen.has(passage.chunkId)) continue;
    seen.add(passage.chunkId);
    // Without a model the quote is the answer: it gets more context than a citation's quote.
    const quote = quoteFor(analyzer, passage, query, '', options.quoteChars, { fill: EXTRACTIVE_FILL, weight });
    const terms = new Set(analyzer.analyze(quote));
    if (!quote || chosen.some((c) => sameContent(c.terms, terms))) continue;
    chosen.push({ passage, quote, terms });
  }
  if (chosen.length === 0) return { answer: options.empty, citations: [], chunkIds: [] };
  const citations = chosen.map(({ passage, quote }, i) => toCitation(i + 1, passage, quote));
  const lines = chosen.map(({ passage, quote }, i) => `${i + 1}. “${quote}” — ${sourceLabel(passage, 'nearest', citations[i])} [${i + 1}]`);
  return { answer: `${options.intro}\n\n${lines.join('\n')}`, citations, chunkIds: chosen.map((c) => c.passage.chunkId) };
}
