// Ranking across the shards a search names: keyword candidates from each shard's BM25+, vector
// candidates from each shard's exact cosine, merged, normalised to the port's [0, 1] scale (and
// fused for hybrid), then turned into hits with their stored records.

import type { Logger } from '../../logger.ts';
import type { Analyzer } from '../analyzer.ts';
import { clampScore, compare, normaliseKeyword, type Ranked } from '../fusion.ts';
import type { SearchFilter, SearchHit } from '../search.ts';
import type { QueryTerm, Shard } from './shard.ts';
import type { ChunkRecordFields } from './tables.ts';

/** A chunk found in a shard. */
export interface Hit {
  shard: Shard;
  doc: number;
}

export const hitKey = (h: Hit): string => h.shard.chunkId(h.doc);

/** The query's distinct terms, each weighted by how often the query says it. */
export function queryTerms(analyzer: Analyzer, query: string): QueryTerm[] {
  const weights = new Map<string, number>();
  for (const term of analyzer.analyze(query)) weights.set(term, (weights.get(term) ?? 0) + 1);
  return [...weights].map(([term, weight]) => ({ term, weight }));
}

function accepter(shard: Shard, filter: SearchFilter): (doc: number) => boolean {
  if (!filter.documentIds) return () => true;
  const slots = shard.documentSlots(filter.documentIds);
  return (doc) => slots.has(shard.documentSlot(doc));
}

/**
 * The best `depth` keyword candidates over `shards`. Several shards (an organisation-wide search)
 * are merged by raw BM25+, whose statistics differ per shard: an approximation that one
 * knowledge base's searches, the usual case, never need.
 */
export function keywordHits(shards: readonly Shard[], terms: readonly QueryTerm[], depth: number, filter: SearchFilter): Ranked<Hit>[] {
  const candidates = shards.flatMap((shard) => shard.keyword(terms, depth, accepter(shard, filter)).map((c) => ({ item: { shard, doc: c.doc }, score: c.score, matched: c.matched })));
  candidates.sort((a, b) => b.score - a.score || compare(hitKey(a.item), hitKey(b.item)));
  return normaliseKeyword(candidates.slice(0, depth), terms.length);
}

export function vectorHits(shards: readonly Shard[], vector: Float32Array, depth: number, filter: SearchFilter): Array<{ item: Hit; cosine: number }> {
  const candidates = shards.flatMap((shard) => shard.vector(vector, depth, accepter(shard, filter)).map((c) => ({ item: { shard, doc: c.doc }, cosine: c.cosine })));
  candidates.sort((a, b) => b.cosine - a.cosine || compare(hitKey(a.item), hitKey(b.item)));
  return candidates.slice(0, depth);
}

/** A query vector the shards can use, or null (a missing vector or another dimension runs as keyword search). */
export function usableVector(shards: readonly Shard[], vector: Float32Array | undefined, log: Logger | undefined): Float32Array | null {
  if (!vector || vector.length === 0) return null;
  const dimensions = new Set(shards.map((s) => s.vectors.dimension).filter((d) => d !== null));
  if (dimensions.size > 0 && !dimensions.has(vector.length)) {
    log?.warn({ query: vector.length, index: [...dimensions] }, 'query vector dimension differs from the index; searching keywords only');
    return null;
  }
  return vector;
}

export type RecordLookup = (ids: readonly string[]) => Map<string, { documentId: string; fields: ChunkRecordFields }>;

/** Hits with their stored records and the query's words as they appear in each text. */
export function toHits(ranked: readonly Ranked<Hit>[], terms: ReadonlySet<string>, records: RecordLookup, analyzer: Analyzer): SearchHit[] {
  const found = records(ranked.map((r) => hitKey(r.item)));
  return ranked.flatMap(({ item, score }) => {
    const id = hitKey(item);
    const record = found.get(id);
    if (!record) return [];
    const f = record.fields;
    return [
      {
        id,
        documentId: record.documentId,
        documentName: f.documentName,
        kbId: item.shard.kbId,
        headings: f.headings,
        page: f.page,
        pageEnd: f.pageEnd,
        pages: f.pages,
        start: f.start,
        end: f.end,
        text: f.text,
        score: clampScore(score),
        matchedTerms: terms.size > 0 ? analyzer.surfaceForms(f.text, terms) : [],
      },
    ];
  });
}
