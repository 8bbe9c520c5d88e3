import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import type { EmbeddingEngine, EmbeddingsStatus } from '../embeddings/embeddings.ts';
import type { Analyzer } from '../search/analyzer.ts';
import type { SearchHit, SearchIndex, SearchMode } from '../search/search.ts';
import type { ChunkDoc } from '../search/sync.ts';
import { passagePage } from './passage.ts';
import type { KbHit } from './schema.ts';
import type { SearchMetrics } from '../metrics/recorder.ts';
import { inSpan } from '../tracing/spans.ts';

export type { KbHit };

export type { EmbeddingsStatus } from '../embeddings/embeddings.ts';

export interface KbSearchDeps {
  index: SearchIndex;
  chunks: Collection<ChunkDoc>;
  embeddings: () => EmbeddingEngine | null;
  embeddingsStatus: () => EmbeddingsStatus;
  /** Text analysis shared with the agent (one word cache for the process). */
  analyzer: Analyzer;
  metrics: SearchMetrics;
}

/**
 * Terms in every hit say little about where in one hit the answer is: a term weighs 1 + ln(N / df)
 * over the N hits of the search (in "what does the breast care nurse do", every passage of a breast
 * cancer guide says "breast"; the page that says "nurse" is the one meant).
 */
function rarity(analyzer: Analyzer, hits: readonly SearchHit[]): (term: string) => number {
  const sets = hits.map((h) => new Set(analyzer.analyze(h.text)));
  const memo = new Map<string, number>();
  return (term) => {
    let w = memo.get(term);
    if (w === undefined) {
      w = 1 + Math.log(sets.length / Math.max(1, sets.filter((s) => s.has(term)).length));
      memo.set(term, w);
    }
    return w;
  };
}

function kbHit(analyzer: Analyzer, h: SearchHit, query: string, weight: (term: string) => number): KbHit {
  // Chunks indexed before pages were recorded know only their first page, without its label;
  // reprocessing the document records them.
  const pages = h.pages.length > 0 || h.page === null ? h.pages : [{ number: h.page, label: null, offset: 0 }];
  const page = passagePage(analyzer, { text: h.text, pages, query, weight });
  return {
    chunkId: h.id,
    documentId: h.documentId,
    documentName: h.documentName,
    page: page?.number ?? null,
    pageLabel: page?.label ?? null,
    firstPage: h.page,
    lastPage: h.pageEnd,
    pages,
    headings: h.headings,
    text: h.text,
    score: h.score,
    matchedTerms: h.matchedTerms,
    start: h.start,
    end: h.end,
  };
}

/** Index hits as the API returns them, each naming the page its best-matching passage is on. */
export function kbHits(analyzer: Analyzer, hits: readonly SearchHit[], query: string): KbHit[] {
  const weight = rarity(analyzer, hits);
  return hits.map((h) => kbHit(analyzer, h, query, weight));
}

/** Knowledge-base search: embeds the query when a model is installed, searches, and names each hit's page. */
export class KbSearch {
  readonly #d: KbSearchDeps;
  readonly #analyzer: Analyzer;

  constructor(deps: KbSearchDeps) {
    this.#d = deps;
    this.#analyzer = deps.analyzer;
  }

  search(input: { organisationId: string; kbId: string; query: string; k: number; mode: SearchMode; documentIds?: string[] | undefined }) {
    return inSpan('search', { 'lectern.kb.id': input.kbId, 'lectern.search.requested_mode': input.mode, 'lectern.search.k': input.k }, async (span) => {
      const found = await this.#search(input);
      span.setAttributes({ 'lectern.search.mode': found.mode, 'lectern.search.hits': found.hits.length });
      return found;
    });
  }

  async #search(input: { organisationId: string; kbId: string; query: string; k: number; mode: SearchMode; documentIds?: string[] | undefined }) {
    const started = performance.now();
    const engine = input.mode === 'keyword' ? null : this.#d.embeddings();
    const vector = engine ? await engine.embedQuery(input.query) : undefined;
    const result = await this.#d.index.search({
      query: input.query,
      filter: { organisationId: input.organisationId, kbId: input.kbId, documentIds: input.documentIds },
      limit: input.k,
      mode: input.mode,
      vector,
    });
    const hits = kbHits(this.#analyzer, result.hits, input.query);
    const ms = performance.now() - started;
    this.#d.metrics.search(result.mode, ms / 1000);
    return { hits, mode: result.mode, tookMs: Math.round(ms * 10) / 10, embeddings: this.#d.embeddingsStatus() };
  }

  embeddingsStatus(): EmbeddingsStatus {
    return this.#d.embeddingsStatus();
  }

  async chunk(organisationId: string, kbId: string, chunkId: string): Promise<ChunkDoc | null> {
    return tenantCollection(this.#d.chunks, organisationId).findOne({ _id: chunkId, kbId });
  }
}
