import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { openMongoStore } from '../mongo/mongo.ts';
import { EmbeddedStore, openEmbeddedStore } from './embedded.ts';
import type { Store } from './store.ts';

/** Chooses the store implementation from configuration: MongoDB when MONGODB_URL is set, else the embedded file. */
export async function openStore(config: Config, log: Logger): Promise<Store> {
  if (config.MONGODB_URL) {
    // The URL may carry a password, so only the database is logged.
    const store = await openMongoStore(config.MONGODB_URL);
    log.info({ kind: store.kind, database: store.databaseName }, 'store opened');
    return store;
  }
  const dir = path.join(config.dataDir, 'store');
  const store = await openEmbeddedStore({ dir });
  log.info({ kind: store.kind, dir }, 'store opened');
  return store;
}

/** The SQLite file of an embedded store, where other embedded ports may keep their tables (one file, one backup); null otherwise. */
export function sqliteFileOf(store: Store): string | null {
  return store instanceof EmbeddedStore ? store.file : null;
}
