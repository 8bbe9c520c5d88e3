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
/** Chunks per store read or write: bounds memory while rebuilding and the time one transaction takes. */
const REBUILD_BATCH = 256;

/**
 * Keeps the search index a faithful copy of the chunks in the store. Every change bumps a
 * generation counter in the store first and tells the index afterwards, so an index that missed
 * a change (a crash between the two, a deleted or corrupt index directory, a restored backup)
 * shows a stale generation at boot and is rebuilt from the store. Changes are serialised so the
 * recorded generation only moves forward.
 */
export class SearchSync {
  readonly #index: SearchIndex;
  readonly #chunks: Collection<ChunkDoc>;
  readonly #counters: Collection<{ _id: string; n: number }>;
  readonly #log: Logger;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(deps: { index: SearchIndex; chunks: Collection<ChunkDoc>; counters: Collection<{ _id: string; n: number }>; log: Logger }) {
    this.#index = deps.index;
    this.#chunks = deps.chunks;
    this.#counters = deps.counters;
    this.#log = deps.log;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work, work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #bump(): Promise<number> {
    const doc = await this.#counters.findOneAndUpdate({ _id: GENERATION_ID }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
    return doc?.n ?? 1;
  }

  /**
   * Compares generations and rebuilds the index from the store when they differ, a page of
   * chunks at a time (never the whole store in memory), telling `report` how far it got.
   */
  reconcile(report: (message: string) => void = () => undefined): Promise<{ rebuilt: boolean; chunks: number }> {
    return this.#serial(async () => {
      const stored = (await this.#counters.findOne({ _id: GENERATION_ID }))?.n ?? 0;
      const indexed = await this.#index.generation();
      if (indexed === stored && indexed !== null) return { rebuilt: false, chunks: 0 };
      // A new installation has nothing to rebuild; anything else means the index missed changes.
      if (stored > 0) this.#log.warn({ indexed, stored }, 'search index is behind the store; rebuilding it');
      const started = performance.now();
      const expected = await this.#chunks.countDocuments({});
      await this.#index.clear();
      let total = 0;
      let after = '';
      for (;;) {
        report(`rebuilding from the store: ${total} of ${expected} chunks`);
        const page = await this.#chunks.find({ _id: { $gt: after } }, { sort: { _id: 1 }, limit: REBUILD_BATCH }).toArray();
        if (page.length === 0) break;
        await this.#index.upsert(page.map(toChunkRecord));
        total += page.length;
        after = page.at(-1)!._id;
      }
      await this.#index.setGeneration(stored);
      if (stored > 0) this.#log.info({ chunks: total, ms: Math.round(performance.now() - started) }, 'search index rebuilt');
      return { rebuilt: true, chunks: total };
    });
  }

  /** Replaces a document's chunks: store first, then the index. */
  replaceDocument(filter: Required<Pick<DeleteFilter, 'organisationId' | 'documentId'>>, chunks: ChunkDoc[]): Promise<void> {
    return this.#serial(async () => {
      await this.#chunks.deleteMany({ organisationId: filter.organisationId, documentId: filter.documentId });
      // A transaction per slice keeps a long document from holding the event loop in one write.
      for (let i = 0; i < chunks.length; i += REBUILD_BATCH) await this.#chunks.insertMany(chunks.slice(i, i + REBUILD_BATCH));
      const generation = await this.#bump();
      await this.#index.delete(filter);
      await this.#index.upsert(chunks.map(toChunkRecord));
      await this.#index.setGeneration(generation);
    });
  }

  /** Removes chunks of a document or a whole knowledge base. */
  remove(filter: DeleteFilter): Promise<void> {
    return this.#serial(async () => {
      const where: Record<string, string> = { organisationId: filter.organisationId };
      if (filter.kbId) where['kbId'] = filter.kbId;
      if (filter.documentId) where['documentId'] = filter.documentId;
      await this.#chunks.deleteMany(where);
      const generation = await this.#bump();
      await this.#index.delete(filter);
      await this.#index.setGeneration(generation);
    });
  }
}
