import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { EmbeddedStore, openEmbeddedStore } from './embedded.ts';
import type { Store } from './store.ts';

/** Chooses the store implementation from configuration. MongoDB joins here when MONGODB_URL is set. */
export async function openStore(config: Config, log: Logger): Promise<Store> {
  const dir = path.join(config.dataDir, 'store');
  const store = await openEmbeddedStore({ dir });
  log.info({ kind: store.kind, dir }, 'store opened');
  return store;
}

/** The SQLite file of an embedded store, where other embedded ports may keep their tables (one file, one backup); null otherwise. */
export function sqliteFileOf(store: Store): string | null {
  return store instanceof EmbeddedStore ? store.file : null;
}
