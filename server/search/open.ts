import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createEmbeddedSearch } from './embedded.ts';
import type { SearchIndex } from './search.ts';

/** Chooses the search implementation from configuration. Meilisearch joins here when MEILI_URL is set. */
export async function openSearchIndex(config: Config, log: Logger): Promise<SearchIndex> {
  const dir = path.join(config.dataDir, 'search');
  const index = await createEmbeddedSearch({ dir }, { log });
  log.info({ kind: index.kind, dir }, 'search index opened');
  return index;
}
