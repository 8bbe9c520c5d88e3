import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkDoc } from '../chunks/chunk.ts';
import { createLogger } from '../logger.ts';
import { openEmbeddedStore } from '../store/embedded.ts';
import { createEmbeddedSearch } from './embedded/engine.ts';
import type { SearchIndex } from './search.ts';
import { SearchSync, type PendingSearchChange } from './sync.ts';

const log = createLogger({ level: 'silent' });

function chunk(documentId: string, index: number, text: string, kbId = 'kb-1'): ChunkDoc {
  return {
    _id: `${documentId}-${index}`,
    organisationId: 'org',
    kbId,
    documentId,
    documentName: `${documentId}.txt`,
    index,
    text,
    headings: [],
    page: null,
    pageEnd: null,
    pages: [],
    start: 0,
    end: text.length,
    tokens: 4,
    vector: null,
    embeddingModel: null,
  };
}

/** The real index, with writes that fail while `failing` is set: a crash between the store and the index. */
function interruptible(index: SearchIndex): SearchIndex & { failing: boolean } {
  const wrapped = Object.create(index) as SearchIndex & { failing: boolean };
  wrapped.failing = false;
  wrapped.upsert = (batch) => (wrapped.failing ? Promise.reject(new Error('power cut')) : index.upsert(batch));
  return wrapped;
}

async function setUp() {
  const store = openEmbeddedStore({ path: ':memory:' });
  const index = interruptible(await createEmbeddedSearch({ file: null }));
  const deps = {
    index,
    chunks: store.collection<ChunkDoc>('chunks'),
    counters: store.collection<{ _id: string; n: number }>('counters'),
    pending: store.collection<PendingSearchChange>('search_pending'),
    log,
  };
  const found = async (query: string) =>
    (await index.search({ query, filter: { organisationId: 'org' }, limit: 10, mode: 'keyword' })).hits.map((h) => h.id).sort();
  return { store, index, deps, found, sync: new SearchSync(deps) };
}

describe('SearchSync', () => {
  it('repairs only the scope of a change the index missed, rather than rebuilding', async () => {
    const { index, deps, found, sync } = await setUp();
    assert.deepEqual(await sync.reconcile(), { rebuilt: true, repaired: 0, chunks: 0 }, 'a new installation starts from an empty rebuild');
    await sync.replaceDocument({ organisationId: 'org', documentId: 'a' }, [chunk('a', 0, 'pump seals'), chunk('a', 1, 'pump bearings')]);
    await sync.replaceDocument({ organisationId: 'org', documentId: 'b' }, [chunk('b', 0, 'valve seals')]);
    index.failing = true;
    await assert.rejects(sync.replaceDocument({ organisationId: 'org', documentId: 'b' }, [chunk('b', 0, 'valve gaskets')]), /power cut/);
    index.failing = false;
    assert.deepEqual(await found('gaskets'), [], 'the index missed the change');
    assert.equal(await deps.pending.countDocuments({}), 1);

    const afterRestart = new SearchSync(deps);
    assert.deepEqual(await afterRestart.reconcile(), { rebuilt: false, repaired: 1, chunks: 0 });
    assert.deepEqual(await found('gaskets'), ['b-0']);
    assert.deepEqual(await found('seals'), ['a-0'], "b's old chunk is gone, a's untouched");
    assert.equal(await deps.pending.countDocuments({}), 0);
    assert.deepEqual(await afterRestart.reconcile(), { rebuilt: false, repaired: 0, chunks: 0 });
  });

  it('repairs an interrupted removal of a knowledge base', async () => {
    const { index, deps, found, sync } = await setUp();
    await sync.reconcile();
    await sync.replaceDocument({ organisationId: 'org', documentId: 'a' }, [chunk('a', 0, 'pump seals')]);
    await sync.replaceDocument({ organisationId: 'org', documentId: 'c' }, [chunk('c', 0, 'pump filters', 'kb-2')]);
    const deleteOnce = index.delete.bind(index);
    index.delete = () => Promise.reject(new Error('power cut'));
    await assert.rejects(sync.remove({ organisationId: 'org', kbId: 'kb-2' }), /power cut/);
    index.delete = deleteOnce;
    assert.deepEqual(await found('pump'), ['a-0', 'c-0']);
    await new SearchSync(deps).reconcile();
    assert.deepEqual(await found('pump'), ['a-0']);
  });

  it('rebuilds when the index missed changes no note accounts for', async () => {
    const { index, deps, found, sync } = await setUp();
    await sync.reconcile();
    await sync.replaceDocument({ organisationId: 'org', documentId: 'a' }, [chunk('a', 0, 'pump seals')]);
    // Another process (or a restored backup) moved the store on without telling this index.
    await deps.counters.updateOne({ _id: 'search' }, { $inc: { n: 3 } });
    await deps.chunks.insertOne(chunk('d', 0, 'pump housing'));
    const result = await new SearchSync(deps).reconcile();
    assert.deepEqual(result, { rebuilt: true, repaired: 0, chunks: 2 });
    assert.deepEqual(await found('pump'), ['a-0', 'd-0']);
    assert.equal(await index.generation(), 4);
  });
});
