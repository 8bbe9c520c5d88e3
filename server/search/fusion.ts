// Scores every engine reports on one scale, [0, 1], so the agent's relevance thresholds hold
// whichever engine ranked the hits (Meilisearch reports `_rankingScore` in [0, 1] too), and the
// hybrid fusion that mixes keyword and vector lists the way Meilisearch's semantic ratio does.

/** Candidates taken from each list before hybrid fusion, whatever the requested limit. */
export const HYBRID_DEPTH = 100;
export const DEFAULT_SEMANTIC_RATIO = 0.5;

export interface Ranked<T> {
  item: T;
  score: number;
}

/**
 * Keyword scores relative to the best hit, scaled by how much of the query that hit covers: a
 * query whose best match holds one of five terms should not report a confident 1.0.
 * `list` is best first; `matched` counts the distinct query terms a hit holds.
 */
export function normaliseKeyword<T>(list: ReadonlyArray<{ item: T; score: number; matched: number }>, queryTerms: number): Ranked<T>[] {
  const top = list[0];
  if (!top || top.score <= 0 || queryTerms === 0) return [];
  const scale = Math.min(1, top.matched / queryTerms) / top.score;
  return list.map(({ item, score }) => ({ item, score: score * scale }));
}

/** A cosine in [-1, 1] as a score in [0, 1]. */
export const cosineScore = (cosine: number): number => (1 + cosine) / 2;

/**
 * Meilisearch-style hybrid: (1 − ratio) × keyword score + ratio × vector score. Cosines are
 * min-max normalised over this query's candidates: for most models the cosine of unrelated texts
 * sits well above zero, so only a candidate's position among them compares with keyword scores.
 * `key` identifies the same item in both lists; `order` breaks score ties deterministically.
 */
export function fuse<T>(
  keyword: readonly Ranked<T>[],
  vector: ReadonlyArray<{ item: T; cosine: number }>,
  ratio: number,
  key: (item: T) => string,
): Ranked<T>[] {
  const first = vector[0]?.cosine ?? 0;
  const last = vector.at(-1)?.cosine ?? 0;
  const span = first - last;
  const fused = new Map<string, Ranked<T>>();
  for (const { item, score } of keyword.slice(0, HYBRID_DEPTH)) fused.set(key(item), { item, score: (1 - ratio) * score });
  for (const { item, cosine } of vector) {
    const normalised = span > 0 ? (cosine - last) / span : 1;
    const entry = fused.get(key(item)) ?? { item, score: 0 };
    entry.score += ratio * normalised;
    fused.set(key(item), entry);
  }
  return [...fused.values()].filter((s) => s.score > 0).sort((a, b) => b.score - a.score || compare(key(a.item), key(b.item)));
}

export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const clampScore = (score: number): number => Math.min(1, Math.max(0, score));
