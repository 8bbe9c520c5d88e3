// The store's half of a backup by implementation: none to add for the embedded store (its file
// is snapshotted with DATA_DIR), a logical dump for MongoDB (server/backup/mongo.ts).

import { mongoDatabaseOf } from '../mongo/mongo.ts';
import type { Store } from '../store/store.ts';
import { dumpMongo } from './mongo.ts';
import type { BackupDeps } from './service.ts';

export function storeHalves(store: Store): Pick<BackupDeps, 'dumpStore'> {
  const db = mongoDatabaseOf(store);
  return db ? { dumpStore: (into, key) => dumpMongo(db, into, key) } : {};
}
