import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { createLogger, type Logger } from '../logger.ts';
import { makeChunk, searchContract, unitVector } from './contract.ts';
import { createEmbeddedSearch } from './embedded.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lectern-search-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

searchContract('embedded, in memory', () => createEmbeddedSearch({ dir: null }));
searchContract('embedded, on disk', async () => createEmbeddedSearch({ dir: await tempDir() }));

function captureLog(): { log: Logger; warnings: () => string[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'warn', destination: sink }), warnings: () => lines.filter((l) => l.level === 'warn').map((l) => String(l.msg)) };
}

const corpus = [
  makeChunk('c1', 'Replace the hydraulic filter every 500 hours.', { headings: ['Maintenance'], vector: unitVector(1) }),
  makeChunk('c2', 'Hydraulic oil must be ISO VG 46.', { documentId: 'doc-2', vector: unitVector(0, 1) }),
  makeChunk('c3', 'Keyword-only chunk about the coolant pump.', { kbId: 'kb-2', documentId: 'doc-3' }),
  makeChunk('x1', 'Replace the hydraulic filter.', { organisationId: 'org-b', vector: unitVector(1) }),
];

/** A copy of the directory as a crash would leave it: what reached the files, nothing more. */
async function crashCopy(dir: string): Promise<string> {
  const copy = await tempDir();
  await cp(dir, copy, { recursive: true });
  return copy;
}

async function snapshotFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('embedded search index', () => {
  it('reopens from its snapshot with contents, vectors and generation', async () => {
    const dir = await tempDir();
    const first = await createEmbeddedSearch({ dir });
    await first.upsert(corpus);
    await first.setGeneration(4);
    await first.close();
    assert.deepEqual(await snapshotFiles(dir), ['chunks-2.ndjson', 'keyword-2.json', 'manifest.json', 'vectors-2.f32']);

    const second = await createEmbeddedSearch({ dir });
    assert.equal(await second.generation(), 4);
    assert.equal(await second.count({ organisationId: 'org-a' }), 3);
    const keyword = await second.search({ query: 'hydraulic filters', filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' });
    assert.equal(keyword.hits[0]?.id, 'c1');
    assert.deepEqual(keyword.hits[0]?.matchedTerms, ['hydraulic', 'filter']);
    assert.deepEqual(keyword.hits[0]?.headings, ['Maintenance']);
    const vector = await second.search({ query: '', filter: { organisationId: 'org-a' }, limit: 5, mode: 'vector', vector: unitVector(0, 1) });
    assert.deepEqual(vector.hits.map((h) => h.id), ['c2', 'c1']);
    await second.close();
  });

  it('recovers from the journal what a crashed process had recorded', async () => {
    const dir = await tempDir();
    const writer = await createEmbeddedSearch({ dir });
    await writer.upsert(corpus);
    await writer.delete({ organisationId: 'org-a', documentId: 'doc-2' });
    await writer.setGeneration(9);
    assert.deepEqual(await snapshotFiles(dir), ['chunks-1.ndjson', 'journal-1.log', 'manifest.json']);

    const reader = await createEmbeddedSearch({ dir: await crashCopy(dir) });
    assert.equal(await reader.generation(), 9);
    assert.equal(await reader.count({ organisationId: 'org-a' }), 2);
    const hits = await reader.search({ query: 'coolant pump', filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' });
    assert.deepEqual(hits.hits.map((h) => h.id), ['c3']);
    const near = await reader.search({ query: '', filter: { organisationId: 'org-b' }, limit: 5, mode: 'vector', vector: unitVector(1) });
    assert.deepEqual(near.hits.map((h) => h.id), ['x1']);
    await reader.close();
    await writer.close();
  });

  it('folds a journal that outgrew its snapshot into a new one, rebuilding keywords on load', async () => {
    const dir = await tempDir();
    const index = await createEmbeddedSearch({ dir, compactMinBytes: 1024 });
    await index.upsert(Array.from({ length: 20 }, (_, i) => makeChunk(`f${i}`, `fold ${i} into the snapshot`, { vector: unitVector(1, i) })));
    await index.setGeneration(2);
    assert.deepEqual(await snapshotFiles(dir), ['chunks-2.ndjson', 'manifest.json', 'vectors-2.f32']);
    await index.upsert([makeChunk('after', 'written after the fold')]);
    await index.clear();
    await index.upsert([makeChunk('survivor', 'the only chunk left')]);
    await index.setGeneration(3);

    const copy = await createEmbeddedSearch({ dir: await crashCopy(dir) });
    assert.equal(await copy.generation(), 3);
    assert.equal(await copy.count({ organisationId: 'org-a' }), 1);
    const hits = await copy.search({ query: 'chunk', filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' });
    assert.deepEqual(hits.hits.map((h) => h.id), ['survivor']);
    await copy.close();
    await index.close();
  });

  it('writes changes after a quiet period, without recording a generation they were not part of', async () => {
    const dir = await tempDir();
    const index = await createEmbeddedSearch({ dir, flushDelayMs: 5 });
    await index.upsert(corpus.slice(0, 1));
    await index.setGeneration(1);
    await index.upsert(corpus.slice(1, 2));
    assert.equal(await index.generation(), 1);
    await waitFor(async () => (await readFile(join(dir, 'journal-1.log'), 'utf8')).split('\n').length === 4);

    const reader = await createEmbeddedSearch({ dir: await crashCopy(dir) });
    assert.equal(await reader.count({ organisationId: 'org-a' }), 2);
    assert.equal(await reader.generation(), null, 'contents newer than generation 1 must not claim it');
    await reader.close();
    await index.close();
  });

  it('keeps only the files of the latest snapshot', async () => {
    const dir = await tempDir();
    const index = await createEmbeddedSearch({ dir });
    await index.upsert([makeChunk('g1', 'generation one', { vector: unitVector(1) })]);
    await index.setGeneration(1);
    await writeFile(join(dir, 'chunks-1.ndjson.tmp'), 'left over by a crash');
    await index.close();
    assert.deepEqual(await snapshotFiles(dir), ['chunks-2.ndjson', 'keyword-2.json', 'manifest.json', 'vectors-2.f32']);
  });

  it('drops an unfinished last journal line and keeps what came before', async () => {
    const dir = await tempDir();
    const index = await createEmbeddedSearch({ dir });
    await index.upsert(corpus.slice(0, 2));
    await index.setGeneration(5);
    await index.upsert(corpus.slice(2, 3));
    await index.close();
    const copy = await crashCopy(dir);
    const reopened = await createEmbeddedSearch({ dir: copy });
    await reopened.upsert([makeChunk('late', 'late arrival')]);
    await reopened.setGeneration(6);
    const journal = join(copy, 'journal-2.log');
    const intact = await readFile(journal);
    await writeFile(journal, Buffer.concat([intact, Buffer.from('{"op":"upsert","chunk":{"id":"half')]));

    const { log, warnings } = captureLog();
    const recovered = await createEmbeddedSearch({ dir: await crashCopy(copy) }, { log });
    assert.equal(await recovered.generation(), 6);
    assert.equal(await recovered.count({ organisationId: 'org-a' }), 4);
    assert.equal(warnings().length, 1);
    await recovered.close();
    await reopened.close();
  });

  it('starts empty when the journal is damaged before its end', async () => {
    const dir = await tempDir();
    const index = await createEmbeddedSearch({ dir });
    await index.upsert(corpus);
    await index.setGeneration(5);
    const journal = join(dir, 'journal-1.log');
    const lines = (await readFile(journal, 'utf8')).split('\n');
    lines[0] = lines[0]!.replace('hydraulic', 'hydrauLic');
    const copy = await crashCopy(dir);
    await writeFile(join(copy, 'journal-1.log'), lines.join('\n'));

    const { log, warnings } = captureLog();
    const reopened = await createEmbeddedSearch({ dir: copy }, { log });
    assert.equal(await reopened.generation(), null);
    assert.equal(await reopened.count({ organisationId: 'org-a' }), 0);
    assert.equal(warnings().length, 1);
    await reopened.close();
    await index.close();
  });

  for (const victim of ['manifest.json', 'chunks-2.ndjson', 'vectors-2.f32', 'keyword-2.json']) {
    it(`starts empty with a warning when ${victim} is garbage`, async () => {
      const dir = await tempDir();
      const first = await createEmbeddedSearch({ dir });
      await first.upsert(corpus);
      await first.setGeneration(7);
      await first.close();
      await writeFile(join(dir, victim), 'garbage \u0000\u00ff{"not": json');

      const { log, warnings } = captureLog();
      const reopened = await createEmbeddedSearch({ dir }, { log });
      assert.equal(await reopened.generation(), null);
      assert.equal(await reopened.count({ organisationId: 'org-a' }), 0);
      assert.equal(warnings().length, 1);
      // Still a working index, and its next snapshot replaces the damaged one.
      await reopened.upsert(corpus.slice(0, 1));
      await reopened.setGeneration(8);
      await reopened.close();
      const healed = await createEmbeddedSearch({ dir }, { log });
      assert.equal(await healed.generation(), 8);
      assert.equal(await healed.count({ organisationId: 'org-a' }), 1);
      assert.equal(warnings().length, 1);
      await healed.close();
    });
  }

  it('starts empty when the snapshot has another format version', async () => {
    const dir = await tempDir();
    const first = await createEmbeddedSearch({ dir });
    await first.upsert(corpus);
    await first.setGeneration(2);
    await first.close();
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, format: 999 }));
    const { log, warnings } = captureLog();
    const reopened = await createEmbeddedSearch({ dir }, { log });
    assert.equal(await reopened.generation(), null);
    assert.equal(await reopened.count({ organisationId: 'org-a' }), 0);
    assert.equal(warnings().length, 1);
    await reopened.close();
  });

  it('rejects a batch whose vectors do not fit the index, changing nothing', async () => {
    const index = await createEmbeddedSearch({ dir: null });
    await index.upsert([makeChunk('a', 'alpha', { vector: unitVector(1) })]);
    const wrong = makeChunk('b', 'bravo', { vector: new Float32Array([1, 0, 0]) });
    await assert.rejects(index.upsert([makeChunk('c', 'charlie'), wrong]), RangeError);
    assert.equal(await index.count({ organisationId: 'org-a' }), 1);
    await assert.rejects(index.upsert([{ ...makeChunk('d', 'delta'), organisationId: '' }]), TypeError);
    await index.close();
  });

  it('searches keywords when the query vector does not match the index dimension', async () => {
    const index = await createEmbeddedSearch({ dir: null });
    await index.upsert(corpus);
    const response = await index.search({ query: 'coolant', filter: { organisationId: 'org-a' }, limit: 5, mode: 'hybrid', vector: new Float32Array([1, 0]) });
    assert.equal(response.mode, 'keyword');
    assert.deepEqual(response.hits.map((h) => h.id), ['c3']);
    await index.close();
  });

  it('keeps vectors attached to the right chunks through deletes and replacements', async () => {
    const index = await createEmbeddedSearch({ dir: null });
    const angle = (i: number): Float32Array => unitVector(Math.cos(i / 10), Math.sin(i / 10), 0.01 * i);
    await index.upsert(Array.from({ length: 40 }, (_, i) => makeChunk(`n${i}`, `note ${i}`, { documentId: `doc-${i % 4}`, vector: angle(i) })));
    await index.delete({ organisationId: 'org-a', documentId: 'doc-1' });
    await index.upsert([makeChunk('n2', 'note 2 without a vector', { documentId: 'doc-2' })]);
    for (let i = 0; i < 40; i++) {
      const response = await index.search({ query: '', filter: { organisationId: 'org-a' }, limit: 1, mode: 'vector', vector: angle(i) });
      const expected = i % 4 === 1 || i === 2 ? undefined : `n${i}`;
      if (expected) assert.equal(response.hits[0]?.id, expected);
      else assert.notEqual(response.hits[0]?.id, `n${i}`);
    }
    assert.equal(await index.count({ organisationId: 'org-a' }), 30);
    await index.close();
  });

  it('orders equal scores by id and scores keyword hits by query coverage', async () => {
    const index = await createEmbeddedSearch({ dir: null });
    await index.upsert([makeChunk('t2', 'torque wrench'), makeChunk('t1', 'torque wrench'), makeChunk('t3', 'torque only')]);
    const full = await index.search({ query: 'torque wrench', filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' });
    assert.deepEqual(full.hits.map((h) => h.id), ['t1', 't2', 't3']);
    assert.equal(full.hits[0]?.score, 1);
    const partial = await index.search({ query: 'torque calibration', filter: { organisationId: 'org-a' }, limit: 5, mode: 'keyword' });
    assert.equal(partial.hits[0]?.score, 0.5, 'the best hit has one of two query terms');
    await index.upsert(['v3', 'v1', 'v2'].map((id) => makeChunk(id, 'same', { vector: unitVector(1, 1) })));
    const vector = await index.search({ query: '', filter: { organisationId: 'org-a' }, limit: 2, mode: 'vector', vector: unitVector(1, 1) });
    assert.deepEqual(vector.hits.map((h) => h.id), ['v1', 'v2']);
    await index.close();
  });

  it('finishes pending upserts before closing, and serves searches while a large one runs', async () => {
    const dir = await tempDir();
    const index = await createEmbeddedSearch({ dir });
    await index.upsert([makeChunk('first', 'gearbox')]);
    const big = Array.from({ length: 300 }, (_, i) => makeChunk(`bulk-${i}`, `bulk chunk ${i} about the gearbox`));
    const upserting = index.upsert(big);
    const during = await index.search({ query: 'gearbox', filter: { organisationId: 'org-a' }, limit: 100, mode: 'keyword' });
    assert.ok(during.hits.length >= 1);
    await index.close();
    await upserting;
    const reopened = await createEmbeddedSearch({ dir });
    assert.equal(await reopened.count({ organisationId: 'org-a' }), 301);
    await reopened.close();
  });

  it('refuses work once closed', async () => {
    const index = await createEmbeddedSearch({ dir: null });
    await index.close();
    await index.close();
    await assert.rejects(index.ping(), /closed/);
    await assert.rejects(index.upsert([makeChunk('z', 'zulu')]), /closed/);
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail('condition not met within 2 s');
}
