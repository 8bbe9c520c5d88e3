import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { writeTinyGguf } from '../fixtures/tiny-gguf.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp } from '../helpers/client.ts';

// The answer path with a real local LLM: node-llama-cpp's prebuilt CPU binary running a tiny
// GGUF (random weights) that the test writes. The text is noise; the plumbing is real. A second
// appliance without a model uses the first one's OpenAI-compatible API as its cloud engine.

const DOC = 'The backup generator is tested every Monday at 09:00.\n\nFuel is topped up when the gauge shows one quarter.';

async function sse(server: TestServer, client: Client, path: string, body: unknown, signal?: AbortSignal) {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { cookie: client.cookie!, origin: server.url, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  return [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }));
}

describe('answers from a local LLM, and a cloud engine in front of it', () => {
  let modelsDir: string;
  let local: TestServer;
  let owner: Client;
  let kbId: string;
  let key: string;
  before(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-llm-'));
    await writeTinyGguf(path.join(modelsDir, 'tiny.gguf'));
    local = await startTestServer({ env: { MODELS_DIR: modelsDir, LLM_MODEL: 'tiny', LLM_CONTEXT_SIZE: '2048' } });
    owner = (await setUp(local.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Facilities' })).json.id;
    await owner.upload(kbId, [{ name: 'generator.txt', bytes: DOC }]);
    await owner.settle(kbId);
    key = (await owner.post('/api/v1/api-keys', { name: 'peer', role: 'viewer' })).json.key;
  });
  after(async () => {
    await local?.close();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('reports the local model in use', async () => {
    const roles = (await owner.get('/api/v1/system/models')).json.roles as Array<{ role: string; using: string | null }>;
    assert.match(roles.find((r) => r.role === 'llm')!.using ?? '', /^local:/);
    const ready = (await new Client(local.url).get('/readyz')).json.components.find((c: { name: string }) => c.name === 'llm');
    assert.equal(ready.state, 'ok');
  });

  it('streams a generated answer with its retrieval visible, and reuses the evaluated prefix on a follow-up', async () => {
    const events = await sse(local, owner, `/api/v1/kbs/${kbId}/ask`, { question: 'When is the generator tested?' });
    const names = events.map((e) => e.event);
    assert.deepEqual(names.slice(0, 2), ['conversation', 'search'], names.join(','));
    assert.equal(events[1]!.data.hits > 0, true);
    assert.ok(names.includes('delta'), 'tokens stream as deltas');
    const done = events.at(-1)!;
    assert.equal(done.event, 'done');
    assert.equal(done.data.mode, 'generative');
    assert.equal(done.data.engine.kind, 'local');
    assert.ok(done.data.usage.promptTokens > 0 && done.data.usage.completionTokens > 0);
    assert.ok(done.data.usage.firstTokenMs !== null);
    const streamed = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
    assert.equal(streamed, done.data.answer.replace(/\s*\[\d+\]/g, (m: string) => (streamed.includes(m) ? m : '')).slice(0, streamed.length));

    const follow = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'And the fuel?', conversationId: done.data.conversationId });
    assert.equal(follow.status, 200);
    assert.ok(follow.json.usage.cachedPromptTokens > 0, `follow-up reused ${follow.json.usage.cachedPromptTokens} prompt tokens`);
  });

  it('stops generating when the client goes away and keeps the partial answer as stopped', async () => {
    const controller = new AbortController();
    const pending = sse(local, owner, `/api/v1/kbs/${kbId}/ask`, { question: 'Describe the generator schedule in detail.' }, controller.signal).catch(() => null);
    await new Promise((r) => setTimeout(r, 150));
    controller.abort();
    await pending;
    await new Promise((r) => setTimeout(r, 300));
    const conversations = (await owner.get('/api/v1/conversations')).json.conversations as Array<{ id: string; title: string }>;
    const stopped = conversations.find((c) => c.title.startsWith('Describe the generator'))!;
    const messages = (await owner.get(`/api/v1/conversations/${stopped.id}`)).json.messages as Array<{ role: string; status: string }>;
    assert.equal(messages.at(-1)!.status, 'cancelled');
  });

  it('serves the local model and kb models through /v1 to the official openai client', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${local.url}/v1`, maxRetries: 0 });
    const ids = (await client.models.list()).data.map((m) => m.id);
    const model = ids.find((id) => !id.startsWith('kb:'))!;
    assert.ok(ids.includes(`kb:${kbId}`));
    const plain = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 12 });
    assert.equal(plain.object, 'chat.completion');
    assert.ok((plain.usage?.completion_tokens ?? 0) > 0);
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 12, stream: true, stream_options: { include_usage: true } });
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      usage = chunk.usage ?? usage;
    }
    assert.ok(chunks > 2);
    assert.ok((usage?.completion_tokens ?? 0) > 0);
    const grounded = await client.chat.completions.create({ model: `kb:${kbId}`, messages: [{ role: 'user', content: 'When is the generator tested?' }], stream: true });
    let citations: unknown[] | undefined;
    for await (const chunk of grounded) citations = (chunk as { citations?: unknown[] }).citations ?? citations;
    assert.ok(Array.isArray(citations));
  });

  describe('a second appliance using the first as its cloud engine', () => {
    let edge: TestServer;
    let edgeOwner: Client;
    let edgeKb: string;
    const peerRequests = () => local.logs.filter((l) => (l['req'] as { path?: string } | undefined)?.path === '/v1/chat/completions').length;
    before(async () => {
      const emptyModels = await mkdtemp(path.join(os.tmpdir(), 'lectern-nomodels-'));
      edge = await startTestServer({
        env: { MODELS_DIR: emptyModels, CLOUD_LLM_URL: `${local.url}/v1`, CLOUD_LLM_MODEL: 'tiny', CLOUD_LLM_API_KEY: key, CLOUD_LLM_NAME: 'peer', CLOUD_LLM_PRICE_INPUT_PER_MTOK: '1', CLOUD_LLM_PRICE_OUTPUT_PER_MTOK: '2' },
      });
      edgeOwner = (await setUp(edge.url)).owner;
      edgeKb = (await edgeOwner.post('/api/v1/kbs', { name: 'Edge' })).json.id;
      await edgeOwner.upload(edgeKb, [{ name: 'generator.txt', bytes: DOC }]);
      await edgeOwner.settle(edgeKb);
    });
    after(() => edge?.close());

    it('under local-only sends nothing anywhere and answers extractively', async () => {
      const before = peerRequests();
      const r = await edgeOwner.post(`/api/v1/kbs/${edgeKb}/ask`, { question: 'When is the generator tested?' });
      assert.equal(r.json.mode, 'extractive');
      assert.equal(peerRequests(), before, 'no request reached the cloud endpoint');
    });

    it('under local-then-cloud falls back to the cloud engine, records why, bills it and audits it', async () => {
      await edgeOwner.patch('/api/v1/settings', { llmPolicy: 'local-then-cloud' });
      const before = peerRequests();
      const r = await edgeOwner.post(`/api/v1/kbs/${edgeKb}/ask`, { question: 'When is the generator tested?' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.mode, 'generative');
      assert.equal(r.json.engine.kind, 'cloud');
      assert.equal(r.json.engine.name, 'cloud:peer');
      assert.match(r.json.engine.reason, /local/i);
      assert.ok(peerRequests() > before);
      const usage = (await edgeOwner.get('/api/v1/usage?groupBy=engine')).json.rows.find((row: { key: string }) => row.key === 'cloud:peer');
      assert.equal(usage.cloudMessages, 1);
      assert.ok(usage.cost > 0);
      const audit = (await edgeOwner.get('/api/v1/audit')).json.entries;
      assert.ok(audit.some((e: { action: string }) => e.action === 'llm.cloud'), 'data leaving the box is audited');
      const messages = (await edgeOwner.get(`/api/v1/conversations/${r.json.conversationId}`)).json.messages;
      assert.equal(messages.at(-1).sentToCloud, true);
    });
  });
});
