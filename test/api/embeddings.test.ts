import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTinyEmbeddingModel } from '../fixtures/tiny-models.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp } from '../helpers/client.ts';

// The whole path with a real onnxruntime session: a tiny generated model (random weights, real
// tokenizer) embeds chunks at ingestion and queries at search time.

describe('knowledge-base search with an installed embedding model', () => {
  let server: TestServer;
  let owner: Client;
  let modelsDir: string;
  let kbId: string;
  before(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-models-'));
    const { modelId } = await writeTinyEmbeddingModel(modelsDir, { dim: 64, pooling: 'mean' });
    server = await startTestServer({ env: { MODELS_DIR: modelsDir, EMBEDDING_MODEL: modelId } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Clinic' })).json.id;
    await owner.upload(kbId, [
      { name: 'appointments.txt', bytes: 'Patients book an appointment with the clinic by phone or email.\n\nThe nurse confirms the appointment the day before.' },
      { name: 'kitchen.txt', bytes: 'The kitchen has a table, a chair and an oven.\n\nCook the rice before dinner.' },
    ]);
    const docs = await owner.settle(kbId);
    assert.deepEqual(docs.map((d) => d['status']), ['ready', 'ready']);
  });
  after(async () => {
    await server?.close();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('reports the model as available', async () => {
    const kb = (await owner.get(`/api/v1/kbs/${kbId}`)).json;
    assert.equal(kb.embeddings.available, true);
    assert.match(kb.embeddings.model, /tiny/);
    const ready = (await new Client(server.url).get('/readyz')).json;
    assert.equal(ready.components.find((c: { name: string }) => c.name === 'embeddings').state, 'ok');
  });

  it('ranks by vector similarity in vector mode and fuses both lists in hybrid mode', async () => {
    const vector = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'nurse appointment phone', mode: 'vector' });
    assert.equal(vector.json.mode, 'vector');
    assert.equal(vector.json.hits[0].documentName, 'appointments.txt');
    const hybrid = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'cook dinner in the oven', mode: 'hybrid' });
    assert.equal(hybrid.json.mode, 'hybrid');
    assert.equal(hybrid.json.hits[0].documentName, 'kitchen.txt');
    assert.ok(hybrid.json.hits.every((h: { score: number }) => h.score >= 0 && h.score <= 1));
  });

  it('caches embeddings by content: re-processing computes nothing new', async () => {
    const cache = server.store.collection<{ _id: string }>('embedding_cache');
    const cached = await cache.countDocuments({});
    assert.ok(cached > 0, 'chunks and queries were cached');
    const doc = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json.documents[0];
    await owner.post(`/api/v1/kbs/${kbId}/documents/${doc.id}/reprocess`);
    await owner.settle(kbId);
    assert.equal(await cache.countDocuments({}), cached, 'the same chunks hit the cache');
    const chunks = await server.store.collection<{ _id: string; vector: string | null }>('chunks').find({}).toArray();
    assert.ok(chunks.length > 0 && chunks.every((c) => c.vector !== null), 'every chunk carries its vector');
    const again = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'nurse appointment phone', mode: 'vector' });
    assert.equal(again.json.hits[0].documentName, 'appointments.txt');
  });
});
