import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { writeTinyEmbeddingModel } from '../../test/fixtures/tiny-models.ts';
import { openEmbeddedStore } from '../store/embedded.ts';
import type { Store } from '../store/store.ts';
import { CachedEmbeddingEngine, EMBEDDING_CACHE_COLLECTION, embeddingCacheKey, type EmbeddingCacheDocument } from './cache.ts';
import type { EmbeddingEngine } from './embeddings.ts';
import { openEmbeddingEngine } from './open.ts';

/** Passes everything to the real engine and records what reached it. */
class CountingEngine implements EmbeddingEngine {
  readonly kind: string;
  readonly model: EmbeddingEngine['model'];
  readonly documentCalls: string[][] = [];
  readonly queryCalls: string[] = [];
  readonly #inner: EmbeddingEngine;

  constructor(inner: EmbeddingEngine) {
    this.#inner = inner;
    this.kind = inner.kind;
    this.model = inner.model;
  }

  embedDocuments(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    this.documentCalls.push([...texts]);
    return this.#inner.embedDocuments(texts, signal);
  }

  embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    this.queryCalls.push(text);
    return this.#inner.embedQuery(text, signal);
  }

  countTokens(text: string): number {
    return this.#inner.countTokens(text);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

let root: string;
let onnx: EmbeddingEngine;
let store: Store;
let counting: CountingEngine;
let cached: CachedEmbeddingEngine;
const now = new Date('2026-03-01T12:00:00.000Z');

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lectern-cache-'));
  const { modelId } = await writeTinyEmbeddingModel(root, { queryPrefix: 'query: ', passagePrefix: 'passage: ' });
  const opened = await openEmbeddingEngine({ modelsDir: root, model: modelId, threads: 1 });
  assert.ok(opened.engine, opened.reason);
  onnx = opened.engine;
});

beforeEach(() => {
  store = openEmbeddedStore({ path: ':memory:' });
  counting = new CountingEngine(onnx);
  cached = new CachedEmbeddingEngine(counting, store, { now: () => now });
});

afterEach(async () => {
  await store.close();
});

after(async () => {
  await onnx.close();
  await rm(root, { recursive: true, force: true });
});

test('only misses reach the engine, once each and in one batch; results keep input order', async () => {
  const first = await cached.embedDocuments(['cat', 'dog', 'cat', 'bird']);
  assert.deepEqual(counting.documentCalls, [['cat', 'dog', 'bird']]);
  const direct = await onnx.embedDocuments(['cat', 'dog', 'bird']);
  assert.deepEqual(first, [direct[0], direct[1], direct[0], direct[2]]);

  const second = await cached.embedDocuments(['bird', 'fish', 'cat']);
  assert.deepEqual(counting.documentCalls[1], ['fish']);
  assert.deepEqual(second[0], direct[2]);
  assert.deepEqual(second[2], direct[0]);
  assert.deepEqual(second[1], (await onnx.embedDocuments(['fish']))[0]);

  await cached.embedDocuments(['fish', 'dog']);
  assert.equal(counting.documentCalls.length, 2);
  assert.deepEqual(await cached.embedDocuments([]), []);
  assert.equal(counting.documentCalls.length, 2);
});

test('queries and passages are cached apart, since their prefixes give different vectors', async () => {
  await cached.embedDocuments(['heart pain']);
  const query = await cached.embedQuery('heart pain');
  assert.deepEqual(counting.queryCalls, ['heart pain']);
  assert.deepEqual(query, await onnx.embedQuery('heart pain'));
  assert.deepEqual(await cached.embedQuery('heart pain'), query);
  assert.equal(counting.queryCalls.length, 1);
});

test('stores base64 Float32 bytes under sha256(model, kind, text), survives a new wrapper, and re-embeds a damaged entry', async () => {
  const [vector] = await cached.embedDocuments(['clinic']);
  assert.ok(vector);
  const key = createHash('sha256').update(`${onnx.model.id}\0passage\0clinic`).digest('hex');
  assert.equal(embeddingCacheKey(onnx.model.id, 'passage', 'clinic'), key);
  const collection = store.collection<EmbeddingCacheDocument>(EMBEDDING_CACHE_COLLECTION);
  const doc = await collection.findOne({ _id: key });
  assert.deepEqual(doc, { _id: key, v: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64'), at: now.toISOString() });

  const again = new CachedEmbeddingEngine(new CountingEngine(onnx), store);
  assert.deepEqual(await again.embedDocuments(['clinic']), [vector]);

  await collection.updateOne({ _id: key }, { $set: { v: Buffer.from([1, 2, 3]).toString('base64') } });
  const repaired = new CountingEngine(onnx);
  assert.deepEqual(await new CachedEmbeddingEngine(repaired, store).embedDocuments(['clinic']), [vector]);
  assert.deepEqual(repaired.documentCalls, [['clinic']]);
  assert.equal((await collection.findOne({ _id: key }))?.v, doc?.v);
});

test('describes itself from the inner engine and delegates token counts', () => {
  assert.equal(cached.kind, 'onnx+cache');
  assert.deepEqual(cached.model, onnx.model);
  assert.equal(cached.countTokens('the cat sat'), onnx.countTokens('the cat sat'));
});
