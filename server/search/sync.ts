export type { ChunkDoc } from '../chunks/chunk.ts';
import type { Logger } from '../logger.ts';
import type { Collection } from '../store/store.ts';
import type { ChunkRecord, DeleteFilter, SearchIndex } from './search.ts';
import type { ChunkDoc } from '../chunks/chunk.ts';
import { decodeVector } from '../embeddings/vectors.ts';

export function toChunkRecord(c: ChunkDoc): ChunkRecord {
  return {
    id: c._id,
    organisationId: c.organisationId,
    kbId: c.kbId,
    documentId: c.documentId,
    documentName: c.documentName,
    headings: c.headings,
    page: c.page,
    pageEnd: c.pageEnd,
    pages: c.pages ?? [],
    start: c.start,
    end: c.end,
    text: c.text,
    vector: c.vector ? decodeVector(c.vector) : undefined,
  };
}

const GENERATION_ID = 'search';
/** An operator's request for a full rebuild at the next reconcile (`npm run admin -- reindex`): a counter of its own, so changes made meanwhile cannot cancel it. */
const REBUILD_REQUEST_ID = 'search-rebuild';

/** Asks for the index to be rebuilt from the store at the next reconcile (the next start of a server). */
export async function requestSearchRebuild(counters: Collection<{ _id: string; n: number }>): Promise<void> {
  await counters.findOneAndUpdate({ _id: REBUILD_REQUEST_ID }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
}
/** Chunks per store read or write: bounds memory while rebuilding and the time one transaction takes. */
const REBUILD_BATCH = 256;

/** The store's filter for the chunks in a change's scope. */
function chunksIn(scope: DeleteFilter): Record<string, string> {
  const where: Record<string, string> = { organisationId: scope.organisationId };
  if (scope.kbId !== undefined) where['kbId'] = scope.kbId;
  if (scope.documentId !== undefined) where['documentId'] = scope.documentId;
  return where;
}

/** A change the index may have missed: the generation it bumped the counter to, and its scope. */
export interface PendingSearchChange {
  _id: string;
  generation: number;
  organisationId: string;
  kbId?: string;
  documentId?: string;
}

export interface SearchSyncDeps {
  index: SearchIndex;
  chunks: Collection<ChunkDoc>;
  counters: Collection<{ _id: string; n: number }>;
  pending: Collection<PendingSearchChange>;
  log: Logger;
}

/**
 * Keeps the search index a faithful copy of the chunks in the store. Every change bumps a
 * generation counter in the store and leaves a note of its scope before touching anything, and
 * the index records the generation once it has the change. At boot, an index whose missing
 * generations all have notes (a crash mid-change) is repaired scope by scope; one that missed
 * changes without notes, or is new, lost or from another backup, is rebuilt from the store.
 * Changes are serialised so generations only move forward.
 */
export class SearchSync {
  readonly #d: SearchSyncDeps;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(deps: SearchSyncDeps) {
    this.#d = deps;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work, work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #bump(): Promise<number> {
    const doc = await this.#d.counters.findOneAndUpdate({ _id: GENERATION_ID }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
    return doc?.n ?? 1;
  }

  /** Runs one change: noted, applied to the store and the index, recorded, and the note dropped. */
  async #change(scope: DeleteFilter, apply: (generation: number) => Promise<void>): Promise<void> {
    const generation = await this.#bump();
    const note: PendingSearchChange = { _id: String(generation), generation, organisationId: scope.organisationId };
    if (scope.kbId !== undefined) note.kbId = scope.kbId;
    if (scope.documentId !== undefined) note.documentId = scope.documentId;
    await this.#d.pending.insertOne(note);
    await apply(generation);
    await this.#d.index.setGeneration(generation);
    await this.#d.pending.deleteOne({ _id: note._id });
  }

  /** Copies the store's chunks matching `where` into the index, a page at a time. */
  async #copy(where: Record<string, string>, progress: (copied: number) => void = () => undefined): Promise<number> {
    let total = 0;
    let after = '';
    for (;;) {
      progress(total);
      const page = await this.#d.chunks.find({ ...where, _id: { $gt: after } }, { sort: { _id: 1 }, limit: REBUILD_BATCH }).toArray();
      if (page.length === 0) return total;
      await this.#d.index.upsert(page.map(toChunkRecord));
      total += page.length;
      after = page.at(-1)!._id;
    }
  }

  /**
   * Brings the index up to date with the store at boot: repairs the scopes of interrupted changes
   * when notes account for every generation it missed, and rebuilds it otherwise (a page of
   * chunks at a time, never the whole store in memory), telling `report` how far it got.
   */
  reconcile(report: (message: string) => void = () => undefined): Promise<{ rebuilt: boolean; repaired: number; chunks: number }> {
    return this.#serial(async () => {
      const stored = (await this.#d.counters.findOne({ _id: GENERATION_ID }))?.n ?? 0;
      const indexed = await this.#d.index.generation();
      const notes = await this.#d.pending.find({}, { sort: { generation: 1 } }).toArray();
      const noted = new Set(notes.map((n) => n.generation));
      const requested = await this.#d.counters.findOne({ _id: REBUILD_REQUEST_ID });
      const accounted = !requested && indexed !== null && indexed <= stored && Array.from({ length: stored - indexed }, (_, i) => indexed + 1 + i).every((g) => noted.has(g));
      if (accounted) {
        for (const [i, note] of notes.entries()) {
          report(`repairing interrupted changes: ${i} of ${notes.length}`);
          await this.#repair(note);
        }
        if (notes.length > 0) {
          await this.#d.index.setGeneration(stored);
          await this.#d.pending.deleteMany({});
          this.#d.log.info({ changes: notes.length }, 'search index repaired after interrupted changes');
        }
        return { rebuilt: false, repaired: notes.length, chunks: 0 };
      }
      // A new installation has nothing to rebuild; anything else means the index missed changes.
      if (requested) this.#d.log.info({ indexed, stored }, 'a rebuild of the search index was requested (npm run admin -- reindex); rebuilding it');
      else if (stored > 0) this.#d.log.warn({ indexed, stored }, 'search index is behind the store; rebuilding it');
      const started = performance.now();
      const expected = await this.#d.chunks.countDocuments({});
      await this.#d.index.clear();
      const total = await this.#copy({}, (copied) => report(`rebuilding from the store: ${copied} of ${expected} chunks`));
      await this.#d.index.setGeneration(stored);
      await this.#d.pending.deleteMany({});
      // Only the requests this rebuild answered: one made while it ran asks for another.
      if (requested) await this.#d.counters.deleteOne({ _id: REBUILD_REQUEST_ID, n: requested.n });
      if (stored > 0 || requested) this.#d.log.info({ chunks: total, ms: Math.round(performance.now() - started) }, 'search index rebuilt');
      return { rebuilt: true, repaired: 0, chunks: total };
    });
  }

  /** Makes the index hold exactly what the store holds in an interrupted change's scope. */
  async #repair(note: PendingSearchChange): Promise<void> {
    const scope: DeleteFilter = { organisationId: note.organisationId, kbId: note.kbId, documentId: note.documentId };
    await this.#d.index.delete(scope);
    await this.#copy(chunksIn(scope));
  }

  /** Replaces a document's chunks: store first, then the index. */
  replaceDocument(filter: Required<Pick<DeleteFilter, 'organisationId' | 'documentId'>>, chunks: ChunkDoc[]): Promise<void> {
    return this.#serial(() =>
      this.#change(filter, async () => {
        await this.#d.chunks.deleteMany({ organisationId: filter.organisationId, documentId: filter.documentId });
        // A transaction per slice keeps a long document from holding the event loop in one write.
        for (let i = 0; i < chunks.length; i += REBUILD_BATCH) await this.#d.chunks.insertMany(chunks.slice(i, i + REBUILD_BATCH));
        await this.#d.index.delete(filter);
        await this.#d.index.upsert(chunks.map(toChunkRecord));
      }),
    );
  }

  /** Removes chunks of a document or a whole knowledge base. */
  remove(filter: DeleteFilter): Promise<void> {
    return this.#serial(() =>
      this.#change(filter, async () => {
        await this.#d.chunks.deleteMany(chunksIn(filter));
        await this.#d.index.delete(filter);
      }),
    );
  }
}
