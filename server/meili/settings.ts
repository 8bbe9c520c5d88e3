// The settings every organisation's index carries.

import type { Settings } from 'meilisearch';
import { STOPWORDS } from '../search/analyzer.ts';
import { EMBEDDER } from './records.ts';

/** The document field Meilisearch identifies chunks by (the chunk id as a key, see records.ts). */
export const PRIMARY_KEY = 'pk';

/**
 * Text first, then headings, then the document's name: Meilisearch's `attribute` rule ranks a
 * match in an earlier field higher. Filters compare the base64url keys only. The stop words are
 * the embedded analyzer's English list, so both engines ignore the same words.
 */
export function indexSettings(): Settings {
  return {
    searchableAttributes: ['text', 'headings', 'documentName'],
    filterableAttributes: ['kbKey', 'documentKey'],
    stopWords: [...STOPWORDS].sort(),
  };
}

/** The embedder setting for vectors of `dimensions`, which Lectern computes itself. */
export const embedderSettings = (dimensions: number): Settings => ({ embedders: { [EMBEDDER]: { source: 'userProvided', dimensions } } });

/** The embedder dimension an index's settings configure, or null when it has none. */
export function embedderDimensions(settings: Settings): number | null {
  const embedder = settings.embedders?.[EMBEDDER] as { dimensions?: number } | null | undefined;
  return typeof embedder?.dimensions === 'number' ? embedder.dimensions : null;
}

/** Whether `current` already has what indexSettings asks for (lists compared as sets where Meilisearch keeps sets). */
export function settingsCurrent(current: Settings): boolean {
  const wanted = indexSettings();
  const same = (a: unknown, b: unknown, ordered: boolean): boolean => {
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    const norm = (list: unknown[]) => (ordered ? list : [...list].sort()).map((x) => JSON.stringify(x)).join('\n');
    return norm(a) === norm(b);
  };
  return (
    same(current.searchableAttributes, wanted.searchableAttributes, true) &&
    same(current.filterableAttributes, wanted.filterableAttributes, false) &&
    same(current.stopWords, wanted.stopWords, false)
  );
}
