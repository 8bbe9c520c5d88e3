import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BaseDocument, Collection, Filter } from '../store/store.ts';

// Deleting or rewriting many records at once holds the event loop for as long as the store takes
// (the embedded store is synchronous SQLite): a purge of a year of audit entries, or an
// organisation's chunks, would stall every other request. These do it a batch at a time, with a
// turn of the event loop between batches.

export const BATCH = 500;

/** Deletes the records matching `filter` a batch at a time; returns how many went. */
export async function deleteInBatches<T extends BaseDocument>(collection: Collection<T>, filter: Filter<T>, batch = BATCH): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = (await collection.find(filter, { projection: { _id: 1 }, limit: batch }).toArray()).map((d) => d._id);
    if (ids.length === 0) return deleted;
    deleted += (await collection.deleteMany({ $and: [filter, { _id: { $in: ids } } as unknown as Filter<T>] } as Filter<T>)).deletedCount;
    await nextTurn();
  }
}

/** Replaces each record matching `filter` with `change(record)` (unchanged when it returns null); returns how many changed. */
export async function rewriteInBatches<T extends BaseDocument>(collection: Collection<T>, filter: Filter<T>, change: (doc: T) => T | null, batch = BATCH): Promise<number> {
  let changed = 0;
  let after = '';
  for (;;) {
    const page = await collection.find({ $and: [filter, { _id: { $gt: after } } as unknown as Filter<T>] } as Filter<T>, { sort: { _id: 1 }, limit: batch }).toArray();
    if (page.length === 0) return changed;
    for (const doc of page) {
      const next = change(doc);
      if (next) changed += (await collection.replaceOne({ _id: doc._id } as unknown as Filter<T>, next)).modifiedCount;
    }
    after = page.at(-1)!._id;
    await nextTurn();
  }
}
