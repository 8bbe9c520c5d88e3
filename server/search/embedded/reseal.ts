// A data key rotation re-seals the index's stored chunk records where they are, with the server
// stopped, instead of rebuilding the whole index from the store at the next start.

import { openSqlite, transaction } from '../../sqlite/connection.ts';

/** What a chunk record's seal is bound to, so it opens nowhere else. */
export const SEARCH_RECORD_CONTEXT = 'search_chunks.record';

const BATCH = 500;

/** Rewrites each record `reseal` changes (null leaves it as it is), a batch per transaction; returns how many changed. */
export function resealRecords(file: string, reseal: (stored: string) => string | null): number {
  const db = openSqlite(file);
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_chunks'").get()) return 0;
    const select = db.prepare('SELECT row, record FROM search_chunks WHERE row > ? ORDER BY row LIMIT ?');
    const update = db.prepare('UPDATE search_chunks SET record = ? WHERE row = ?');
    let after = 0;
    let changed = 0;
    for (;;) {
      const rows = select.all(after, BATCH) as Array<{ row: number; record: string }>;
      if (rows.length === 0) return changed;
      transaction(db, () => {
        for (const { row, record } of rows) {
          const next = reseal(record);
          if (next !== null) changed += Number(update.run(next, row).changes);
        }
      });
      after = rows.at(-1)!.row;
    }
  } finally {
    db.close();
  }
}
