import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import type { EmbeddingEngine } from '../embeddings/embeddings.ts';
import type { DocumentTextDoc } from '../documents/documents.ts';
import type { SearchIndex, SearchMode } from '../search/search.ts';
import type { ChunkDoc } from '../search/sync.ts';

export interface EmbeddingsStatus {
  available: boolean;
  model: string | null;
  reason: string | null;
}

export interface KbHit {
  chunkId: string;
  documentId: string;
  documentName: string;
  page: number | null;
  pageEnd: number | null;
  pageLabel: string | null;
  headings: string[];
  text: string;
  score: number;
  matchedTerms: string[];
  start: number;
  end: number;
}

export interface KbSearchDeps {
  index: SearchIndex;
  chunks: Collection<ChunkDoc>;
  texts: Collection<DocumentTextDoc>;
  embeddings: () => EmbeddingEngine | null;
  embeddingsStatus: () => EmbeddingsStatus;
}

/** Knowledge-base search: embeds the query when a model is installed, searches, and adds offsets and page labels. */
export class KbSearch {
  readonly #d: KbSearchDeps;

  constructor(deps: KbSearchDeps) {
    this.#d = deps;
  }

  async search(input: { organisationId: string; kbId: string; query: string; k: number; mode: SearchMode; documentIds?: string[] | undefined }) {
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
    const ids = result.hits.map((h) => h.id);
    const chunks = new Map(
      (await tenantCollection(this.#d.chunks, input.organisationId).find({ _id: { $in: ids } }, { projection: { start: 1, end: 1, documentId: 1 } }).toArray()).map((c) => [c._id, c]),
    );
    const docIds = [...new Set(result.hits.map((h) => h.documentId))];
    const labels = new Map<string, Map<number, string>>();
    for (const text of await tenantCollection(this.#d.texts, input.organisationId).find({ _id: { $in: docIds } }, { projection: { pages: 1 } }).toArray()) {
      labels.set(text._id, new Map((text.pages ?? []).filter((p) => p.label).map((p) => [p.number, p.label!])));
    }
    const hits: KbHit[] = result.hits.map((h) => ({
      chunkId: h.id,
      documentId: h.documentId,
      documentName: h.documentName,
      page: h.page,
      pageEnd: h.pageEnd,
      pageLabel: h.page === null ? null : (labels.get(h.documentId)?.get(h.page) ?? null),
      headings: h.headings,
      text: h.text,
      score: h.score,
      matchedTerms: h.matchedTerms,
      start: chunks.get(h.id)?.start ?? 0,
      end: chunks.get(h.id)?.end ?? 0,
    }));
    return { hits, mode: result.mode, tookMs: Math.round((performance.now() - started) * 10) / 10, embeddings: this.#d.embeddingsStatus() };
  }

  embeddingsStatus(): EmbeddingsStatus {
    return this.#d.embeddingsStatus();
  }

  async chunk(organisationId: string, kbId: string, chunkId: string): Promise<ChunkDoc | null> {
    return tenantCollection(this.#d.chunks, organisationId).findOne({ _id: chunkId, kbId });
  }
}
