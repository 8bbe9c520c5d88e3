import { existsSync } from 'node:fs';
import type { Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { EmbeddedStore } from '../store/embedded.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import type { AdminOutput } from './command.ts';
import { storeFileIn } from './store-in-use.ts';

/**
 * The store the server is configured with: MongoDB when MONGODB_URL is set, else the embedded one
 * in DATA_DIR, which must already exist (a command never creates an empty store by mistake).
 * Null, with the reason said, when there is none.
 */
export async function openConfiguredStore(config: Config, out: AdminOutput): Promise<Store | null> {
  if (config.MONGODB_URL) return openStore(config, createLogger({ level: 'silent' }));
  const file = storeFileIn(config.dataDir);
  if (!existsSync(file)) {
    out.warn(`DATA_DIR holds no Lectern store (${file}); check DATA_DIR (or set MONGODB_URL as for the server)`);
    return null;
  }
  return new EmbeddedStore(file);
}
