import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readWavFile } from '../../server/speech/wav.ts';
import { startOpenAiPeer, type OpenAiPeer, type PeerReply } from '../fixtures/openai-peer.ts';
import { writeTinyGguf } from '../fixtures/tiny-gguf.ts';
import { installTinyVoiceModels } from '../fixtures/tiny-speech-models.ts';
import { Client, setUp } from '../helpers/client.ts';
import { appendEvents, RealtimeClient, type Event } from '../helpers/realtime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Spoken turns end to end on the real appliance: Silero VAD, a tiny streaming CTC recogniser and a
// tiny VITS voice (both real sherpa-onnx models with hand-set weights: the recogniser hears speech
// as "a"s), the extractive answerer. Barge-in, truncation, resume and per-turn metrics.

const SPEECH = join(import.meta.dirname, '../../../shared/speech');
const skip = !existsSync(SPEECH) && `${SPEECH} is absent`;
const DOC = `# Lathe safety

Always remove the chuck key before starting the lathe, because a key left in the chuck is thrown out at speed when the spindle starts. Wear eye protection near rotating parts, and keep loose sleeves, gloves and long hair well away from the work. Stop the lathe completely before measuring the workpiece or clearing swarf by hand. Use a brush or a hook to clear swarf, never your fingers.`;
const QUESTION = 'What must be removed before starting the lathe and why?';

async function writeModels(modelsDir: string): Promise<void> {
  await installTinyVoiceModels(modelsDir);
}

async function voiceServer(realtime: { resumeMs?: number } = {}, env: Record<string, string> = {}): Promise<{ server: TestServer; owner: Client; kbId: string; key: string; url: string }> {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'lectern-voice-'));
  await mkdir(join(dataDir, 'models'), { recursive: true });
  await writeModels(join(dataDir, 'models'));
  if (env['LLM_MODEL'] === 'tiny') await writeTinyGguf(join(dataDir, 'models', 'tiny.gguf'));
  // The tiny recogniser hears "a"s, which semantic_vad would read as words: these tests are about
  // barge-in, resuming and speculation, so turns end on silence alone (turn-detection.test.ts covers semantic_vad).
  const server = await startTestServer({ dataDir, env: { STT_MODEL: 'tiny-stream-stt', TTS_MODEL: 'tiny-voice', REALTIME_TURN_DETECTION: 'server_vad', ...env }, realtime });
  const close = server.close;
  server.close = async () => (await close(), await rm(dataDir, { recursive: true, force: true }));
  const owner = (await setUp(server.url)).owner;
  const kbId = (await owner.post('/api/v1/kbs', { name: 'Workshop' })).json.id as string;
  await owner.upload(kbId, [{ name: 'lathe-safety.md', bytes: DOC }]);
  await owner.settle(kbId);
  const key = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key as string;
  return { server, owner, kbId, key, url: `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}` };
}

const ask = (c: RealtimeClient, text: string) => {
  c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
  c.send({ type: 'response.create' });
};

const silence = (seconds: number, rate = 16_000) => new Float32Array(Math.round(seconds * rate));
const join16 = (...parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};
const audioOf = (events: Event[], responseId: string) => events.filter((e) => e['type'] === 'response.output_audio.delta' && e['response_id'] === responseId);

describe('realtime voice: barge-in, truncation, partial transcripts, metrics', { skip }, () => {
  let env: Awaited<ReturnType<typeof voiceServer>>;
  before(async () => (env = await voiceServer()));
  after(() => env.server.close());
  const connect = () => RealtimeClient.open(env.url, { authorization: `Bearer ${env.key}` });

  it('a short noise during the answer does not interrupt it', async () => {
    const c = await connect();
    await c.next('session.created');
    ask(c, QUESTION);
    const created = await c.next('response.created');
    await c.next('response.output_audio.delta');
    // A 100 ms cut of real speech: voiced, but shorter than the minimum speech duration.
    const jfk = await readWavFile(join(SPEECH, 'jfk.wav'));
    const cough = jfk.samples.slice(jfk.sampleRate * 0.6, jfk.sampleRate * 0.7);
    for (const event of appendEvents(join16(silence(0.3, jfk.sampleRate), cough, silence(1, jfk.sampleRate)), jfk.sampleRate)) c.send(event);
    const done = await c.next('response.done', 0, 60_000);
    assert.equal(done.response.id, created.response.id);
    assert.equal(done.response.status, 'completed');
    assert.equal(c.events.some((e) => e['type'] === 'input_audio_buffer.speech_started'), false);
    assert.ok(audioOf(c.events, created.response.id).length >= 10, 'the whole answer was spoken');
    c.close();
  });

  it('speech during the answer stops it at once; the item is cut to what was heard; the spoken question is answered', async () => {
    const c = await connect();
    await c.next('session.created');
    ask(c, QUESTION);
    const first = (await c.next('response.created')).response.id as string;
    // Let some of the answer play, then talk over it.
    await c.until(() => audioOf(c.events, first).length >= 5);
    const item = audioOf(c.events, first)[0]?.['item_id'] as string;
    const wav = await readWavFile(join(SPEECH, 'spk1_snt1.wav'));
    for (const event of appendEvents(join16(wav.samples, silence(1.5, wav.sampleRate)), wav.sampleRate)) c.send(event);

    const started = await c.next('input_audio_buffer.speech_started');
    const startedAt = c.events.indexOf(started);
    const cancelled = await c.next('response.done', 0, 20_000, (e) => e['response']['id'] === first);
    assert.equal(cancelled.response.status, 'cancelled');
    const late = c.events.slice(startedAt).filter((e) => e['type'] === 'response.output_audio.delta' && e['response_id'] === first);
    assert.equal(late.length, 0, 'no audio of the interrupted answer after speech_started');

    // The client played ~300 ms of the answer before it stopped.
    c.send({ type: 'conversation.item.truncate', item_id: item, content_index: 0, audio_end_ms: 300 });
    const truncated = await c.next('conversation.item.truncated');
    assert.deepEqual([truncated.item_id, truncated.audio_end_ms], [item, 300]);
    assert.equal(truncated.lectern_message_id, cancelled.response.metadata.lectern_message_id);

    // The spoken turn: partial transcripts as it streams, the final one, then its answer.
    const completed = await c.next('conversation.item.input_audio_transcription.completed', startedAt);
    assert.equal(completed.item_id, started.item_id);
    const deltas = c.events.filter((e) => e['type'] === 'conversation.item.input_audio_transcription.delta' && e['item_id'] === started.item_id);
    assert.ok(deltas.length >= 1, 'partial transcripts while speaking');
    assert.ok(completed.transcript.replace(/\s/g, '').startsWith(deltas.map((d) => d['delta']).join('').replace(/\s/g, '')), 'the partials are the start of the final transcript');
    assert.match(completed.transcript, /a/);
    const second = await c.next('response.done', startedAt, 60_000, (e) => e['response']['id'] !== first);
    assert.equal(second.response.status, 'completed');
    const metrics = second.response.metadata.lectern_metrics;
    for (const key of ['speech_end_to_transcript_ms', 'speech_end_to_first_token_ms', 'speech_end_to_first_audio_ms', 'stt_ms', 'first_token_ms', 'tts_first_sentence_ms']) {
      assert.equal(typeof metrics[key], 'number', `${key}: ${metrics[key]}`);
    }
    assert.ok(metrics.speech_end_to_transcript_ms <= metrics.speech_end_to_first_token_ms && metrics.speech_end_to_first_token_ms <= metrics.speech_end_to_first_audio_ms, JSON.stringify(metrics));
    assert.ok(Math.abs(metrics.audio_in_seconds - (wav.samples.length / wav.sampleRate)) < 1.2, `audio in ${metrics.audio_in_seconds} s`);
    assert.ok(metrics.audio_out_seconds > 0 && metrics.characters_synthesised > 0);

    // The conversation keeps what was heard of the first answer, and both turns.
    const conversationId = second.response.metadata.lectern_conversation_id;
    const { messages } = (await env.owner.get(`/api/v1/conversations/${conversationId}`)).json;
    assert.deepEqual(messages.map((m: Event) => m['role']), ['user', 'assistant', 'user', 'assistant']);
    const heard = messages[1];
    assert.equal(heard.incomplete, 'truncated');
    assert.equal(heard.content, truncated.lectern_text, 'the event says what was kept');
    assert.ok(heard.content.length > 0 && heard.content.length < 120, `heard: ${heard.content}`);
    assert.equal(messages[2].content, completed.transcript);
    assert.equal(messages[3].voice.stt, 'tiny-stream-stt');
    assert.equal(messages[3].voice.voice, 'tiny-voice');

    // Audio in and out reach the usage ledger.
    const usage = (await env.owner.get('/api/v1/usage?groupBy=kb')).json.rows.find((r: Event) => r['key'] === env.kbId);
    assert.ok(usage.audioInSeconds > 1 && usage.audioOutSeconds > 0 && usage.charactersSynthesised > 0, JSON.stringify(usage));
    c.close();
  });

  it('names its sources in the spoken answer, and truncate refuses unknown items and positions', async () => {
    const c = await connect();
    await c.next('session.created');
    ask(c, QUESTION);
    const done = await c.next('response.done', 0, 60_000);
    const transcript = (await c.next('response.output_audio_transcript.done')).transcript as string;
    const text = (await c.next('response.output_text.done')).text as string;
    assert.match(transcript, /From lathe safety\.?$/, transcript);
    assert.ok(!text.includes('From lathe safety'), 'the spoken sources are not part of the written answer');
    assert.ok(c.events.some((e) => e['type'] === 'lectern.citation'));
    const item = audioOf(c.events, done.response.id)[0]?.['item_id'];
    c.send({ type: 'conversation.item.truncate', item_id: 'item_nope', content_index: 0, audio_end_ms: 0 });
    assert.equal((await c.next('error')).error.code, 'invalid_item_id');
    const errors = c.events.length;
    c.send({ type: 'conversation.item.truncate', item_id: item, content_index: 0, audio_end_ms: 3_600_000 });
    assert.equal((await c.next('error', errors)).error.code, 'invalid_audio_end_ms');
    c.close();
  });
});

describe('realtime voice: a client that sends audio faster than real time', { skip }, () => {
  let env: Awaited<ReturnType<typeof voiceServer>>;
  before(async () => (env = await voiceServer()));
  after(() => env.server.close());

  it('is read as fast as the pipeline goes (the socket pauses), and every turn in the audio is found and transcribed', async () => {
    const c = await RealtimeClient.open(env.url, { authorization: `Bearer ${env.key}` });
    await c.next('session.created');
    c.send({ type: 'session.update', session: { output_modalities: ['text'] } });
    const clips = await Promise.all(['spk1_snt2.wav', 'spk2_snt1.wav', 'spk1_snt4.wav'].map((name) => readWavFile(join(SPEECH, name))));
    const rate = clips[0]?.sampleRate ?? 16_000;
    const audio = join16(...clips.flatMap((clip) => [clip.samples, silence(2, rate)]));
    // ~15 s of audio in one burst: far more than the server handles before it stops reading.
    const events = appendEvents(audio, rate);
    assert.ok(events.length > 2 * 64, `${events.length} appends`);
    for (const event of events) c.send(event);
    await c.until(() => c.events.filter((e) => e['type'] === 'response.done').length === 3, 0, 90_000);
    const transcripts = c.events.filter((e) => e['type'] === 'conversation.item.input_audio_transcription.completed');
    assert.equal(transcripts.length, 3);
    assert.equal(c.events.some((e) => e['type'] === 'error'), false, JSON.stringify(c.events.find((e) => e['type'] === 'error')));
    c.close();
  });
});

describe('realtime voice: resuming a dropped session', () => {
  let env: Awaited<ReturnType<typeof voiceServer>>;
  before(async () => (env = await voiceServer({ resumeMs: 1_500 })));
  after(() => env.server.close());
  const connect = (query = '', key = env.key) => RealtimeClient.open(`${env.url}${query}`, { authorization: `Bearer ${key}` });

  const textTurn = async (c: RealtimeClient, text: string) => {
    const from = c.events.length;
    c.send({ type: 'session.update', session: { output_modalities: ['text'] } });
    ask(c, text);
    return (await c.next('response.done', from, 30_000)).response;
  };

  it('continues the same conversation after a reconnect within the window, for the same caller only', async () => {
    const first = await connect();
    const session = (await first.next('session.created')).session;
    const conversationId = (await textTurn(first, QUESTION)).metadata.lectern_conversation_id;
    first.ws.terminate(); // a dropped connection, not a goodbye
    await new Promise((r) => setTimeout(r, 100));

    // Someone else cannot take it over.
    const otherKey = (await env.owner.post('/api/v1/api-keys', { name: 'other', role: 'viewer' })).json.key as string;
    const intruder = await connect(`&resume=${session.id}`, otherKey);
    assert.notEqual((await intruder.next('session.created')).session.id, session.id);
    assert.equal((await intruder.next('error')).error.code, 'resume_unavailable');
    intruder.close();

    const again = await connect(`&resume=${session.id}`);
    const resumedSession = (await again.next('session.created')).session;
    assert.equal(resumedSession.id, session.id);
    assert.deepEqual(resumedSession.output_modalities, ['text'], 'the session settings carry over');
    const resumed = await again.next('lectern.session.resumed');
    assert.equal(resumed.conversation_id, conversationId);
    const next = await textTurn(again, 'And what about eye protection?');
    assert.equal(next.metadata.lectern_conversation_id, conversationId);
    const { messages } = (await env.owner.get(`/api/v1/conversations/${conversationId}`)).json;
    assert.equal(messages.length, 4);
    again.close();
  });

  it('starts afresh, saying so, once the window has passed or for an unknown session', async () => {
    const first = await connect();
    const session = (await first.next('session.created')).session;
    await textTurn(first, QUESTION);
    first.close();
    await new Promise((r) => setTimeout(r, 2_000));
    const late = await connect(`&resume=${session.id}`);
    assert.notEqual((await late.next('session.created')).session.id, session.id);
    const error = (await late.next('error')).error;
    assert.equal(error.code, 'resume_unavailable');
    assert.match(error.message, /new session/);
    assert.equal(late.events.some((e) => e['type'] === 'lectern.session.resumed'), false);
    late.close();
    const unknown = await connect('&resume=sess_doesnotexist');
    assert.equal((await unknown.next('error')).error.code, 'resume_unavailable');
    unknown.close();
  });
});

describe('realtime voice: cloud speech under the organisation policy', { skip }, () => {
  let env: Awaited<ReturnType<typeof voiceServer>>;
  let peer: OpenAiPeer;
  before(async () => {
    peer = await startOpenAiPeer((request): PeerReply => {
      if (request.path.endsWith('/audio/transcriptions')) return { kind: 'transcription', text: 'What must be removed before starting the lathe?' };
      return { kind: 'speech', sampleRate: 24_000 };
    });
    // No local recogniser: only the cloud one can hear, and only where the policy lets it.
    env = await voiceServer({}, { STT_MODEL: 'off', CLOUD_STT_URL: peer.url, CLOUD_STT_MODEL: 'whisper-1', CLOUD_TTS_URL: peer.url, CLOUD_TTS_MODEL: 'tts-1', CLOUD_SPEECH_API_KEY: 'sk-test-speech' });
  });
  after(async () => {
    await env.server.close();
    await peer.close();
  });

  const speak = async () => {
    const c = await RealtimeClient.open(env.url, { authorization: `Bearer ${env.key}` });
    await c.next('session.created');
    const wav = await readWavFile(join(SPEECH, 'spk1_snt2.wav'));
    for (const event of appendEvents(join16(wav.samples, silence(1.5, wav.sampleRate)), wav.sampleRate)) c.send(event);
    await c.next('input_audio_buffer.committed');
    return c;
  };

  it('local-only never sends audio out: the turn says no recogniser is available', async () => {
    const c = await speak();
    const error = (await c.next('error')).error;
    assert.equal(error.code, 'stt_unavailable');
    assert.equal(peer.requests.length, 0);
    c.close();
  });

  it('local-then-cloud transcribes in the cloud when no local model is installed, and audits it', async () => {
    await env.owner.patch('/api/v1/settings', { llmPolicy: 'local-then-cloud' });
    const c = await speak();
    const completed = await c.next('conversation.item.input_audio_transcription.completed');
    assert.equal(completed.transcript, 'What must be removed before starting the lathe?');
    assert.equal((await c.next('response.done', 0, 60_000)).response.status, 'completed');
    const upload = peer.requests.find((r) => r.path.endsWith('/audio/transcriptions'));
    assert.equal(upload?.wav?.sampleRate, 16_000);
    assert.equal(peer.requests.some((r) => r.path.endsWith('/audio/speech')), false, 'the local voice speaks');
    const audit = (await env.owner.get('/api/v1/audit?limit=20')).json.entries as Event[];
    assert.ok(audit.some((e) => e['action'] === 'speech.cloud' && e['details']['role'] === 'stt'), JSON.stringify(audit.map((e) => e['action'])));
    c.close();
  });

  it('cloud-first speaks with the cloud voice too, audited once per role rather than once per sentence', async () => {
    await env.owner.patch('/api/v1/settings', { llmPolicy: 'cloud-first' });
    const before = peer.requests.length;
    const c = await speak();
    const done = await c.next('response.done', 0, 60_000);
    assert.equal(done.response.status, 'completed');
    const spoken = peer.requests.slice(before).filter((r) => r.path.endsWith('/audio/speech'));
    assert.ok(spoken.length >= 2, `${spoken.length} sentences synthesised in the cloud`);
    assert.ok(c.events.some((e) => e['type'] === 'response.output_audio.delta'));
    const audit = ((await env.owner.get('/api/v1/audit?limit=50')).json.entries as Event[]).filter((e) => e['action'] === 'speech.cloud');
    const tts = audit.filter((e) => e['details']['role'] === 'tts');
    assert.equal(tts.length, 1, JSON.stringify(audit.map((e) => e['details'])));
    c.close();
  });
});

describe('realtime voice: the prompt is evaluated while the person is still speaking', { skip }, () => {
  let env: Awaited<ReturnType<typeof voiceServer>>;
  before(async () => {
    env = await voiceServer({}, { LLM_MODEL: 'tiny', LLM_CONTEXT_SIZE: '2048' });
    // The tiny recogniser hears speech as a run of "a"s: a passage with every such word lets
    // retrieval match, so the answer goes to the LLM (an unmatched question never reaches it).
    const words = Array.from({ length: 80 }, (_, i) => 'a'.repeat(i + 2)).join(' ');
    await env.owner.upload(env.kbId, [{ name: 'tiny-recogniser-vocabulary.md', bytes: `# What the tiny recogniser hears\n\n${words}.` }]);
    await env.owner.settle(env.kbId);
  });
  after(() => env.server.close());

  it('a spoken turn reuses what the local LLM evaluated during the speech', async () => {
    const c = await RealtimeClient.open(env.url, { authorization: `Bearer ${env.key}` });
    await c.next('session.created');
    c.send({ type: 'session.update', session: { output_modalities: ['text'] } });
    const wav = await readWavFile(join(SPEECH, 'spk1_snt1.wav'));
    // Real time, so the speculation has the speech's duration to run, as it would with a person.
    for (const event of appendEvents(join16(wav.samples, silence(1.5, wav.sampleRate)), wav.sampleRate)) {
      c.send(event);
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = await c.next('response.done', 0, 60_000);
    assert.equal(done.response.status, 'completed');
    const metrics = done.response.metadata.lectern_metrics;
    assert.ok(metrics.speculative_prompt_tokens > 20, `speculated ${metrics.speculative_prompt_tokens} tokens`);
    const { messages } = (await env.owner.get(`/api/v1/conversations/${done.response.metadata.lectern_conversation_id}`)).json;
    const usage = messages[1].usage;
    assert.ok(usage.cachedPromptTokens >= metrics.speculative_prompt_tokens * 0.5, `answer reused ${usage.cachedPromptTokens} of ${usage.promptTokens} prompt tokens; ${metrics.speculative_prompt_tokens} evaluated during speech`);
    c.close();
  });
});
