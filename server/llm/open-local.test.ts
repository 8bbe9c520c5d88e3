import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeTinyGguf } from '../../test/fixtures/tiny-gguf.ts';
import { openLocalLlm } from './open-local.ts';
import { capturingLogger } from '../../test/helpers/logs.ts';

let root: string;
let tiny: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lectern-open-llm-'));
  tiny = (await writeTinyGguf(join(root, 'tiny.gguf'))).file;
});

after(() => rm(root, { recursive: true, force: true }));

async function modelsDir(name: string, files: Record<string, string | Buffer> = {}): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}


describe('openLocalLlm', () => {
  test('without the default model, says which one is missing and what to run, without absolute paths', async () => {
    const dir = await modelsDir('empty');
    const { log, lines } = capturingLogger();
    const opened = await openLocalLlm({ modelsDir: dir, log });
    assert.equal(opened.engine, null);
    assert.equal(opened.reason, 'LLM qwen2.5-1.5b-instruct is not installed in MODELS_DIR: run npm run models -- --profile small');
    assert.equal(lines[0]?.level, 'warn');
    assert.equal(lines[0]?.reason, opened.reason);
    assert.equal((await openLocalLlm({ modelsDir: dir, model: 'qwen2.5-7b-instruct' })).reason, 'LLM qwen2.5-7b-instruct is not installed in MODELS_DIR: run npm run models -- --profile large');
  });

  test('refuses names that are not a file name, models of another role and unknown names', async () => {
    const dir = await modelsDir('empty');
    assert.match((await openLocalLlm({ modelsDir: dir, model: '../etc' })).reason ?? '', /not a valid model id/);
    assert.equal((await openLocalLlm({ modelsDir: dir, model: 'bge-small-en-v1.5' })).reason, 'bge-small-en-v1.5 is not an LLM (the model manifest lists it as embeddings)');
    assert.match((await openLocalLlm({ modelsDir: dir, model: 'mystery' })).reason ?? '', /^LLM mystery is neither in the model manifest nor a GGUF in MODELS_DIR: put mystery\.gguf there/);
  });

  test('a file that is not a GGUF, or a damaged one, is a reason, not a crash', async () => {
    const whole = await readFile(tiny);
    const dir = await modelsDir('broken', { 'notes.gguf': 'just some text', 'cut.gguf': whole.subarray(0, 4096) });
    assert.equal((await openLocalLlm({ modelsDir: dir, model: 'notes.gguf' })).reason, 'MODELS_DIR/notes.gguf is not a GGUF file (damaged or incomplete download?)');
    const cut = await openLocalLlm({ modelsDir: dir, model: 'cut' });
    assert.equal(cut.engine, null);
    assert.match(cut.reason ?? '', /^LLM cut \(MODELS_DIR\/cut\.gguf\) could not be loaded: Failed to load model \(gguf_init_from_reader: failed to read key-value pairs\)$/);
    assert.ok(!cut.reason?.includes(root), cut.reason);
  });

  test('loads a GGUF of the operator\'s own by name, without tool calling', async () => {
    const dir = await modelsDir('own');
    await mkdir(join(dir, 'house-model'));
    await copyFile(tiny, join(dir, 'house-model', 'house-model-q8_0.gguf'));
    const { log, lines } = capturingLogger();
    const opened = await openLocalLlm({ modelsDir: dir, model: 'house-model', threads: 1, contextSize: 1024, log });
    try {
      assert.ok(opened.engine, opened.reason);
      assert.deepEqual(opened.engine.model, { id: 'house-model', contextSize: 1024, toolCalling: false });
      const result = await opened.engine.generate({ messages: [{ role: 'user', content: 'hello' }], maxTokens: 3 });
      assert.equal(result.usage.completionTokens, 3);
      assert.equal(lines.find((l) => l.msg === 'local LLM loaded')?.chatFormat, 'ChatML');
    } finally {
      await opened.engine?.close();
    }
  });

  test('a manifest model gets its context size and tool calling from the manifest', async () => {
    const dir = await modelsDir('manifested');
    await mkdir(join(dir, 'tiny-chat'));
    await copyFile(tiny, join(dir, 'tiny-chat', 'model.gguf'));
    const manifestPath = join(root, 'manifest.json');
    const file = { path: 'model.gguf', url: 'https://huggingface.co/x/y/resolve/0000000000000000000000000000000000000000/model.gguf', sha256: null, size: null };
    // A file of the wrong size (an interrupted copy) is caught before llama.cpp sees it.
    await writeFile(manifestPath, JSON.stringify({ defaults: { llm: 'tiny-chat' }, models: [{ id: 'tiny-chat', role: 'llm', profiles: [], files: [{ ...file, size: 10 }] }] }));
    assert.match((await openLocalLlm({ modelsDir: dir, manifestPath })).reason ?? '', /^MODELS_DIR\/tiny-chat\/model\.gguf is \d+ bytes, not the 10 the model manifest pins \(incomplete download\?\): run npm run models -- --only tiny-chat$/);

    await writeFile(manifestPath, JSON.stringify({ defaults: { llm: 'tiny-chat' }, models: [{ id: 'tiny-chat', role: 'llm', profiles: ['small'], llm: { contextSize: 512, toolCalling: true }, files: [file] }] }));
    const opened = await openLocalLlm({ modelsDir: dir, manifestPath, threads: 1, queueLimit: 0 });
    try {
      assert.ok(opened.engine, opened.reason);
      assert.deepEqual(opened.engine.model, { id: 'tiny-chat', contextSize: 512, toolCalling: true });
    } finally {
      await opened.engine?.close();
    }
  });
});
