// The search port. Semantics follow Meilisearch (the production adapter): documents are chunks
// with filterable attributes; keyword, vector or hybrid ranking, hybrid mixing the two with a
// semantic ratio; vectors are supplied by the caller ("user-provided" embedder), never computed
// by the index.

import type { Chunk } from '../chunks/chunk.ts';

export type { ChunkPage } from '../chunks/chunk.ts';

/** What the index holds of a chunk: its text and place in the document (see Chunk), and whose it is. */
export interface ChunkRecord extends Pick<Chunk, 'text' | 'headings' | 'page' | 'pageEnd' | 'pages' | 'start' | 'end'> {
  /** Chunk id; unique across the index. */
  id: string;
  organisationId: string;
  kbId: string;
  documentId: string;
  documentName: string;
  /** Normalised embedding (unit length), when an embedding model produced one. */
  vector?: Float32Array | undefined;
}

export type SearchMode = 'keyword' | 'vector' | 'hybrid';

export interface SearchFilter {
  /** Always required: no search ever crosses organisations. */
  organisationId: string;
  kbId?: string | undefined;
  documentIds?: string[] | undefined;
}

export interface SearchRequest {
  query: string;
  filter: SearchFilter;
  /** How many hits to return (1..100). */
  limit: number;
  mode: SearchMode;
  /** Hybrid only: 0 = keyword only, 1 = vector only. Meilisearch's default is 0.5. */
  semanticRatio?: number | undefined;
  /** Query embedding, required for vector and hybrid modes. */
  vector?: Float32Array | undefined;
}

/** A chunk found: what was stored of it (less its owner and vector), and how well it matched. */
export interface SearchHit extends Omit<ChunkRecord, 'organisationId' | 'vector'> {
  /** Ranking score in [0, 1], higher is better (Meilisearch's `_rankingScore`). */
  score: number;
  /** Query terms as they matched in `text` (original surface forms), for highlighting. */
  matchedTerms: string[];
}

export interface SearchResponse {
  hits: SearchHit[];
  /** The mode actually used: a vector or hybrid request without a vector runs as keyword. */
  mode: SearchMode;
  tookMs: number;
}

export interface DeleteFilter {
  organisationId: string;
  kbId?: string | undefined;
  documentId?: string | undefined;
}

export interface SearchIndex {
  readonly kind: string;
  /** Insert or replace by id. */
  upsert(chunks: readonly ChunkRecord[]): Promise<void>;
  delete(filter: DeleteFilter): Promise<number>;
  search(request: SearchRequest): Promise<SearchResponse>;
  count(filter: DeleteFilter): Promise<number>;
  /**
   * The generation the index last recorded (see `setGeneration`), or null when the index is new,
   * missing or was found corrupt. The application compares it with the generation it keeps in
   * the store and rebuilds the index from the store when they differ.
   */
  generation(): Promise<number | null>;
  /** Recorded durably together with the index contents written before it. */
  setGeneration(generation: number): Promise<void>;
  /** Drop everything (before a rebuild). */
  clear(): Promise<void>;
  /** Whether the index is ready for queries; while it loads, what it is doing (searches meanwhile wait for their part). */
  progress(): { ready: boolean; message: string };
  ping(): Promise<void>;
  close(): Promise<void>;
}
