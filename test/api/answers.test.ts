import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp, signedIn } from '../helpers/client.ts';

// Answers with no language model installed: the product must work before any model download,
// answering with cited passages. The same through the OpenAI-compatible API.

const PW = 'a sufficiently long password';
const SAFETY = `# Workshop safety

## Lathe

Always remove the chuck key before starting the lathe. Wear eye protection; never wear gloves near rotating parts.

## Welding

Welding requires a ventilated booth and a fire extinguisher within ten metres.`;

const INTAKE = 'New patients complete the intake form at reception.\n\nThe triage nurse reviews every intake form within fifteen minutes.';

async function readSse(res: Response): Promise<Array<{ event: string; data: any }>> {
  const text = await res.text();
  return [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }));
}

describe('answers without a language model', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  before(async () => {
    server = await startTestServer();
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Operations' })).json.id;
    await owner.upload(kbId, [
      { name: 'safety.md', bytes: SAFETY },
      { name: 'intake.txt', bytes: INTAKE },
    ]);
    await owner.settle(kbId);
  });
  after(() => server.close());

  it('answers extractively with citations to the right passage', async () => {
    const r = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What must be removed before starting the lathe?' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.mode, 'extractive');
    assert.equal(r.json.engine.kind, 'extractive');
    assert.match(r.json.engine.reason, /LLM|model/i);
    const first = r.json.citations[0];
    assert.equal(first.documentName, 'safety.md');
    assert.match(first.quote, /chuck key/);
    assert.match(r.json.answer, /\[1\]/);
    assert.equal(r.json.usage.firstTokenMs, null);
    assert.ok(r.json.usage.searches >= 1);
  });

  it('streams the same as server-sent events and keeps the conversation', async () => {
    const res = await fetch(`${server.url}/api/v1/kbs/${kbId}/ask`, {
      method: 'POST',
      headers: { cookie: owner.cookie!, origin: server.url, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ question: 'Who reviews the intake form?' }),
    });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await readSse(res);
    const names = events.map((e) => e.event);
    assert.deepEqual(names.slice(0, 2), ['conversation', 'search']);
    assert.ok(names.includes('citation'));
    assert.equal(names.at(-1), 'done');
    const done = events.at(-1)!.data;
    assert.equal(done.citations[0].documentName, 'intake.txt');

    const follow = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'And within how many minutes?', conversationId: done.conversationId });
    assert.equal(follow.json.conversationId, done.conversationId);
    const conversation = await owner.get(`/api/v1/conversations/${done.conversationId}`);
    assert.equal(conversation.status, 200);
    assert.deepEqual(conversation.json.messages.map((m: { role: string }) => m.role), ['user', 'assistant', 'user', 'assistant']);
    const answer = conversation.json.messages[1];
    assert.ok(answer.shownChunkIds.length > 0, 'the audit of what each answer was shown');
    assert.ok(answer.searches.length > 0 && typeof answer.searches[0].query === 'string', 'the searches are kept with the answer');
    assert.equal(answer.sentToCloud, false);
    assert.ok((await owner.get('/api/v1/conversations')).json.conversations.some((c: { id: string }) => c.id === done.conversationId));

    const rated = await owner.post(`/api/v1/conversations/${done.conversationId}/messages/${done.messageId}/feedback`, { rating: 'down', comment: 'Too short' });
    assert.equal(rated.status, 200);
    assert.equal(rated.json.feedback.rating, 'down');
    assert.equal((await owner.post(`/api/v1/conversations/${done.conversationId}/messages/${conversation.json.messages[0].id}/feedback`, { rating: 'up' })).status, 404, 'only answers can be rated');
  });

  it('keeps conversations private to their author, visible to admins, and isolated per organisation', async () => {
    await owner.post('/api/v1/users', { email: 'viewer@riverside.test', name: 'Vi', role: 'viewer', password: PW });
    const viewer = await signedIn(server.url, 'viewer@riverside.test', PW);
    const mine = (await viewer.post(`/api/v1/kbs/${kbId}/ask`, { question: 'welding booth' })).json.conversationId;
    const ownerConversations = (await owner.get('/api/v1/conversations')).json.conversations.map((c: { id: string }) => c.id);
    assert.ok(ownerConversations.includes(mine), 'an admin sees every conversation');
    const viewerConversations = (await viewer.get('/api/v1/conversations')).json.conversations.map((c: { id: string }) => c.id);
    assert.deepEqual(viewerConversations, [mine], 'a viewer sees only their own');
    const othersId = ownerConversations.find((id: string) => id !== mine);
    assert.equal((await viewer.get(`/api/v1/conversations/${othersId}`)).status, 404);
    assert.equal((await viewer.post(`/api/v1/kbs/${kbId}/ask`, { question: 'x', conversationId: othersId })).status, 404);

    await owner.post('/api/v1/organisations', { name: 'Other', admin: { name: 'Oz', email: 'oz@other.test', password: PW } });
    const oz = await signedIn(server.url, 'oz@other.test', PW);
    assert.equal((await oz.post(`/api/v1/kbs/${kbId}/ask`, { question: 'lathe' })).status, 404);
    assert.equal((await oz.get(`/api/v1/conversations/${mine}`)).status, 404);
    assert.deepEqual((await oz.get('/api/v1/conversations')).json.conversations, []);
  });

  it('records usage and reports models, settings and policy changes', async () => {
    const usage = await owner.get('/api/v1/usage?groupBy=engine');
    assert.equal(usage.status, 200);
    const extractive = usage.json.rows.find((r: { key: string }) => r.key === 'extractive');
    assert.ok(extractive.messages >= 3);
    assert.equal(extractive.cost, 0);
    const byDay = (await owner.get('/api/v1/usage?groupBy=day')).json.rows;
    assert.equal(byDay.length, 1);
    assert.equal((await owner.get('/api/v1/usage?groupBy=planet')).status, 400);

    const models = (await owner.get('/api/v1/system/models')).json;
    const roles = Object.fromEntries(models.roles.map((r: { role: string }) => [r.role, r]));
    assert.deepEqual(Object.keys(roles).sort(), ['embeddings', 'llm', 'stt', 'tts', 'vad']);
    assert.equal(roles['llm'].using, null);
    assert.match(roles['llm'].note, /extractive/);
    assert.ok(roles['embeddings'].missing.some((m: { id: string }) => m.id === 'bge-small-en-v1.5'));

    const settings = (await owner.get('/api/v1/settings')).json;
    assert.equal(settings.llmPolicy, 'local-only');
    assert.equal(settings.engines.cloud.configured, false);
    const changed = await owner.patch('/api/v1/settings', { llmPolicy: 'local-then-cloud' });
    assert.equal(changed.json.llmPolicy, 'local-then-cloud');
    const audit = (await owner.get('/api/v1/audit')).json.entries;
    assert.ok(audit.some((e: { action: string; details: Record<string, string> }) => e.action === 'settings.update' && /local-only → local-then-cloud/.test(e.details['llmPolicy'] ?? '')));
    const viewer = await signedIn(server.url, 'viewer@riverside.test', PW);
    assert.equal((await viewer.patch('/api/v1/settings', { llmPolicy: 'cloud-first' })).status, 403);
    assert.equal((await owner.patch('/api/v1/settings', { llmPolicy: 'everywhere' })).status, 400);
  });

  it('serves kb models through the OpenAI-compatible API (official client, streaming and not)', async () => {
    const key = (await owner.post('/api/v1/api-keys', { name: 'sdk', role: 'viewer' })).json.key;
    const client = new OpenAI({ apiKey: key, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const models = await client.models.list();
    assert.ok(models.data.some((m) => m.id === `kb:${kbId}`));

    const completion = await client.chat.completions.create({ model: `kb:${kbId}`, messages: [{ role: 'user', content: 'What is needed near welding?' }] });
    const message = completion.choices[0]!.message as typeof completion.choices[0]['message'] & { citations?: Array<{ documentName: string }> };
    assert.match(message.content ?? '', /extinguisher/);
    assert.equal(message.citations?.[0]?.documentName, 'safety.md');

    const stream = await client.chat.completions.create({ model: `kb:${kbId}`, messages: [{ role: 'user', content: 'What does the triage nurse review?' }], stream: true });
    let text = '';
    let citations: Array<{ documentName: string }> = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      const extra = chunk as typeof chunk & { citations?: Array<{ documentName: string }> };
      if (extra.citations) citations = extra.citations;
    }
    assert.match(text, /intake form/);
    assert.equal(citations[0]?.documentName, 'intake.txt');

    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }), /404/);
    await assert.rejects(new OpenAI({ apiKey: 'lectern_bad_key', baseURL: `${server.url}/v1`, maxRetries: 0 }).models.list(), /401/);
    const cookieOnly = await fetch(`${server.url}/v1/models`, { headers: { cookie: owner.cookie! } });
    assert.equal(cookieOnly.status, 401, 'the compatible API takes API keys only');
  });
});
