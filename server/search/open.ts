import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { textSeal } from '../crypto/envelope.ts';
import { createEmbeddedSearch } from './embedded/engine.ts';
import { createMeiliSearch } from '../meili/meili.ts';
import { SEARCH_RECORD_CONTEXT } from './embedded/reseal.ts';
import type { SearchIndex } from './search.ts';

// Files of the search index before it moved into SQLite: a snapshot and journal holding chunk text.
const LEGACY_FILE = /^(manifest\.json|(chunks|vectors|keyword|journal)-\d+\.(ndjson|f32|json|log))(\.tmp)?$/;

/**
 * Chooses the search implementation from configuration: Meilisearch when MEILI_URL is set (it
 * keeps nothing in DATA_DIR), else the embedded index, which keeps its tables in the embedded
 * store's SQLite file when there is one, so the store and the index are one file and one backup;
 * otherwise in DATA_DIR/search.
 */
export async function openSearchIndex(config: Config, log: Logger, options: { storeFile: string | null }): Promise<SearchIndex> {
  if (config.MEILI_URL) {
    const index = createMeiliSearch(
      { url: config.MEILI_URL, apiKey: config.MEILI_MASTER_KEY, prefix: config.MEILI_INDEX_PREFIX, taskTimeoutMs: config.MEILI_TASK_TIMEOUT_SECONDS * 1000 },
      { log },
    );
    log.info({ kind: index.kind, url: config.MEILI_URL, prefix: config.MEILI_INDEX_PREFIX }, 'search index opened');
    return index;
  }
  const dir = path.join(config.dataDir, 'search');
  await removeLegacySnapshot(dir, log);
  const file = options.storeFile ?? path.join(dir, 'index.sqlite');
  const index = await createEmbeddedSearch({ file, records: textSeal(config.dataKeys, SEARCH_RECORD_CONTEXT) }, { log });
  log.info({ kind: index.kind, file }, 'search index opened');
  return index;
}

/** The old snapshot is stale by construction and holds the text of deleted documents: it goes. */
async function removeLegacySnapshot(dir: string, log: Logger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const legacy = names.filter((name) => LEGACY_FILE.test(name));
  for (const name of legacy) await rm(path.join(dir, name), { force: true });
  if (legacy.length > 0) log.info({ dir, files: legacy.length }, 'removed the search snapshot of an earlier version; the index is rebuilt from the store');
}
