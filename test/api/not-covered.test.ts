import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type Client, setUp } from '../helpers/client.ts';
import { RealtimeClient, type Event } from '../helpers/realtime.ts';

// "Not in your documents" (#13, item 1) on real manuals: a question they do not answer gets a
// plain "Your documents don't cover that." with the closest passages as related (not cited), and a
// question they answer still gets its page. No language model is installed: the extractive path.
// The whole labelled set is measured by `npm run bench:refusal`.

const PDFS = path.resolve(import.meta.dirname, '../../../shared/docs/pdf');
const GUIDE = 'cancer-council-understanding-breast-cancer-76p.pdf';
const REDPAPER = 'ibm-redpaper-redp5110-db2-rcac-sampled-18p.pdf';

describe('questions the documents do not answer', { skip: existsSync(PDFS) ? false : `no ${PDFS} (shared test material absent)` }, () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;

  before(async () => {
    // Unpaced audio: the spoken answer is read whole, not played.
    server = await startTestServer({ realtime: { audioLeadMs: 600_000 } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Manuals' })).json.id;
    const up = await owner.upload(
      kbId,
      [GUIDE, REDPAPER].map((name) => ({ name, bytes: readFileSync(path.join(PDFS, name)) })),
    );
    assert.equal(up.status, 202, up.text);
    for (const d of await owner.settle(kbId, 5 * 60_000)) assert.equal(d['status'], 'ready', d['name']);
  });
  after(() => server?.close());

  for (const question of ['What is the clinic parking policy?', 'What is the usual dose of metformin for type 2 diabetes?', 'How do I install IBM WebSphere Application Server?']) {
    it(`“${question}” is not covered: said plainly, with related passages that are not cited`, async () => {
      const r = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.notCovered, true);
      assert.equal(r.json.answer, "Your documents don't cover that.");
      assert.deepEqual(r.json.citations, [], 'nothing is cited as if it answered');
      if (question.includes('parking')) {
        assert.ok(r.json.related.length > 0, 'the closest passages are offered');
        for (const p of r.json.related) assert.ok([GUIDE, REDPAPER].includes(p.documentName) && p.quote && p.page !== null, JSON.stringify(p));
        // The stored message says the same, so the conversation shows it again when reopened.
        const stored = (await owner.get(`/api/v1/conversations/${r.json.conversationId}`)).json.messages.at(-1);
        assert.equal(stored.notCovered, true);
        assert.deepEqual(stored.related, r.json.related);
      }
    });
  }

  it('a question the guide answers is answered, citing its page', async () => {
    const r = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'How long does the first Herceptin infusion take?' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.notCovered, false);
    assert.deepEqual(r.json.related, []);
    assert.equal(r.json.mode, 'extractive');
    assert.deepEqual([r.json.citations[0]?.documentName, r.json.citations[0]?.page], [GUIDE, 48]);
    assert.match(r.json.answer, /first infusion may take up to 90 minutes/);
  });

  it('the streamed answer ends with the same verdict', async () => {
    const res = await fetch(`${server.url}/api/v1/kbs/${kbId}/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', cookie: owner.cookie!, origin: server.url },
      body: JSON.stringify({ question: 'Who is on the staff rota this weekend?' }),
    });
    const text = await res.text();
    const done = text.split('\n\n').find((e) => e.startsWith('event: done'));
    assert.ok(done, text);
    const answer = JSON.parse(done.slice(done.indexOf('data: ') + 6));
    assert.equal(answer.notCovered, true);
    assert.ok(!text.includes('event: citation'), 'no citation events for related passages');
  });

  it('the spoken answer is the short version, with no source named', async () => {
    const key = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key as string;
    const c = await RealtimeClient.open(`${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`, { authorization: `Bearer ${key}` });
    await c.next('session.created');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is the clinic parking policy?' }] } });
    c.send({ type: 'response.create' });
    const done = await c.next('response.done', 0, 120_000);
    const transcript = (await c.next('response.output_audio_transcript.done')).transcript as string;
    const citations = c.events.filter((e: Event) => e['type'] === 'lectern.citation');
    c.close();
    assert.equal(done.response.status, 'completed');
    assert.equal(transcript, "Your documents don't cover that.");
    assert.equal(citations.length, 0);
  });
});
