import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { float32ToPcm16, resample } from '../../server/speech/resample.ts';
import { createSileroVad } from '../../server/speech/vad.ts';
import { readWavFile } from '../../server/speech/wav.ts';
import { Client, setUp } from '../helpers/client.ts';
import { RealtimeClient, refusedWith } from '../helpers/realtime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The realtime endpoint end to end: the real appliance (no LLM, no STT model, espeak-ng as the
// voice), a `ws` client speaking the OpenAI Realtime events.

const SPEECH = join(import.meta.dirname, '../../../shared/speech');
const DOC = `# Workshop safety

Always remove the chuck key before starting the lathe. Wear eye protection near rotating parts.`;

describe('/v1/realtime', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  let key: string;
  let url: string;
  before(async () => {
    // Unpaced audio: these tests read whole answers, not playback.
    server = await startTestServer({ realtime: { audioLeadMs: 600_000 } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Workshop' })).json.id;
    await owner.upload(kbId, [{ name: 'safety.md', bytes: DOC }]);
    await owner.settle(kbId);
    key = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key;
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());

  const connect = () => RealtimeClient.open(url, { authorization: `Bearer ${key}` });

  it('refuses the upgrade without credentials, with a bad key, with a cookie from another origin, and for an unknown kb', async () => {
    assert.equal(await refusedWith(url, {}), 401);
    assert.equal(await refusedWith(url, { authorization: 'Bearer lectern_nope_nope' }), 401);
    assert.equal(await refusedWith(url, { cookie: owner.cookie!, origin: 'https://evil.example' }), 401);
    assert.equal(await refusedWith(url, { cookie: owner.cookie! }), 401, 'a cookie without Origin is refused too');
    assert.equal(await refusedWith(url.replace(kbId, 'unknownkb'), { authorization: `Bearer ${key}` }), 404);
    const same = await RealtimeClient.open(url, { cookie: owner.cookie!, origin: server.url });
    assert.equal((await same.next('session.created')).session.audio.input.format.rate, 24_000);
    same.close();
  });

  it('accepts a short-lived client secret in the browser subprotocol, for its own knowledge base only', async () => {
    const minted = await owner.post('/api/v1/realtime/sessions', { model: `kb:${kbId}`, expiresInSeconds: 60 });
    assert.equal(minted.status, 201);
    const secret = minted.json.client_secret.value as string;
    assert.match(secret, /^ek_[a-z2-7]+_[a-z2-7]+$/);
    assert.ok(minted.json.client_secret.expires_at > Date.now() / 1000);
    const ws = new WebSocket(url, ['realtime', `openai-insecure-api-key.${secret}`]);
    const first = await new Promise<{ type: string }>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as { type: string }));
      ws.once('error', reject);
    });
    assert.equal(first.type, 'session.created');
    assert.equal(ws.protocol, 'realtime', 'the secret itself is never echoed back');
    ws.close();
    assert.equal(await refusedWith(url, { authorization: `Bearer ${secret}x` }), 401, 'a tampered secret is refused');
    const otherKb = (await owner.post('/api/v1/kbs', { name: 'Other' })).json.id as string;
    assert.equal(await refusedWith(url.replace(kbId, otherKb), { authorization: `Bearer ${secret}` }), 404, 'a secret is bound to its knowledge base');
    assert.equal((await owner.post('/api/v1/realtime/sessions', { model: 'kb:nosuchkb' })).status, 404);
  });

  it('answers a text turn with text, citations, espeak audio and usage; the conversation persists', async () => {
    const c = await connect();
    const created = (await c.next('session.created')).session;
    assert.equal(created.model, `kb:${kbId}`);
    // REALTIME_TURN_DETECTION's default; a client still gets server_vad, with its settings, by asking.
    assert.deepEqual(created.audio.input.turn_detection, { type: 'semantic_vad', eagerness: 'auto', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 600 });
    c.send({ type: 'session.update', session: { audio: { output: { format: { type: 'audio/pcm', rate: 16000 } } } } });
    assert.equal((await c.next('session.updated')).session.audio.output.format.rate, 16_000);
    const updated = (from: number) => c.next('session.updated', from).then((e) => e['session'].audio.input.turn_detection);
    let mark = c.events.length;
    c.send({ type: 'session.update', session: { audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 700 } } } } });
    assert.deepEqual(await updated(mark), { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 700 });
    mark = c.events.length;
    c.send({ type: 'session.update', session: { audio: { input: { turn_detection: { type: 'semantic_vad', eagerness: 'high' } } } } });
    assert.deepEqual(await updated(mark), { type: 'semantic_vad', eagerness: 'high', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 600 });

    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What must be removed before starting the lathe?' }] } });
    await c.next('conversation.item.created');
    c.send({ type: 'response.create' });
    const done = await c.next('response.done');
    const types = c.events.map((e) => e['type']);
    assert.ok(types.indexOf('response.created') < types.indexOf('response.output_text.delta'));
    const text = c.events.filter((e) => e['type'] === 'response.output_text.delta').map((e) => e['delta']).join('');
    assert.match(text, /chuck key/);
    assert.equal((await c.next('lectern.citation')).citation.documentName, 'safety.md');
    const audio = c.events.filter((e) => e['type'] === 'response.output_audio.delta').map((e) => Buffer.from(e['delta'], 'base64'));
    assert.ok(audio.length > 5, 'speech comes in ~100 ms chunks');
    // 100 ms of 16 kHz pcm16 per chunk; each sentence's last chunk may be shorter.
    assert.ok(audio.every((b) => b.length <= 3200 && b.length % 2 === 0));
    assert.ok(audio.filter((b) => b.length === 3200).length > audio.length / 2);
    assert.ok(types.indexOf('response.output_audio.done') < types.indexOf('response.done'));
    assert.equal(done.response.status, 'completed');
    assert.deepEqual(Object.keys(done.response.usage).sort(), ['input_tokens', 'output_tokens', 'total_tokens']);
    const conversationId = done.response.metadata.lectern_conversation_id;

    const from = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And what protects the eyes?' }] } });
    c.send({ type: 'response.create' });
    const second = await c.next('response.done', from);
    assert.equal(second.response.metadata.lectern_conversation_id, conversationId);
    const messages = (await owner.get(`/api/v1/conversations/${conversationId}`)).json.messages;
    assert.equal(messages.length, 4);
    assert.equal(second.response.metadata.lectern_message_id, messages[3].id, 'response.done names the stored answer');
    c.close();
  });

  it('continues a conversation begun elsewhere with ?conversation=<id>, only the caller\'s own on this kb', async () => {
    const asked = (await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What must be removed before starting the lathe?' })).json;
    const conversationId = asked.conversationId as string;
    // The API key belongs to the organisation but is not the owner who asked: a viewer sees only its own.
    assert.equal(await refusedWith(`${url}&conversation=${conversationId}`, { authorization: `Bearer ${key}` }), 404);
    assert.equal(await refusedWith(`${url}&conversation=nope`, { authorization: `Bearer ${key}` }), 404);
    const adminKey = (await owner.post('/api/v1/api-keys', { name: 'admin voice', role: 'admin' })).json.key as string;
    const c = await RealtimeClient.open(`${url}&conversation=${conversationId}`, { authorization: `Bearer ${adminKey}` });
    await c.next('session.created');
    c.send({ type: 'session.update', session: { output_modalities: ['text'] } });
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And what protects the eyes?' }] } });
    c.send({ type: 'response.create' });
    const done = await c.next('response.done');
    assert.equal(done.response.metadata.lectern_conversation_id, conversationId);
    assert.equal((await owner.get(`/api/v1/conversations/${conversationId}`)).json.messages.length, 4);
    c.close();
  });

  it('cancels a response mid-answer', async () => {
    const c = await connect();
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What must be removed before starting the lathe?' }] } });
    c.send({ type: 'response.create' });
    await c.next('response.output_text.delta');
    c.send({ type: 'response.cancel' });
    assert.equal((await c.next('response.done')).response.status, 'cancelled');
    assert.equal(c.events.some((e) => e['type'] === 'response.output_audio.done'), false);
    c.close();
  });

  it('answers malformed and unknown frames with error events and stays open', async () => {
    const c = await connect();
    await c.next('session.created');
    c.ws.send('{not json');
    assert.equal((await c.next('error')).error.code, 'invalid_json');
    c.send({ type: 'response.teleport' });
    await new Promise((r) => setTimeout(r, 100));
    const errorsSeen = c.events.filter((e) => e['type'] === 'error').map((e) => e['error']);
    assert.equal(errorsSeen[1]?.code, 'unknown_event');
    c.send({ type: 'input_audio_buffer.append', audio: '***' });
    c.send({ type: 'response.create' });
    c.send({ type: 'response.cancel' });
    await new Promise((r) => setTimeout(r, 200));
    const codes = c.events.filter((e) => e['type'] === 'error').map((e) => e['error'].code);
    assert.deepEqual(codes, ['invalid_json', 'unknown_event', 'validation_failed', 'bad_request', 'response_cancel_not_active']);
    assert.ok(c.events.filter((e) => e['type'] === 'error').every((e) => typeof e['error'].traceId === 'string'));
    // Like every server event, each error has its own event_id (OpenAI's realtime protocol).
    const ids = c.events.filter((e) => e['type'] === 'error').map((e) => e['event_id']);
    assert.ok(ids.every((id) => typeof id === 'string' && /^event_\d+$/.test(id)), JSON.stringify(ids));
    assert.equal(new Set(ids).size, ids.length);
    c.send({ type: 'session.update', session: {} });
    await c.next('session.updated');
    c.close();
  });

  it('detects speech turns in streamed audio and says which STT model is missing', { skip: !existsSync(SPEECH) && `${SPEECH} is absent` }, async () => {
    const wav = await readWavFile(join(SPEECH, 'spk1_snt1.wav'));
    const audio = new Float32Array(wav.samples.length + wav.sampleRate * 1.5);
    audio.set(wav.samples);
    // The VAD's own segmentation of the same audio is the reference.
    const vad = await createSileroVad();
    const reference = await vad.push({ samples: audio, sampleRate: wav.sampleRate });
    await vad.close();
    const start = reference.find((e) => e.type === 'speech_start');
    const end = reference.find((e) => e.type === 'speech_end');
    assert.ok(start && end);

    const c = await connect();
    await c.next('session.created');
    const pcm = float32ToPcm16(resample(audio, wav.sampleRate, 24_000));
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    for (let at = 0; at < bytes.length; at += 4_800) {
      c.send({ type: 'input_audio_buffer.append', audio: bytes.subarray(at, at + 4_800).toString('base64') });
      if (at % 48_000 === 0) await new Promise((r) => setImmediate(r));
    }
    const started = await c.next('input_audio_buffer.speech_started');
    const stopped = await c.next('input_audio_buffer.speech_stopped');
    assert.ok(Math.abs(started.audio_start_ms - start.atMs) <= 400, `start ${started.audio_start_ms} vs ${start.atMs}`);
    assert.ok(Math.abs(stopped.audio_end_ms - end.atMs) <= 400, `end ${stopped.audio_end_ms} vs ${end.atMs}`);
    assert.equal(stopped.item_id, started.item_id);
    assert.equal((await c.next('input_audio_buffer.committed')).item_id, started.item_id);
    const error = (await c.next('error')).error;
    assert.equal(error.code, 'stt_unavailable');
    assert.match(error.message, /STT|speech recognition/i);
    assert.match(error.message, /npm run models|manifest|MODELS_DIR/);
    assert.equal(c.events.some((e) => e['type'] === 'response.created'), false);
    c.close();
  });
});

describe('/v1/realtime connection health', () => {
  let server: TestServer;
  let headers: Record<string, string>;
  let url: string;
  before(async () => {
    server = await startTestServer({ realtime: { heartbeatMs: 100, idleMs: 1_000, maxPayload: 64 * 1024 } });
    const { owner } = await setUp(server.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Health' })).json.id;
    headers = { authorization: `Bearer ${(await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key}` };
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());

  const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string; at: number }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })));

  it('closes with 1009 on a frame over maxPayload', async () => {
    const c = await RealtimeClient.open(url, headers);
    const end = closed(c.ws);
    c.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(80 * 1024).toString('base64') });
    assert.equal((await end).code, 1009);
  });

  it('terminates a client that stops answering pings, and closes an idle one', async () => {
    const silent = new WebSocket(url, { headers, autoPong: false });
    const started = Date.now();
    const cut = await closed(silent);
    assert.equal(cut.code, 1006, 'terminated, no close handshake');
    assert.ok(cut.at - started < 900, 'by the heartbeat, before the idle timeout');

    const idle = await RealtimeClient.open(url, headers);
    const end = await closed(idle.ws);
    assert.deepEqual([end.code, end.reason], [1000, 'idle timeout']);
  });

  // Last: it stops this suite's server.
  it('closes open sessions with 1001 when the server shuts down', async () => {
    const c = await RealtimeClient.open(url, headers);
    await c.next('session.created');
    const end = closed(c.ws);
    await server.close();
    assert.equal((await end).code, 1001);
  });
});

describe('/v1/realtime session limit', () => {
  let server: TestServer;
  let headers: Record<string, string>;
  let url: string;
  before(async () => {
    server = await startTestServer({ realtime: { maxSessions: 2 } });
    const { owner } = await setUp(server.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Limit' })).json.id;
    headers = { authorization: `Bearer ${(await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key}` };
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(() => server.close());
  const closed = (ws: WebSocket) => new Promise<void>((resolve) => ws.once('close', () => resolve()));

  it('refuses sessions beyond REALTIME_MAX_SESSIONS with 503, and accepts again once one closes', async () => {
    const [a, b] = [await RealtimeClient.open(url, headers), await RealtimeClient.open(url, headers)];
    await Promise.all([a.next('session.created'), b.next('session.created')]);
    assert.equal(await refusedWith(url, headers), 503);
    const end = closed(a.ws);
    a.close();
    await end;
    // The server counts a session until its cleanup has run: try until it lets one in.
    let c: RealtimeClient | undefined;
    for (let tries = 0; !c && tries < 50; tries++) c = await RealtimeClient.open(url, headers).catch(() => new Promise<undefined>((r) => setTimeout(r, 50)));
    assert.ok(c, 'accepted again after one closed');
    await c.next('session.created');
    b.close();
    c.close();
  });
});
