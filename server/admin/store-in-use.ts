import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** Where the embedded store keeps its SQLite file under DATA_DIR (server/store/open.ts). */
export const storeFileIn = (dataDir: string): string => path.join(dataDir, 'store', 'lectern.sqlite');

/**
 * Whether another process — a running server — has the store open. Every open connection to a
 * database in WAL mode holds a shared lock on its file for as long as it is open, so an exclusive
 * lock is granted only when no other connection exists. The lock is released at once: the caller
 * then opens the store itself.
 */
export function storeInUse(file: string): boolean {
  if (!existsSync(file)) return false;
  const db = new DatabaseSync(file);
  try {
    db.exec('PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;');
    return false;
  } catch (err) {
    if (/locked|busy/i.test((err as Error).message)) return true;
    throw err;
  } finally {
    db.close();
  }
}
