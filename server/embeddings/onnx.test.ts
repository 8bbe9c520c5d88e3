import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeTinyEmbeddingModel, type TinyModelOptions } from '../../test/fixtures/tiny-models.ts';
import { defaultThreads, OnnxEmbeddingEngine, poolAndNormalise, type EmbeddingModelSpec } from './onnx.ts';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

function assertClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs((actual[i] ?? 0) - (expected[i] ?? 0)) <= tolerance, `component ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

let root: string;
const engines: OnnxEmbeddingEngine[] = [];

async function tinyEngine(options: TinyModelOptions & { batchSize?: number } = {}): Promise<OnnxEmbeddingEngine> {
  const { dir } = await writeTinyEmbeddingModel(root, options);
  const meta = JSON.parse(await readFile(join(dir, 'lectern.json'), 'utf8')) as { id: string; embedding: Omit<EmbeddingModelSpec, 'id'> };
  const engine = await OnnxEmbeddingEngine.create({
    modelDir: dir,
    model: { id: meta.id, ...meta.embedding },
    threads: 1,
    batchSize: options.batchSize,
  });
  engines.push(engine);
  return engine;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lectern-onnx-'));
});

after(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  await rm(root, { recursive: true, force: true });
});

describe('tiny test models', () => {
  test('are small, quick to write and deterministic from their seed', async () => {
    const started = performance.now();
    const { dir } = await writeTinyEmbeddingModel(join(root, 'seeded'), { modelId: 'a', seed: 7 });
    assert.ok(performance.now() - started < 1000);
    assert.ok((await stat(join(dir, 'model.onnx'))).size < 1024 * 1024);
    const again = await writeTinyEmbeddingModel(join(root, 'seeded'), { modelId: 'b', seed: 7 });
    const other = await writeTinyEmbeddingModel(join(root, 'seeded'), { modelId: 'c', seed: 8 });
    const bytes = (d: string) => readFile(join(d, 'model.onnx'));
    assert.deepEqual(await bytes(again.dir), await bytes(dir));
    assert.notDeepEqual(await bytes(other.dir), await bytes(dir));
  });
});

describe('OnnxEmbeddingEngine', () => {
  test('returns unit vectors where texts sharing words are closer than unrelated ones (mean pooling, WordPiece)', async () => {
    const engine = await tinyEngine({ dim: 48 });
    assert.equal(engine.kind, 'onnx');
    assert.deepEqual(engine.model, { id: 'tiny-wordpiece-mean-48', dimensions: 48, maxTokens: 512 });
    const [cat, cats, invoice] = await engine.embedDocuments([
      'The cat sat on the mat.',
      'A cat sat on the mat in the garden.',
      'Insurance invoice payment and tax refund.',
    ]);
    assert.ok(cat && cats && invoice);
    for (const v of [cat, cats, invoice]) {
      assert.equal(v.length, 48);
      assert.ok(Math.abs(dot(v, v) - 1) < 1e-5);
    }
    assert.ok(dot(cat, cats) > dot(cat, invoice) + 0.05, `${dot(cat, cats)} vs ${dot(cat, invoice)}`);
  });

  test('CLS pooling carries the text too', async () => {
    const engine = await tinyEngine({ pooling: 'cls' });
    const [a, b, c] = await engine.embedDocuments(['doctor nurse clinic patient', 'the clinic doctor and the patient', 'football team sport game']);
    assert.ok(a && b && c);
    assert.ok(dot(a, b) > dot(a, c), `${dot(a, b)} vs ${dot(a, c)}`);
  });

  test('a vector does not depend on the batch it was computed in (padding is masked), and order is kept', async () => {
    const engine = await tinyEngine({ batchSize: 3, seed: 3 });
    const texts = [
      'short',
      'a much longer text about the weather in winter and the snow on the mountain near the river',
      'the cat',
      'medicine dose for the patient',
      'one',
      'two words',
      'the bus and the train to the city',
    ];
    const batched = await engine.embedDocuments(texts);
    assert.equal(batched.length, texts.length);
    for (const [i, text] of texts.entries()) {
      const [alone] = await engine.embedDocuments([text]);
      assert.ok(alone && batched[i]);
      assertClose(batched[i], alone);
    }
  });

  test('queries and passages get their own prefixes', async () => {
    const engine = await tinyEngine({ queryPrefix: 'query: ', passagePrefix: 'passage: ', modelId: 'prefixed' });
    const query = await engine.embedQuery('heart pain');
    const [passage] = await engine.embedDocuments(['heart pain']);
    assert.ok(passage);
    assert.ok(dot(query, passage) < 0.9999);
    const unprefixed = await tinyEngine({ queryPrefix: '', passagePrefix: '', modelId: 'unprefixed' });
    const [same] = await unprefixed.embedDocuments(['heart pain']);
    assert.ok(same);
    assertClose(await unprefixed.embedQuery('heart pain'), same);
  });

  test('truncates to maxTokens, special tokens included, and counts tokens without them', async () => {
    const engine = await tinyEngine({ maxTokens: 8, passagePrefix: '', modelId: 'short-window' });
    assert.equal(engine.countTokens('the cat sat on the mat'), 6);
    assert.equal(engine.countTokens('cats'), 2); // cat ##s
    const [a, b, c] = await engine.embedDocuments([
      'the cat sat on the mat with a dog',
      'the cat sat on the mat, cow and sheep',
      'the cat sat on the dog',
    ]);
    assert.ok(a && b && c);
    assertClose(a, b); // only the first 6 words fit between [CLS] and [SEP]
    assert.ok(dot(a, c) < 0.9999);
  });

  test('works with an XLM-R style unigram tokenizer and no token_type_ids input (as multilingual-e5)', async () => {
    const engine = await tinyEngine({ tokenizer: 'unigram', tokenTypeIds: false });
    assert.equal(engine.countTokens('the cat'), 2);
    const [a, b, c] = await engine.embedDocuments(['the dog and the cat', 'a cat and a dog at home', 'server network battery power']);
    assert.ok(a && b && c);
    assert.ok(dot(a, b) > dot(a, c));
  });

  test('stops between batches when aborted', async () => {
    const engine = await tinyEngine({ batchSize: 1, modelId: 'abortable' });
    const texts = Array.from({ length: 200 }, (_, i) => `text number ${i}`);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(engine.embedDocuments(texts, aborted.signal), { name: 'AbortError' });
    const controller = new AbortController();
    const run = engine.embedDocuments(texts, controller.signal);
    setImmediate(() => controller.abort());
    await assert.rejects(run, { name: 'AbortError' });
    // The engine is still usable afterwards.
    assert.equal((await engine.embedDocuments(['still works'])).length, 1);
  });

  test('serves concurrent callers and refuses work once closed', async () => {
    const engine = await tinyEngine({ batchSize: 2, modelId: 'concurrent' });
    const [docs, query, more] = await Promise.all([
      engine.embedDocuments(['a', 'b', 'c', 'd', 'e']),
      engine.embedQuery('question'),
      engine.embedDocuments(['f', 'g', 'h']),
    ]);
    assert.equal(docs.length, 5);
    assert.equal(query.length, 64);
    assert.equal(more.length, 3);
    await engine.close();
    await assert.rejects(engine.embedQuery('late'), /closed/);
    await engine.close();
  });

  test('rejects a model whose output width contradicts its metadata', async () => {
    const { dir } = await writeTinyEmbeddingModel(root, { dim: 16, modelId: 'mismatch' });
    const model: EmbeddingModelSpec = { id: 'mismatch', dimensions: 384, maxTokens: 512, pooling: 'mean', queryPrefix: '', passagePrefix: '' };
    await assert.rejects(OnnxEmbeddingEngine.create({ modelDir: dir, model, threads: 1 }), /16-dimensional/);
  });
});

describe('poolAndNormalise', () => {
  // Two rows, three positions, two dimensions; row 0's last position is padding with a large state.
  const hidden = Float32Array.from([3, 0, 0, 4, 100, 100, 1, 1, 1, 1, 1, 1]);
  const mask = BigInt64Array.from([1n, 1n, 0n, 1n, 1n, 1n]);

  test('mean pooling averages only unmasked positions', () => {
    const out = poolAndNormalise(hidden, [2, 3, 2], mask, 'mean');
    assertClose(out.subarray(0, 2), Float32Array.from([0.6, 0.8]));
    assertClose(out.subarray(2, 4), Float32Array.from([Math.SQRT1_2, Math.SQRT1_2]));
  });

  test('CLS pooling takes the first position', () => {
    assertClose(poolAndNormalise(hidden, [2, 3, 2], mask, 'cls').subarray(0, 2), Float32Array.from([1, 0]));
  });

  test('an already pooled [batch, dim] output is only normalised, and a bad shape is refused', () => {
    assertClose(poolAndNormalise(Float32Array.from([0, 2, 3, 4]), [2, 2], mask, 'mean'), Float32Array.from([0, 1, 0.6, 0.8]));
    assert.throws(() => poolAndNormalise(hidden, [2, 3, 3], mask, 'mean'), /unexpected model output shape/);
  });
});

test('defaultThreads uses half the cores, at least one', () => {
  assert.equal(defaultThreads(1), 1);
  assert.equal(defaultThreads(2), 1);
  assert.equal(defaultThreads(8), 4);
  assert.ok(defaultThreads() >= 1);
});
