// Search requests and filters as Meilisearch takes them.

import type { SearchParams } from 'meilisearch';
import { DEFAULT_SEMANTIC_RATIO } from '../search/fusion.ts';
import type { DeleteFilter, SearchFilter, SearchMode, SearchRequest } from '../search/search.ts';
import { EMBEDDER, key, MARK, RETRIEVED } from './records.ts';

const MAX_LIMIT = 100;

/**
 * Semantic search ranks the chunks with vectors, then hands back the rest of the index at
 * similarity 0 to fill the limit (Meilisearch's vector sort rule); a chunk without a vector has
 * no place in vector ranking, nor one matching no word in hybrid ranking, so scores of 0 go.
 */
export const NO_MATCH_THRESHOLD = 1e-9;

/**
 * A quoted filter value. Meilisearch's filter parser unescapes only `\"`, and a backslash makes it
 * skip the next character, so a value ending in a backslash or holding `\"` has no spelling at
 * all; filters therefore compare base64url keys (see `key`), whose alphabet needs no escaping,
 * and this refuses anything else rather than build an expression an id could break out of.
 */
export function quote(value: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new TypeError('only base64url keys go into a Meilisearch filter');
  return `"${value}"`;
}

/**
 * The filter expression for what an organisation's index holds of a knowledge base or documents
 * (the organisation is the index itself); undefined for the whole index.
 */
export function filterExpression(filter: Pick<SearchFilter, 'kbId' | 'documentIds'> & Pick<DeleteFilter, 'documentId'>): string | undefined {
  const parts: string[] = [];
  if (filter.kbId !== undefined) parts.push(`kbKey = ${quote(key(filter.kbId))}`);
  if (filter.documentId !== undefined) parts.push(`documentKey = ${quote(key(filter.documentId))}`);
  if (filter.documentIds !== undefined) parts.push(`documentKey IN [${filter.documentIds.map((id) => quote(key(id))).join(', ')}]`);
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}

export interface PlannedSearch {
  /** What to send; null when the answer is known to be empty without asking. */
  params: SearchParams | null;
  /** The mode reported back (see SearchResponse.mode). */
  mode: SearchMode;
  /** Whether Meilisearch highlights the query's words (it does only when it is sent the words). */
  highlighted: boolean;
  /** Set when the request's vector could not be used, for the log. */
  vectorMismatch?: { query: number; index: number };
}

/**
 * Plans a search on an index whose embedder has `dimensions` (null: none configured yet, so no
 * chunk there has a vector). As in the embedded engine: without a query vector, or with one of
 * another dimension, vector and hybrid requests run as keyword search; on an index with no
 * vectors, vector search finds nothing and hybrid search is its keyword half.
 */
export function planSearch(request: SearchRequest, dimensions: number | null): PlannedSearch {
  const plan = searchFor(request, dimensions);
  // An empty list of documents matches none (as in the embedded engine); Meilisearch needs no asking.
  return request.filter.documentIds?.length === 0 ? { ...plan, params: null, highlighted: false } : plan;
}

function searchFor(request: SearchRequest, dimensions: number | null): PlannedSearch {
  const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(request.limit) || 1));
  const filter = filterExpression(request.filter);
  const base: SearchParams = { limit, showRankingScore: true, rankingScoreThreshold: NO_MATCH_THRESHOLD, attributesToRetrieve: [...RETRIEVED], ...(filter === undefined ? {} : { filter }) };
  const words: SearchParams = {
    ...base,
    q: request.query,
    // Drop the most common words first when not all match, not the last ones typed: questions end
    // with the words that matter ("how do I replace the oil filter").
    matchingStrategy: 'frequency',
    attributesToHighlight: ['text'],
    highlightPreTag: MARK.pre,
    highlightPostTag: MARK.post,
  };
  const vector = request.mode === 'keyword' || !request.vector || request.vector.length === 0 ? null : request.vector;
  if (vector === null) return { params: words, mode: 'keyword', highlighted: true };
  if (dimensions === null) {
    return request.mode === 'vector' ? { params: null, mode: 'vector', highlighted: false } : { params: words, mode: 'hybrid', highlighted: true };
  }
  if (vector.length !== dimensions) return { params: words, mode: 'keyword', highlighted: true, vectorMismatch: { query: vector.length, index: dimensions } };
  const semantic = { vector: Array.from(vector) };
  if (request.mode === 'vector') return { params: { ...base, ...semantic, hybrid: { embedder: EMBEDDER, semanticRatio: 1 } }, mode: 'vector', highlighted: false };
  const semanticRatio = Math.min(1, Math.max(0, request.semanticRatio ?? DEFAULT_SEMANTIC_RATIO));
  return { params: { ...words, ...semantic, hybrid: { embedder: EMBEDDER, semanticRatio } }, mode: 'hybrid', highlighted: true };
}
