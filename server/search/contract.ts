import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { ChunkRecord, SearchIndex, SearchMode, SearchRequest, SearchResponse } from './search.ts';

// Behaviour every SearchIndex must show, whatever engine is behind it. Assertions stay within
// what Meilisearch (the production adapter) also does with English stop words configured:
// relative order of clearly different matches rather than exact scores, no placeholder-search
// expectations for empty queries, no assumptions about how far typo or prefix matching reaches.

/** Dimension of the contract's vectors; an adapter's embedder must be configured for it. */
export const CONTRACT_DIMENSIONS = 8;

export function unitVector(...weights: number[]): Float32Array {
  const v = new Float32Array(CONTRACT_DIMENSIONS);
  weights.forEach((w, i) => {
    v[i] = w;
  });
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

export function makeChunk(id: string, text: string, extra: Partial<ChunkRecord> = {}): ChunkRecord {
  return {
    id,
    organisationId: 'org-a',
    kbId: 'kb-1',
    documentId: 'doc-1',
    documentName: 'Manual.pdf',
    headings: [],
    page: 1,
    pageEnd: 1,
    pages: [{ number: 1, label: null, offset: 0 }],
    start: 0,
    end: text.length,
    text,
    ...extra,
  } as ChunkRecord;
}

export function searchContract(name: string, open: () => Promise<SearchIndex>, cleanup?: () => Promise<void>): void {
  describe(`SearchIndex contract: ${name}`, () => {
    let index: SearchIndex;

    beforeEach(async () => {
      index = await open();
    });
    afterEach(async () => {
      await index.close();
    });
    if (cleanup) after(cleanup);

    const search = (query: string, more: Partial<SearchRequest> = {}): Promise<SearchResponse> =>
      index.search({ query, filter: { organisationId: 'org-a' }, limit: 10, mode: 'keyword', ...more });
    const ids = (response: SearchResponse): string[] => response.hits.map((h) => h.id);
    const assertWellFormed = (response: SearchResponse): void => {
      for (const hit of response.hits) assert.ok(hit.score >= 0 && hit.score <= 1, `score ${hit.score} outside [0, 1]`);
      for (let i = 1; i < response.hits.length; i++) {
        assert.ok(response.hits[i - 1]!.score >= response.hits[i]!.score, 'hits not sorted by score');
      }
      assert.equal(new Set(ids(response)).size, response.hits.length, 'duplicate hits');
      assert.ok(response.tookMs >= 0);
    };

    describe('writes', () => {
      it('counts what was upserted, by organisation, knowledge base and document', async () => {
        await index.upsert([
          makeChunk('a1', 'pump maintenance'),
          makeChunk('a2', 'valve maintenance', { documentId: 'doc-2' }),
          makeChunk('a3', 'boiler maintenance', { kbId: 'kb-2', documentId: 'doc-3' }),
          makeChunk('b1', 'pump maintenance', { organisationId: 'org-b' }),
        ]);
        assert.equal(await index.count({ organisationId: 'org-a' }), 3);
        assert.equal(await index.count({ organisationId: 'org-a', kbId: 'kb-1' }), 2);
        assert.equal(await index.count({ organisationId: 'org-a', documentId: 'doc-2' }), 1);
        assert.equal(await index.count({ organisationId: 'org-b' }), 1);
        assert.equal(await index.count({ organisationId: 'org-c' }), 0);
      });

      it('replaces a chunk upserted again under the same id', async () => {
        await index.upsert([makeChunk('c1', 'the alpha procedure')]);
        await index.upsert([makeChunk('c1', 'the bravo procedure', { kbId: 'kb-2', page: 7, pageEnd: 8 })]);
        assert.equal(await index.count({ organisationId: 'org-a' }), 1);
        assert.equal(await index.count({ organisationId: 'org-a', kbId: 'kb-1' }), 0);
        assert.deepEqual(ids(await search('alpha')), []);
        const hit = (await search('bravo')).hits[0];
        assert.equal(hit?.id, 'c1');
        assert.equal(hit.kbId, 'kb-2');
        assert.equal(hit.page, 7);
        assert.equal(hit.pageEnd, 8);
      });

      it('accepts an empty batch', async () => {
        await index.upsert([]);
        assert.equal(await index.count({ organisationId: 'org-a' }), 0);
      });

      it('deletes by document, knowledge base and organisation, returning how many went', async () => {
        await index.upsert([
          makeChunk('d1', 'gasket replacement', { documentId: 'doc-1' }),
          makeChunk('d2', 'gasket inspection', { documentId: 'doc-1' }),
          makeChunk('d3', 'gasket storage', { documentId: 'doc-2' }),
          makeChunk('d4', 'gasket sizes', { kbId: 'kb-2', documentId: 'doc-4' }),
          makeChunk('d5', 'gasket sizes', { kbId: 'kb-3', documentId: 'doc-5' }),
          makeChunk('e1', 'gasket replacement', { organisationId: 'org-b', documentId: 'doc-1' }),
        ]);
        assert.equal(await index.delete({ organisationId: 'org-a', documentId: 'doc-1' }), 2);
        assert.deepEqual(ids(await search('gasket')).sort(), ['d3', 'd4', 'd5']);
        assert.equal(await index.delete({ organisationId: 'org-a', kbId: 'kb-2' }), 1);
        assert.deepEqual(ids(await search('gasket')).sort(), ['d3', 'd5']);
        assert.equal(await index.delete({ organisationId: 'org-a', documentId: 'doc-404' }), 0);
        assert.equal(await index.delete({ organisationId: 'org-a' }), 2);
        assert.equal(await index.count({ organisationId: 'org-a' }), 0);
        // Another organisation's chunk with the same document id survives all of that.
        assert.equal(await index.count({ organisationId: 'org-b', documentId: 'doc-1' }), 1);
      });

      it('clears everything, including the recorded generation', async () => {
        await index.upsert([makeChunk('f1', 'turbine'), makeChunk('g1', 'turbine', { organisationId: 'org-b' })]);
        await index.setGeneration(3);
        await index.clear();
        assert.equal(await index.count({ organisationId: 'org-a' }), 0);
        assert.equal(await index.count({ organisationId: 'org-b' }), 0);
        assert.deepEqual(ids(await search('turbine')), []);
        assert.equal(await index.generation(), null);
        await index.upsert([makeChunk('f2', 'turbine')]);
        assert.deepEqual(ids(await search('turbine')), ['f2']);
      });

      it('records the generation', async () => {
        assert.equal(await index.generation(), null);
        await index.setGeneration(5);
        assert.equal(await index.generation(), 5);
        await index.setGeneration(6);
        assert.equal(await index.generation(), 6);
      });

      it('answers ping', async () => {
        await index.ping();
      });
    });

    describe('filters', () => {
      const shared = 'Emergency shutdown: press the red button, then close valve V-12.';

      beforeEach(async () => {
        await index.upsert([
          makeChunk('a-kb1-d1', shared, { vector: unitVector(1, 0.1) }),
          makeChunk('a-kb1-d2', shared, { documentId: 'doc-2', vector: unitVector(1, 0.2) }),
          makeChunk('a-kb2-d3', shared, { kbId: 'kb-2', documentId: 'doc-3', vector: unitVector(1, 0.3) }),
          makeChunk('b-kb1-d1', shared, { organisationId: 'org-b', vector: unitVector(1) }),
          makeChunk('b-kb9-d9', `${shared} red button red button`, { organisationId: 'org-b', kbId: 'kb-9', documentId: 'doc-9', vector: unitVector(1) }),
        ]);
      });

      for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
        it(`never returns another organisation's chunks (${mode})`, async () => {
          const a = await search('red button emergency shutdown', { mode, vector: unitVector(1), limit: 100 });
          assert.deepEqual(ids(a).sort(), ['a-kb1-d1', 'a-kb1-d2', 'a-kb2-d3']);
          const b = await search('red button emergency shutdown', { mode, vector: unitVector(1), filter: { organisationId: 'org-b' }, limit: 100 });
          assert.deepEqual(ids(b).sort(), ['b-kb1-d1', 'b-kb9-d9']);
          const c = await search('red button emergency shutdown', { mode, vector: unitVector(1), filter: { organisationId: 'org-c' } });
          assert.deepEqual(ids(c), []);
        });

        it(`restricts to a knowledge base and to documents (${mode})`, async () => {
          const kb = await search('red button', { mode, vector: unitVector(1), filter: { organisationId: 'org-a', kbId: 'kb-1' } });
          assert.deepEqual(ids(kb).sort(), ['a-kb1-d1', 'a-kb1-d2']);
          const docs = await search('red button', {
            mode,
            vector: unitVector(1),
            filter: { organisationId: 'org-a', documentIds: ['doc-2', 'doc-3'] },
          });
          assert.deepEqual(ids(docs).sort(), ['a-kb1-d2', 'a-kb2-d3']);
          const both = await search('red button', {
            mode,
            vector: unitVector(1),
            filter: { organisationId: 'org-a', kbId: 'kb-2', documentIds: ['doc-2', 'doc-3'] },
          });
          assert.deepEqual(ids(both), ['a-kb2-d3']);
        });
      }

      it('refuses a search or a delete without an organisation', async () => {
        await assert.rejects(index.search({ query: 'red', filter: { organisationId: '' }, limit: 10, mode: 'keyword' }));
        await assert.rejects(index.delete({ organisationId: '' }));
        assert.equal(await index.count({ organisationId: 'org-a' }), 3);
      });
    });

    describe('keyword ranking', () => {
      it('ranks the chunk holding the whole query first', async () => {
        await index.upsert([
          makeChunk('k1', 'Oil is stored in the lower tank and checked weekly.'),
          makeChunk('k2', 'To replace the oil filter, drain the oil and unscrew the filter housing.'),
          makeChunk('k3', 'The filter housing is painted blue.'),
          makeChunk('k4', 'Safety glasses are required in the workshop.'),
        ]);
        const response = await search('replace the oil filter');
        assertWellFormed(response);
        assert.equal(response.mode, 'keyword');
        assert.equal(ids(response)[0], 'k2');
        assert.ok(!ids(response).includes('k4'));
      });

      it('matches singular and plural forms', async () => {
        await index.upsert([makeChunk('s1', 'Clean the filters every month.'), makeChunk('s2', 'Replace the filter yearly.'), makeChunk('s3', 'Unrelated text.')]);
        assert.deepEqual(ids(await search('filter')).sort(), ['s1', 's2']);
        assert.deepEqual(ids(await search('filters')).sort(), ['s1', 's2']);
      });

      it('ignores stop words', async () => {
        await index.upsert([
          makeChunk('w1', 'It is what it is, and that is all there is to it.'),
          makeChunk('w2', 'Compressor pressure must stay below eight bar.'),
        ]);
        assert.deepEqual(ids(await search('what is the compressor pressure')), ['w2']);
      });

      it('finds part numbers and standards as written', async () => {
        await index.upsert([
          makeChunk('p1', 'Use an M8x1.25 bolt, torque 25 Nm.'),
          makeChunk('p2', 'Certified to ISO-9001 since 2010.'),
          makeChunk('p3', 'Use an M10 bolt.'),
        ]);
        assert.equal(ids(await search('M8x1.25'))[0], 'p1');
        assert.equal(ids(await search('ISO-9001'))[0], 'p2');
      });

      it('matches accented and non-Latin words', async () => {
        await index.upsert([
          makeChunk('u1', 'Le café est servi à la réception.'),
          makeChunk('u2', 'Замените масляный фильтр через 500 часов.'),
          makeChunk('u3', 'Plain English text.'),
        ]);
        assert.deepEqual(ids(await search('cafe')), ['u1']);
        assert.deepEqual(ids(await search('фильтр')), ['u2']);
      });

      it('reports the matched words as they are written in the text', async () => {
        await index.upsert([makeChunk('m1', 'The Pump leaks when the pump seal is worn.', { headings: ['Pump'] })]);
        const hit = (await search('pump seal')).hits[0];
        assert.ok(hit);
        assert.deepEqual([...hit.matchedTerms].sort(), ['Pump', 'pump', 'seal']);
      });

      it('finds a chunk through its headings', async () => {
        await index.upsert([
          makeChunk('h1', 'Drain the circuit before starting.', { headings: ['Maintenance', 'Hydraulics'] }),
          makeChunk('h2', 'Drain the tank before starting.', { headings: ['Installation'] }),
        ]);
        assert.deepEqual(ids(await search('hydraulics')), ['h1']);
      });

      it('returns every field of a hit', async () => {
        const stored = {
          kbId: 'kb-7',
          documentId: 'doc-7',
          documentName: 'Flanges.docx',
          headings: ['Assembly', 'Flanges'],
          page: 12,
          pageEnd: 13,
          pages: [
            { number: 12, label: 'A-3', offset: 0 },
            { number: 13, label: 'A-4', offset: 24 },
          ],
          start: 4000,
          end: 4034,
        };
        await index.upsert([makeChunk('r1', 'Torque the flange bolts crosswise.', stored)]);
        const hit = (await search('flange bolts')).hits[0];
        assert.ok(hit);
        assert.deepEqual({ ...hit, score: 0, matchedTerms: [] }, { id: 'r1', ...stored, text: 'Torque the flange bolts crosswise.', score: 0, matchedTerms: [] });
      });

      it('honours the limit', async () => {
        await index.upsert(Array.from({ length: 30 }, (_, i) => makeChunk(`l${i}`, `valve number ${i} needs grease`)));
        const response = await search('valve grease', { limit: 7 });
        assert.equal(response.hits.length, 7);
        assertWellFormed(response);
        assert.equal((await search('valve grease', { limit: 100 })).hits.length, 30);
      });

      it('returns nothing for words no chunk has', async () => {
        await index.upsert([makeChunk('n1', 'valve grease')]);
        assert.deepEqual(ids(await search('xylophone')), []);
      });
    });

    describe('vector and hybrid ranking', () => {
      beforeEach(async () => {
        await index.upsert([
          makeChunk('v-near', 'Bearing noise usually means the lubricant is exhausted.', { vector: unitVector(1, 0.1) }),
          makeChunk('v-mid', 'Check the drive belt tension monthly.', { vector: unitVector(1, 1) }),
          makeChunk('v-far', 'Pump seal leaks: replace the pump seal kit.', { vector: unitVector(0, 0, 1) }),
          makeChunk('v-none', 'Pump seal storage: keep seals away from sunlight.'),
        ]);
      });

      it('ranks the nearest vector first in vector mode', async () => {
        const response = await search('anything', { mode: 'vector', vector: unitVector(1) });
        assertWellFormed(response);
        assert.equal(response.mode, 'vector');
        assert.deepEqual(ids(response).slice(0, 3), ['v-near', 'v-mid', 'v-far']);
        assert.ok(!ids(response).includes('v-none'), 'a chunk without a vector has no place in vector ranking');
      });

      it('follows a replaced vector', async () => {
        await index.upsert([makeChunk('v-far', 'Pump seal leaks: replace the pump seal kit.', { vector: unitVector(1) })]);
        assert.equal(ids(await search('anything', { mode: 'vector', vector: unitVector(1) }))[0], 'v-far');
      });

      it('ranks first in hybrid mode a chunk that wins both rankings', async () => {
        // v-far has every query word and the query's exact vector; v-none matches two of the
        // words only and v-near is far in vector space from this query.
        const response = await search('pump seal leaks', { mode: 'hybrid', vector: unitVector(0, 0, 1) });
        assertWellFormed(response);
        assert.equal(response.mode, 'hybrid');
        assert.equal(ids(response)[0], 'v-far');
      });

      it('mixes keyword and vector hits in hybrid mode', async () => {
        const response = await search('pump seal', { mode: 'hybrid', vector: unitVector(1), limit: 10 });
        assertWellFormed(response);
        const found = ids(response);
        assert.ok(found.includes('v-near'), 'the nearest vector is among the hybrid hits');
        assert.ok(found.includes('v-none'), 'a keyword-only chunk is among the hybrid hits');
      });

      it('leans on the semantic ratio', async () => {
        const keywordSide = await search('pump seal storage sunlight', { mode: 'hybrid', vector: unitVector(1), semanticRatio: 0 });
        assert.equal(ids(keywordSide)[0], 'v-none');
        const vectorSide = await search('pump seal storage sunlight', { mode: 'hybrid', vector: unitVector(1), semanticRatio: 1 });
        assert.equal(ids(vectorSide)[0], 'v-near');
      });

      for (const mode of ['vector', 'hybrid'] as SearchMode[]) {
        it(`runs a ${mode} request without a vector as keyword search`, async () => {
          const response = await search('pump seal kit', { mode });
          assert.equal(response.mode, 'keyword');
          assert.equal(ids(response)[0], 'v-far');
          assertWellFormed(response);
        });
      }

      it('honours the limit in vector and hybrid modes', async () => {
        for (const mode of ['vector', 'hybrid'] as const) {
          const response = await search('pump seal', { mode, vector: unitVector(1), limit: 2 });
          assert.equal(response.hits.length, 2, mode);
        }
      });
    });
  });
}

/**
 * A tenant's results, scores and latency depend only on its own data: organisation A adds
 * `flood` chunks full of B's query terms, and B's top 10 — ids and scores, bit for bit — and its
 * median search time stay what they were (within 1.2×, plus half a millisecond of timer noise).
 */
export function isolationContract(name: string, open: () => Promise<SearchIndex>, flood = 100_000): void {
  describe(`SearchIndex isolation contract: ${name}`, () => {
    it(`organisation B's hits, scores and latency do not move when A adds ${flood.toLocaleString('en')} chunks of B's words`, async () => {
      const index = await open();
      try {
        const words = ['owlvex', 'nightjarvex', 'hawkvex', 'kestrelvex', 'valve', 'pressure', 'filter', 'inspection', 'weekly', 'pump'];
        const filler = ['the', 'routine', 'panel', 'report', 'engineer', 'checks', 'replaced', 'notes', 'before', 'after'];
        let seed = 7;
        const pick = <T>(from: readonly T[]): T => from[(seed = (seed * 1103515245 + 12345) % 2147483648) % from.length]!;
        const sentence = (n: number): string => Array.from({ length: n }, () => (seed % 3 === 0 ? pick(filler) : pick(words))).join(' ');
        const b = Array.from({ length: 200 }, (_, i) => makeChunk(`b-${i}`, sentence(12), { organisationId: 'org-b', kbId: 'kb-b', documentId: `b-doc-${i % 20}` }));
        await index.upsert(b);
        const queries = ['owlvex', 'nightjarvex inspection', 'hawkvex kestrelvex valve', 'weekly pump pressure filter', 'the engineer replaced the valve'];
        const searchB = (query: string) => index.search({ query, filter: { organisationId: 'org-b', kbId: 'kb-b' }, limit: 10, mode: 'keyword' });
        const observe = async () => {
          const results = await Promise.all(queries.map(async (q) => (await searchB(q)).hits.map((h) => [h.id, h.score])));
          const times: number[] = [];
          for (let round = 0; round < 40; round++) {
            for (const q of queries) {
              const started = performance.now();
              await searchB(q);
              times.push(performance.now() - started);
            }
          }
          times.sort((x, y) => x - y);
          return { results, median: times[Math.floor(times.length / 2)]! };
        };
        const before = await observe();
        assert.ok(before.results.every((r) => r.length > 0), 'every probe finds something in B');
        for (let start = 0; start < flood; start += 2000) {
          await index.upsert(Array.from({ length: Math.min(2000, flood - start) }, (_, i) => makeChunk(`a-${start + i}`, sentence(10), { organisationId: 'org-a', kbId: 'kb-a', documentId: `a-doc-${(start + i) % 500}` })));
        }
        assert.equal(await index.count({ organisationId: 'org-a' }), flood);
        const afterFlood = await observe();
        assert.deepEqual(afterFlood.results, before.results);
        assert.ok(afterFlood.median <= before.median * 1.2 + 0.5, `B's median search went from ${before.median.toFixed(3)} ms to ${afterFlood.median.toFixed(3)} ms`);
      } finally {
        await index.close();
      }
    });
  });
}
