import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isolationContract, makeChunk, searchContract, unitVector } from '../contract.ts';
import { createEmbeddedSearch } from './engine.ts';
import { SEEKS } from './tables.ts';

const dirs: string[] = [];
async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lectern-search-'));
  dirs.push(dir);
  return join(dir, 'index.sqlite');
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

searchContract('embedded, in memory', () => createEmbeddedSearch({ file: null }));
searchContract('embedded, in a file', async () => createEmbeddedSearch({ file: await tempFile() }));
isolationContract('embedded', async () => createEmbeddedSearch({ file: await tempFile() }));

const corpus = [
  makeChunk('c1', 'Replace the hydraulic filter every 500 hours.', { headings: ['Maintenance'], vector: unitVector(1) }),
  makeChunk('c2', 'Hydraulic oil must be ISO VG 46.', { documentId: 'doc-2', vector: unitVector(0, 1) }),
  makeChunk('c3', 'Keyword-only chunk about the coolant pump.', { kbId: 'kb-2', documentId: 'doc-3' }),
  makeChunk('x1', 'Replace the hydraulic filter.', { organisationId: 'org-b', vector: unitVector(1) }),
];

/** Every byte under the index file's directory (the database, its write-ahead log), as text. */
async function filesText(file: string): Promise<string> {
  const dir = join(file, '..');
  const parts = await Promise.all((await readdir(dir)).map((name) => readFile(join(dir, name), 'latin1')));
  return parts.join('\n');
}

describe('embedded search index', () => {
  it('reopens from its file with contents, vectors, pages and generation', async () => {
    const file = await tempFile();
    const first = await createEmbeddedSearch({ file });
    await first.upsert([...corpus, makeChunk('p1', 'Torque the flange bolts.', { page: 3, pageEnd: 4, pages: [{ number: 3, label: 'iii', offset: 0 }, { number: 4, label: null, offset: 12 }], start: 90, end: 114 })]);
    await first.setGeneration(4);
    await first.close();

    const second = await createEmbeddedSearch({ file });
    assert.equal(await second.generation(), 4);
    assert.equal(await second.count({ organisationId: 'org-a' }), 4);
    const keyword = await second.search({ query: 'hydraulic filters', filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' });
    assert.equal(keyword.hits[0]?.id, 'c1');
    assert.deepEqual(keyword.hits[0]?.matchedTerms, ['hydraulic', 'filter']);
    assert.deepEqual(keyword.hits[0]?.headings, ['Maintenance']);
    const vector = await second.search({ query: '', filter: { organisationId: 'org-a' }, limit: 5, mode: 'vector', vector: unitVector(0, 1) });
    assert.deepEqual(vector.hits.map((h) => h.id), ['c2', 'c1']);
    const paged = (await second.search({ query: 'flange', filter: { organisationId: 'org-a' }, limit: 1, mode: 'keyword' })).hits[0];
    assert.deepEqual([paged?.pages, paged?.start, paged?.end], [[{ number: 3, label: 'iii', offset: 0 }, { number: 4, label: null, offset: 12 }], 90, 114]);
    await second.close();
  });

  it('answers at once after a restart and reports loading until every knowledge base is in memory', async () => {
    const file = await tempFile();
    const first = await createEmbeddedSearch({ file });
    for (let kb = 0; kb < 5; kb++) {
      await first.upsert(Array.from({ length: 300 }, (_, i) => makeChunk(`k${kb}-${i}`, `valve ${i} of line ${kb} needs grease`, { kbId: `kb-${kb}`, documentId: `doc-${kb}-${i % 7}` })));
    }
    await first.close();
    const second = await createEmbeddedSearch({ file });
    assert.equal(second.progress().ready, false);
    assert.match(second.progress().message, /loading knowledge bases into memory: \d of 5/);
    // A search does not wait for the others: it loads its own shard.
    const hits = await second.search({ query: 'grease', filter: { organisationId: 'org-a', kbId: 'kb-4' }, limit: 3, mode: 'keyword' });
    assert.equal(hits.hits.length, 3);
    while (!second.progress().ready) await sleep(5);
    assert.equal(await second.count({ organisationId: 'org-a' }), 1500);
    await second.close();
  });

  it('keeps a term that the replacement of a chunk still uses', async () => {
    const index = await createEmbeddedSearch({ file: null });
    await index.upsert([makeChunk('r1', 'gearbox lubrication schedule')]);
    await index.upsert([makeChunk('r1', 'gearbox inspection schedule')]);
    const ids = async (q: string) => (await index.search({ query: q, filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' })).hits.map((h) => h.id);
    assert.deepEqual(await ids('gearbox'), ['r1']);
    assert.deepEqual(await ids('schedule'), ['r1']);
    assert.deepEqual(await ids('lubrication'), []);
    await index.close();
  });

  it('removes deleted text from its files: rows, vocabulary and write-ahead log', async () => {
    const file = await tempFile();
    const index = await createEmbeddedSearch({ file });
    await index.upsert([makeChunk('m1', 'The zyxquartzmarker procedure is secret.', { documentId: 'doc-m' }), makeChunk('m2', 'Ordinary valve text.', { documentId: 'doc-n' })]);
    await index.setGeneration(1);
    assert.match(await filesText(file), /zyxquartzmarker/);
    assert.equal(await index.delete({ organisationId: 'org-a', documentId: 'doc-m' }), 1);
    // The log is truncated once deletions pause for a second.
    const deadline = Date.now() + 10_000;
    while (/zyxquartzmarker/.test(await filesText(file)) && Date.now() < deadline) await sleep(100);
    assert.doesNotMatch(await filesText(file), /zyxquartzmarker/);
    assert.equal((await index.search({ query: 'valve', filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' })).hits.length, 1);
    await index.close();
    const db = new DatabaseSync(file);
    assert.equal((db.prepare("SELECT count(*) AS n FROM search_terms WHERE term LIKE 'zyx%'").get() as { n: number }).n, 0);
    db.close();
  });

  it('starts afresh, with no recorded generation, when its stored format is not this version', async () => {
    const file = await tempFile();
    const first = await createEmbeddedSearch({ file });
    await first.upsert(corpus);
    await first.setGeneration(7);
    await first.close();
    const db = new DatabaseSync(file);
    db.prepare("UPDATE search_meta SET value = '0' WHERE key = 'format'").run();
    db.close();
    const second = await createEmbeddedSearch({ file });
    assert.equal(await second.generation(), null);
    assert.equal(await second.count({ organisationId: 'org-a' }), 0);
    await second.close();
  });

  it('keeps vector dimensions per knowledge base', async () => {
    const index = await createEmbeddedSearch({ file: null });
    await index.upsert([makeChunk('v1', 'alpha', { vector: unitVector(1) })]);
    await assert.rejects(index.upsert([makeChunk('v2', 'beta', { vector: new Float32Array([1, 0, 0]) })]), /3 dimensions, the other vectors 8/);
    // Another knowledge base may use another model.
    await index.upsert([makeChunk('v3', 'gamma', { kbId: 'kb-3', vector: new Float32Array([1, 0, 0]) })]);
    const hits = await index.search({ query: '', filter: { organisationId: 'org-a', kbId: 'kb-3' }, limit: 5, mode: 'vector', vector: new Float32Array([1, 0, 0]) });
    assert.deepEqual(hits.hits.map((h) => h.id), ['v3']);
    await index.close();
  });

  it('reads by index seeks only: loading, replacing, deleting and returning hits never scan the table', async () => {
    const file = await tempFile();
    const index = await createEmbeddedSearch({ file });
    await index.upsert(Array.from({ length: 50 }, (_, i) => makeChunk(`s${i}`, `seal ${i}`, { documentId: `d${i % 5}` })));
    await index.close();
    const db = new DatabaseSync(file);
    db.exec('ANALYZE');
    const plan = (sql: string, ...params: Array<string | number>) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
    assert.match(plan(SEEKS.shardRows, 1, 0, 10), /^SEARCH search_chunks USING INDEX search_chunks_shard \(shard=\? AND rowid>\?\)$/);
    assert.match(plan(SEEKS.shardChunks, 1), /^SEARCH search_chunks USING COVERING INDEX search_chunks_shard \(shard=\?\)$/);
    assert.match(plan(SEEKS.shardTerms, 1, 0, 10), /^SEARCH search_terms USING PRIMARY KEY \(shard=\? AND id>\?\)$/);
    assert.match(plan(SEEKS.chunkById, 's1'), /^SEARCH search_chunks USING INDEX sqlite_autoindex_search_chunks_1 \(id=\?\)$/);
    assert.match(plan(SEEKS.documentRows, 1, 'd1'), /^SEARCH search_chunks USING INDEX search_chunks_document \(shard=\? AND document_id=\?\)$/);
    assert.match(plan(SEEKS.records(3), 's1', 's2', 's3'), /^SEARCH search_chunks USING INDEX sqlite_autoindex_search_chunks_1 \(id=\?\)$/);
    db.close();
  });
});
