import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Meilisearch } from 'meilisearch';
import { AppError } from '../errors.ts';
import { createAnalyzer } from '../search/analyzer.ts';
import { CONTRACT_DIMENSIONS, isolationContract, makeChunk, searchContract, unitVector } from '../search/contract.ts';
import type { SearchIndex, SearchRequest } from '../search/search.ts';
import { createMeiliSearch } from './meili.ts';
import { buildStartedAt, metaIndex, newBuildId, organisationIndex, parseIndex } from './names.ts';
import { analyzedWords, EMBEDDER, highlightedWords, key, MARK, RETRIEVED, toDocument, toHit } from './records.ts';
import { filterExpression, planSearch, quote } from './requests.ts';
import { indexSettings, settingsCurrent } from './settings.ts';
import { MeiliTaskError, settle } from './tasks.ts';

const MEILI_URL = process.env['MEILI_URL'];
const MEILI_MASTER_KEY = process.env['MEILI_MASTER_KEY'];

describe('Meilisearch index names', () => {
  it('names one index per organisation and tells live, rebuild and meta indexes apart', () => {
    assert.equal(organisationIndex('lectern', 'k3x7q'), 'lectern_k3x7q');
    assert.equal(organisationIndex('lectern', 'org-a', 'b1'), 'lectern_org-a_b1');
    assert.deepEqual(parseIndex('lectern', 'lectern_org-a'), { organisationId: 'org-a', build: null });
    assert.deepEqual(parseIndex('lectern', 'lectern_org-a_b1'), { organisationId: 'org-a', build: 'b1' });
    assert.equal(parseIndex('lectern', metaIndex('lectern')), null);
    assert.equal(parseIndex('lectern', 'lectern-other_org-a'), null, "another prefix's index");
    assert.equal(parseIndex('lectern', 'movies'), null);
  });

  it('refuses organisation ids that could alias another index', () => {
    assert.throws(() => organisationIndex('lectern', ''), /must name the organisation/);
    assert.throws(() => organisationIndex('lectern', 'a_b'), TypeError, 'an underscore would read as a rebuild suffix');
    assert.throws(() => organisationIndex('lectern', 'a/../b'), TypeError);
  });

  it('dates a rebuild by its id', () => {
    const id = newBuildId(1_765_000_000_000, () => 0.5);
    assert.match(id, /^[a-z0-9]+$/);
    assert.equal(buildStartedAt(id), 1_765_000_000_000);
  });
});

describe('Meilisearch documents', () => {
  const chunk = makeChunk('doc"1-0', 'Torque the flange bolts.', { kbId: 'kb "x"', documentId: 'doc"1', headings: ['Assembly'], vector: unitVector(1, 1) });

  it('keys ids in base64url, which a primary key and a filter take as they are', () => {
    assert.equal(key('doc"1-0'), Buffer.from('doc"1-0').toString('base64url'));
    assert.match(key('a" OR kbKey != "x\\'), /^[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(key('фильтр'), 'base64url').toString('utf8'), 'фильтр');
  });

  it('maps a chunk to a document with its vector under the embedder, or null without one', () => {
    const doc = toDocument(chunk);
    assert.equal(doc.pk, key('doc"1-0'));
    assert.equal(doc.kbKey, key('kb "x"'));
    assert.equal(doc.documentKey, key('doc"1'));
    assert.deepEqual(doc._vectors, { [EMBEDDER]: Array.from(unitVector(1, 1)) });
    assert.equal('organisationId' in doc, false, 'the organisation is the index');
    assert.deepEqual(toDocument({ ...chunk, vector: undefined })._vectors, { [EMBEDDER]: null }, 'Meilisearch fails a document that leaves its embedder out');
    assert.deepEqual(toDocument({ ...chunk, vector: new Float32Array(0) })._vectors, { [EMBEDDER]: null });
  });

  it('maps a returned document back to a hit with exactly the port fields', () => {
    const { _vectors, pk, kbKey, documentKey, ...stored } = toDocument(chunk);
    assert.ok(_vectors && pk && kbKey && documentKey);
    const hit = toHit({ ...stored, _rankingScore: 0.75, _formatted: { text: 'x' } }, ['flange']);
    const { organisationId: _o, vector: _v, ...expected } = chunk;
    assert.deepEqual(hit, { ...expected, score: 0.75, matchedTerms: ['flange'] });
    assert.equal(toHit({ ...stored, _rankingScore: 1.0000001 }, []).score, 1);
    assert.equal(toHit({ ...stored }, []).score, 0);
    assert.deepEqual([...RETRIEVED].sort(), Object.keys(stored).sort());
  });

  it('reads matched words from highlighting, whole words as the analyzer finds them', () => {
    const mark = (s: string) => `${MARK.pre}${s}${MARK.post}`;
    const text = 'The Pump leaks when the pump seal is worn.';
    assert.deepEqual(highlightedWords(text, `The ${mark('Pump')} leaks when the ${mark('pump')} ${mark('seal')} is worn.`), ['Pump', 'pump', 'seal']);
    assert.deepEqual(highlightedWords('Clean the filters.', `Clean the ${mark('filter')}s.`), ['filters'], 'a prefix match names the word');
    assert.deepEqual(highlightedWords('Use an M8x1.25 bolt.', `Use an ${mark('M8x1')}.${mark('25')} bolt.`), ['M8x1.25']);
    assert.deepEqual(highlightedWords('🔧 Замените фильтр', `🔧 Замените ${mark('фильтр')}`), ['фильтр'], 'positions count UTF-16 units on both sides');
    assert.deepEqual(highlightedWords('no match here', 'no match here'), []);
    assert.equal(highlightedWords(`odd ${MARK.pre} text`, `odd ${MARK.pre} text`), null, 'marks cannot be told from the text');
    assert.deepEqual(analyzedWords(createAnalyzer(), text, 'pump seals'), ['Pump', 'pump', 'seal']);
  });
});

describe('Meilisearch requests', () => {
  const request = (more: Partial<SearchRequest> = {}): SearchRequest => ({ query: 'pump seal', filter: { organisationId: 'org-a' }, limit: 10, mode: 'keyword', ...more });
  const vector = unitVector(1);

  it('quotes only base64url keys, so no id can break out of a filter', () => {
    assert.equal(quote('YWJj'), '"YWJj"');
    assert.throws(() => quote('a" OR kbKey != "b'), TypeError);
    assert.throws(() => quote('a\\'), TypeError);
    const hostile = 'kb" OR documentKey != "x\\';
    const expression = filterExpression({ kbId: hostile, documentIds: ['d"1', 'd\\"2'] });
    assert.equal(expression, `kbKey = "${key(hostile)}" AND documentKey IN ["${key('d"1')}", "${key('d\\"2')}"]`);
    assert.equal(expression!.split('"').length - 1, 6, 'three quoted values, nothing else quoted');
    assert.equal(filterExpression({ documentId: 'doc-1' }), `documentKey = "${key('doc-1')}"`);
    assert.equal(filterExpression({}), undefined, 'the whole organisation is the whole index');
  });

  it('sends keyword search as words only, highlighted, with the filter and a clamped limit', () => {
    const plan = planSearch(request({ filter: { organisationId: 'org-a', kbId: 'kb-1' }, limit: 500 }), CONTRACT_DIMENSIONS);
    assert.equal(plan.mode, 'keyword');
    assert.equal(plan.params?.q, 'pump seal');
    assert.equal(plan.params?.limit, 100);
    assert.equal(plan.params?.filter, `kbKey = "${key('kb-1')}"`);
    assert.equal(plan.params?.showRankingScore, true);
    assert.deepEqual(plan.params?.attributesToHighlight, ['text']);
    assert.equal(plan.params?.vector, undefined);
    assert.equal(plan.params?.hybrid, undefined);
    assert.equal(planSearch(request({ limit: 0 }), null).params?.limit, 1);
  });

  it('sends vector search as the vector alone at semantic ratio 1', () => {
    const plan = planSearch(request({ mode: 'vector', vector }), CONTRACT_DIMENSIONS);
    assert.equal(plan.mode, 'vector');
    assert.equal(plan.params?.q, undefined);
    assert.deepEqual(plan.params?.vector, Array.from(vector));
    assert.deepEqual(plan.params?.hybrid, { embedder: EMBEDDER, semanticRatio: 1 });
    assert.equal(plan.highlighted, false);
    // Meilisearch fills a semantic search up with the chunks that have no vector, at score 0.
    const threshold = plan.params?.rankingScoreThreshold ?? 0;
    assert.ok(threshold > 0 && threshold < 1e-6, `threshold ${threshold}`);
  });

  it("sends hybrid search as words and vector at the request's ratio (0.5 by default, clamped)", () => {
    const plan = planSearch(request({ mode: 'hybrid', vector }), CONTRACT_DIMENSIONS);
    assert.equal(plan.mode, 'hybrid');
    assert.equal(plan.params?.q, 'pump seal');
    assert.deepEqual(plan.params?.vector, Array.from(vector));
    assert.deepEqual(plan.params?.hybrid, { embedder: EMBEDDER, semanticRatio: 0.5 });
    assert.deepEqual(planSearch(request({ mode: 'hybrid', vector, semanticRatio: 0.2 }), CONTRACT_DIMENSIONS).params?.hybrid, { embedder: EMBEDDER, semanticRatio: 0.2 });
    assert.deepEqual(planSearch(request({ mode: 'hybrid', vector, semanticRatio: 7 }), CONTRACT_DIMENSIONS).params?.hybrid, { embedder: EMBEDDER, semanticRatio: 1 });
  });

  it('runs vector and hybrid requests as keyword search without a usable vector, as the embedded engine does', () => {
    for (const mode of ['vector', 'hybrid'] as const) {
      assert.equal(planSearch(request({ mode }), CONTRACT_DIMENSIONS).mode, 'keyword', `${mode} without a vector`);
      const mismatch = planSearch(request({ mode, vector: new Float32Array(3).fill(0.5) }), CONTRACT_DIMENSIONS);
      assert.equal(mismatch.mode, 'keyword');
      assert.deepEqual(mismatch.vectorMismatch, { query: 3, index: CONTRACT_DIMENSIONS });
      assert.equal(mismatch.params?.vector, undefined);
    }
    // An index without an embedder has no vectors: vector search finds nothing, hybrid is its keyword half.
    const none = planSearch(request({ mode: 'vector', vector }), null);
    assert.deepEqual([none.params, none.mode], [null, 'vector']);
    const half = planSearch(request({ mode: 'hybrid', vector }), null);
    assert.deepEqual([half.mode, half.params?.q, half.params?.hybrid], ['hybrid', 'pump seal', undefined]);
  });

  it('answers an empty list of documents with nothing, without asking', () => {
    const plan = planSearch(request({ filter: { organisationId: 'org-a', documentIds: [] } }), null);
    assert.equal(plan.params, null);
  });

  it('knows when an index carries the current settings', () => {
    const settings = indexSettings();
    assert.equal(settingsCurrent(settings), true);
    assert.equal(settingsCurrent({ ...settings, filterableAttributes: [...settings.filterableAttributes!].reverse() }), true, 'filterable attributes are a set');
    assert.equal(settingsCurrent({ ...settings, stopWords: ['the'] }), false);
    assert.equal(settingsCurrent({ ...settings, searchableAttributes: ['*'] }), false);
  });
});

describe('Meilisearch failures', () => {
  it('answers 503 unavailable while Meilisearch cannot be reached, and says so in progress', async () => {
    const index = createMeiliSearch({ url: 'http://127.0.0.1:9', apiKey: 'k', prefix: 'lectern-test', taskTimeoutMs: 1000 });
    try {
      await assert.rejects(index.ping(), (err: unknown) => err instanceof AppError && err.status === 503 && err.code === 'unavailable');
      await assert.rejects(index.search({ query: 'x', filter: { organisationId: 'org-a' }, limit: 1, mode: 'keyword' }), (err: unknown) => err instanceof AppError && err.code === 'unavailable');
      assert.equal(index.progress().ready, false);
      assert.match(index.progress().message, /127\.0\.0\.1:9/);
    } finally {
      await index.close();
    }
  });

  // A stand-in for the two task routes only: a stuck task cannot be produced on a real server on demand.
  it('turns a task that never finishes into 503 unavailable naming the setting, and a failed one into MeiliTaskError', async () => {
    let status = 'processing';
    const server: Server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') res.end(JSON.stringify({ taskUid: 7, indexUid: 'x', status: 'enqueued', type: 'documentAdditionOrUpdate', enqueuedAt: new Date().toISOString() }));
      else res.end(JSON.stringify({ uid: 7, indexUid: 'x', status, type: 'documentAdditionOrUpdate', error: status === 'failed' ? { code: 'invalid_document_id', message: 'bad id', type: 'invalid_request', link: '' } : null }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new Meilisearch({ host: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      await assert.rejects(settle(client.index('x').addDocuments([{ pk: 'a' }]), 150), (err: unknown) => {
        assert.ok(err instanceof AppError && err.status === 503);
        assert.match(err.message, /task 7 within 0\.15 s \(MEILI_TASK_TIMEOUT_SECONDS\)/);
        return true;
      });
      status = 'failed';
      await assert.rejects(settle(client.index('x').addDocuments([{ pk: 'a' }]), 1000), (err: unknown) => err instanceof MeiliTaskError && err.code === 'invalid_document_id');
    } finally {
      server.close();
    }
  });
});

if (!MEILI_URL) {
  describe('SearchIndex contract: meilisearch', () => {
    it('runs against a Meilisearch server', (t) => {
      t.skip('MEILI_URL is not set: set MEILI_URL (and MEILI_MASTER_KEY) to a Meilisearch 1.x to run the search contract against it');
    });
  });
} else {
  const url = MEILI_URL;
  // Every index this run creates starts with `run`, and goes when it ends.
  const run = `lectern-test-${process.pid}-${Date.now().toString(36)}`;
  let opened = 0;
  const openWith = (prefix: string, dimensions: number | undefined = CONTRACT_DIMENSIONS): SearchIndex =>
    createMeiliSearch({ url, apiKey: MEILI_MASTER_KEY, prefix, taskTimeoutMs: 120_000, dimensions });
  const open = async (): Promise<SearchIndex> => openWith(`${run}-${opened++}`);
  const client = new Meilisearch({ host: url, apiKey: MEILI_MASTER_KEY });
  const ours = async (prefix: string): Promise<string[]> => (await client.getRawIndexes({ limit: 1000 })).results.map((i) => i.uid).filter((uid) => uid.startsWith(prefix));
  const cleanup = async (): Promise<void> => {
    for (const uid of await ours(run)) await client.deleteIndex(uid).waitTask({ timeout: 60_000 });
  };
  after(cleanup);

  searchContract('meilisearch', open, cleanup);
  isolationContract('meilisearch', open);

  describe('Meilisearch adapter on a server', () => {
    it('keeps serving the current indexes to another process while a rebuild fills fresh ones, then swaps them in', async () => {
      const prefix = `${run}-swap`;
      const serving = openWith(prefix);
      const rebuilding = openWith(prefix);
      try {
        await serving.upsert([makeChunk('old', 'turbine blade inspection'), makeChunk('gone', 'turbine', { organisationId: 'org-gone' })]);
        await serving.setGeneration(1);
        await rebuilding.clear();
        await rebuilding.upsert([makeChunk('new', 'turbine blade replacement')]);
        assert.deepEqual((await serving.search({ query: 'turbine', filter: { organisationId: 'org-a' }, limit: 10, mode: 'keyword' })).hits.map((h) => h.id), ['old']);
        assert.equal(await serving.generation(), 1);
        await rebuilding.setGeneration(2);
        assert.deepEqual((await serving.search({ query: 'turbine', filter: { organisationId: 'org-a' }, limit: 10, mode: 'keyword' })).hits.map((h) => h.id), ['new']);
        assert.equal(await serving.count({ organisationId: 'org-gone' }), 0, 'an organisation the rebuild did not fill is gone');
        assert.equal(await serving.generation(), 2);
        assert.deepEqual((await ours(prefix)).sort(), [metaIndex(prefix), organisationIndex(prefix, 'org-a')].sort(), 'nothing of the old indexes is left');
      } finally {
        await serving.close();
        await rebuilding.close();
      }
    });

    it('learns the embedder dimension from the first vector, also for an index created keyword-only', async () => {
      const index = openWith(`${run}-learn`, undefined);
      try {
        await index.upsert([makeChunk('k', 'pump seal kit')]);
        await index.upsert([makeChunk('v', 'bearing noise', { vector: unitVector(0, 1) })]);
        const hits = (await index.search({ query: '', filter: { organisationId: 'org-a' }, limit: 10, mode: 'vector', vector: unitVector(0, 1) })).hits;
        assert.deepEqual(hits.map((h) => h.id), ['v']);
        assert.deepEqual((await index.search({ query: 'pump', filter: { organisationId: 'org-a' }, limit: 10, mode: 'keyword' })).hits.map((h) => h.id), ['k']);
      } finally {
        await index.close();
      }
    });

    it('filters and deletes by ids holding quotes and backslashes exactly', async () => {
      const index = openWith(`${run}-quotes`);
      const hostile = 'doc" OR kbKey != "x\\';
      try {
        await index.upsert([makeChunk('q1', 'valve grease', { documentId: hostile }), makeChunk('q2', 'valve grease', { documentId: 'doc-2' })]);
        const hits = await index.search({ query: 'valve', filter: { organisationId: 'org-a', documentIds: [hostile] }, limit: 10, mode: 'keyword' });
        assert.deepEqual(hits.hits.map((h) => [h.id, h.documentId]), [['q1', hostile]]);
        assert.equal(await index.delete({ organisationId: 'org-a', documentId: hostile }), 1);
        assert.equal(await index.count({ organisationId: 'org-a' }), 1);
      } finally {
        await index.close();
      }
    });
  });
}
