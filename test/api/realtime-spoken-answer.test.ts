import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, setUp } from '../helpers/client.ts';
import { RealtimeClient, type Event } from '../helpers/realtime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Short spoken answers (#13, item 3) on the real appliance: no LLM (extractive answers), espeak-ng
// as the voice, the shared 76-page breast cancer guide. The screen gets the whole answer; the voice
// says its best sentence and where it is from, within the organisation's voice.answerSeconds.

const GUIDE = join(import.meta.dirname, '../../../shared/docs/pdf/cancer-council-understanding-breast-cancer-76p.pdf');
const QUESTION = 'Who can develop breast cancer?';
const skip = !existsSync(GUIDE) && `${GUIDE} is absent`;

describe('realtime: short spoken answers', { skip }, () => {
  let server: TestServer;
  let owner: Client;
  let url: string;
  let key: string;
  before(async () => {
    // Unpaced audio: the test reads whole answers, not playback.
    server = await startTestServer({ realtime: { audioLeadMs: 600_000 } });
    owner = (await setUp(server.url)).owner;
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Guides' })).json.id as string;
    await owner.upload(kbId, [{ name: 'cancer-council-understanding-breast-cancer-76p.pdf', bytes: await readFile(GUIDE), type: 'application/pdf' }]);
    await owner.settle(kbId, 240_000);
    key = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key as string;
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());

  const answer = async () => {
    const c = await RealtimeClient.open(url, { authorization: `Bearer ${key}` });
    await c.next('session.created');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: QUESTION }] } });
    c.send({ type: 'response.create' });
    const done = await c.next('response.done', 0, 120_000);
    const text = (await c.next('response.output_text.done')).text as string;
    const transcript = (await c.next('response.output_audio_transcript.done')).transcript as string;
    const citations = c.events.filter((e: Event) => e['type'] === 'lectern.citation');
    c.close();
    return { metrics: done.response.metadata.lectern_metrics, status: done.response.status, text, transcript, citations };
  };

  it('says the best sentence and the spoken source in at most 30 s, while the text answer stays whole', async () => {
    const { metrics, status, text, transcript, citations } = await answer();
    assert.equal(status, 'completed');
    console.log(`spoken: ${metrics.audio_out_seconds} s, ${metrics.characters_synthesised} characters (${(metrics.characters_synthesised / metrics.audio_out_seconds).toFixed(1)}/s) of a ${text.length}-character answer: ${transcript}`);
    assert.ok(metrics.audio_out_seconds > 2 && metrics.audio_out_seconds <= 30, `audio out ${metrics.audio_out_seconds} s`);
    // The whole extractive answer is written: its quotes, each cited.
    assert.ok(text.length > 600, `text answer ${text.length} characters`);
    assert.ok(citations.length >= 2 && text.includes(`[${citations.length}]`));
    // What is said: a sentence of the answer about who develops it, then where it is from.
    assert.match(transcript, /From cancer council understanding breast cancer 76p, pages? [\d, and]+\.$/);
    const said = transcript.replace(/\s*From cancer council[^]*$/, '');
    assert.ok(said.length >= 20 && said.length < transcript.length, transcript);
    assert.ok(text.replace(/\s+/g, ' ').includes(said.replace(/\[\d+\]/g, '').trim().slice(0, 40)), 'the spoken sentence is from the written answer');
    assert.match(said, /breast cancer/i);
    // Sentences are synthesised one by one; the transcript joins them with a space.
    assert.ok(transcript.length - metrics.characters_synthesised <= 4 && metrics.characters_synthesised <= transcript.length, 'what is synthesised is what the transcript says');
  });

  it("follows the organisation's voice.answerSeconds", async () => {
    const short = await owner.patch('/api/v1/settings', { voice: { answerSeconds: 8 } });
    assert.equal(short.status, 200);
    assert.deepEqual(short.json.voice, { answerSeconds: 8 });
    assert.equal((await owner.patch('/api/v1/settings', { voice: { answerSeconds: 2 } })).status, 400);
    const { metrics, transcript } = await answer();
    console.log(`at 8 s: ${metrics.audio_out_seconds} s, ${metrics.characters_synthesised} characters: ${transcript}`);
    assert.ok(metrics.audio_out_seconds <= 12, `audio out ${metrics.audio_out_seconds} s`);
    assert.match(transcript, /\.$/);
    await owner.patch('/api/v1/settings', { voice: { answerSeconds: 20 } });
  });
});
