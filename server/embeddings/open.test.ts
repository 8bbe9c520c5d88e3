import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeTinyEmbeddingModel } from '../../test/fixtures/tiny-models.ts';
import { openEmbeddingEngine } from './open.ts';
import { capturingLogger } from '../../test/helpers/logs.ts';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lectern-open-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});


async function emptyDir(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('openEmbeddingEngine', () => {
  test('without the default model, says which one is missing and what to run', async () => {
    const modelsDir = await emptyDir('empty');
    const { log, lines } = capturingLogger();
    const opened = await openEmbeddingEngine({ modelsDir, log });
    assert.equal(opened.engine, null);
    assert.equal(opened.reason, `embedding model bge-small-en-v1.5 is not installed in ${modelsDir}: run npm run models -- --profile small`);
    assert.equal(lines[0]?.level, 'warn');
    assert.equal(lines[0]?.reason, opened.reason);
  });

  test('names the --only command for a manifest model outside every profile', async () => {
    const modelsDir = await emptyDir('empty');
    const opened = await openEmbeddingEngine({ modelsDir, model: 'multilingual-e5-small' });
    assert.equal(opened.reason, `embedding model multilingual-e5-small is not installed in ${modelsDir}: run npm run models -- --only multilingual-e5-small`);
  });

  test('refuses ids that are not a folder name, and models the manifest gives another role', async () => {
    const modelsDir = await emptyDir('empty');
    assert.match((await openEmbeddingEngine({ modelsDir, model: '../etc' })).reason ?? '', /not a valid model id/);
    const manifestPath = join(root, 'manifest-roles.json');
    await writeFile(manifestPath, JSON.stringify({ models: [{ id: 'whisper-base', role: 'stt', files: [] }] }));
    const opened = await openEmbeddingEngine({ modelsDir, model: 'whisper-base', manifestPath });
    assert.equal(opened.reason, 'whisper-base is a stt model, not an embedding model');
    const noDefault = await openEmbeddingEngine({ modelsDir, manifestPath });
    assert.match(noDefault.reason ?? '', /names no default embedding model/);
  });

  test('opens a model the manifest does not know from its lectern.json, and logs the load', async () => {
    const modelsDir = await emptyDir('custom');
    const { modelId } = await writeTinyEmbeddingModel(modelsDir, { pooling: 'cls' });
    const { log, lines } = capturingLogger();
    const { engine, reason } = await openEmbeddingEngine({ modelsDir, model: modelId, threads: 1, log });
    assert.equal(reason, undefined);
    assert.ok(engine);
    try {
      assert.deepEqual(engine.model, { id: modelId, dimensions: 64, maxTokens: 512 });
      assert.equal((await engine.embedQuery('hello')).length, 64);
      const loaded = lines.find((line) => line.msg === 'embedding model loaded');
      assert.equal(loaded?.model, modelId);
      assert.equal(loaded?.pooling, 'cls');
      assert.equal(typeof loaded?.loadMs, 'number');
    } finally {
      await engine.close();
    }
  });

  test("a model installed under a manifest id takes the manifest's metadata", async () => {
    const modelsDir = await emptyDir('manifest-model');
    // lectern.json says 64 tokens; the manifest's 512 wins for a model it lists.
    await writeTinyEmbeddingModel(modelsDir, { modelId: 'bge-small-en-v1.5', dim: 384, maxTokens: 64 });
    const { engine, reason } = await openEmbeddingEngine({ modelsDir, threads: 1 });
    assert.equal(reason, undefined);
    assert.ok(engine);
    try {
      assert.deepEqual(engine.model, { id: 'bge-small-en-v1.5', dimensions: 384, maxTokens: 512 });
    } finally {
      await engine.close();
    }
  });

  test('explains, without throwing, a model that fails to load', async () => {
    const modelsDir = await emptyDir('broken');
    const { dir: corrupt } = await writeTinyEmbeddingModel(modelsDir, { modelId: 'corrupt-onnx' });
    await writeFile(join(corrupt, 'model.onnx'), 'this is not a protobuf');
    const onnx = await openEmbeddingEngine({ modelsDir, model: 'corrupt-onnx', threads: 1 });
    assert.equal(onnx.engine, null);
    assert.match(onnx.reason ?? '', new RegExp(`^embedding model corrupt-onnx in ${corrupt} could not be loaded: .+`));

    const { dir: badTokenizer } = await writeTinyEmbeddingModel(modelsDir, { modelId: 'corrupt-tokenizer' });
    await writeFile(join(badTokenizer, 'tokenizer.json'), '{"model": ');
    const tokenizer = await openEmbeddingEngine({ modelsDir, model: 'corrupt-tokenizer', threads: 1 });
    assert.match(tokenizer.reason ?? '', /corrupt-tokenizer .* could not be loaded: .*JSON/);

    const { dir: undescribed } = await writeTinyEmbeddingModel(modelsDir, { modelId: 'undescribed' });
    await writeFile(join(undescribed, 'lectern.json'), '{"embedding": {"pooling": "max"}}');
    const metadata = await openEmbeddingEngine({ modelsDir, model: 'undescribed' });
    assert.match(metadata.reason ?? '', /undescribed is not in the model manifest, and .*lectern\.json does not describe it/);

    const wrongWidth = await writeTinyEmbeddingModel(modelsDir, { modelId: 'wrong-width', dim: 16 });
    await writeFile(
      join(wrongWidth.dir, 'lectern.json'),
      JSON.stringify({ embedding: { dimensions: 32, maxTokens: 512, pooling: 'mean' } }),
    );
    assert.match((await openEmbeddingEngine({ modelsDir, model: 'wrong-width', threads: 1 })).reason ?? '', /16-dimensional/);
  });

  test('reports an unreadable manifest', async () => {
    const modelsDir = await emptyDir('empty');
    const opened = await openEmbeddingEngine({ modelsDir, manifestPath: join(root, 'nowhere.json') });
    assert.match(opened.reason ?? '', /nowhere\.json is unusable: ENOENT/);
  });
});
