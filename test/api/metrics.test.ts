import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readWavFile } from '../../server/speech/wav.ts';
import { installTinyVoiceModels } from '../fixtures/tiny-speech-models.ts';
import { appendEvents, RealtimeClient } from '../helpers/realtime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setUp } from '../helpers/client.ts';
import { valueOf } from '../helpers/metrics.ts';
import { ScriptedEngine } from '../fixtures/scripted-engine.ts';
import { startOpenAiPeer, type OpenAiPeer } from '../fixtures/openai-peer.ts';

// GET /metrics (#12, item 5): Prometheus text format, behind METRICS_TOKEN or for this host only,
// one registry per appliance, requests counted under their route pattern, and the domains'
// measurements (ingestion, queue, search, LLM) recorded where the work happens.

const PDF = path.join(import.meta.dirname, '../../../shared/docs/pdf/inform-benutzerhandbuch-de-6p.pdf');
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';
const TOKEN = 'metrics-token-0123456789abcdef';

describe('/metrics with METRICS_TOKEN_FILE', () => {
  let server: TestServer;
  let secrets: string;
  before(async () => {
    secrets = await mkdtemp(path.join(os.tmpdir(), 'lectern-metrics-secret-'));
    await writeFile(path.join(secrets, 'metrics_token'), `${TOKEN}\n`);
    server = await startTestServer({ env: { METRICS_TOKEN_FILE: path.join(secrets, 'metrics_token') } });
  });
  after(async () => {
    await server.close();
    await rm(secrets, { recursive: true, force: true });
  });

  it('answers 401 without the token, even from this host, and 401 to a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token-at-all' }, { authorization: TOKEN }] as Array<Record<string, string>>) {
      const reply = await fetch(`${server.url}/metrics`, { headers });
      assert.equal(reply.status, 401, JSON.stringify(headers));
      assert.equal(((await reply.json()) as { error: { code: string } }).error.code, 'unauthenticated');
      assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  });

  it('answers 200 in Prometheus text format 0.0.4 to the bearer token', async () => {
    const reply = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-type'), TEXT_FORMAT);
    const body = await reply.text();
    assert.match(body, /^# HELP lectern_http_request_duration_seconds /m);
    assert.match(body, /^# TYPE lectern_http_request_duration_seconds histogram$/m);
    assert.match(body, /^# TYPE lectern_nodejs_eventloop_lag_seconds gauge$/m);
    assert.ok((valueOf(body, 'lectern_data_dir_free_bytes') ?? 0) > 0, 'free disk under DATA_DIR');
    assert.equal(valueOf(body, 'lectern_ready'), 1);
  });
});

describe('/metrics without METRICS_TOKEN', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('serves this host (loopback, not forwarded) and nobody else, telling them to set METRICS_TOKEN_FILE', async () => {
    const local = await fetch(`${server.url}/metrics`);
    assert.equal(local.status, 200);
    assert.equal(local.headers.get('content-type'), TEXT_FORMAT);
    // Through a proxy on this host: the connection is loopback but the client is not.
    const forwarded = await fetch(`${server.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(forwarded.status, 401);
    const { error } = (await forwarded.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'unauthenticated');
    assert.match(error.message, /METRICS_TOKEN_FILE/);
  });

  it('is never the console: a POST is 405, not the HTML page', async () => {
    const reply = await fetch(`${server.url}/metrics`, { method: 'POST' });
    assert.equal(reply.status, 405);
    assert.doesNotMatch(reply.headers.get('content-type') ?? '', /html/);
  });
});

describe('what /metrics measures', () => {
  let server: TestServer;
  let other: TestServer;
  let kbId: string;
  let owner: Awaited<ReturnType<typeof setUp>>['owner'];
  let documents: Array<Record<string, any>>;
  const engine = new ScriptedEngine({ name: 'local', script: () => ({ text: ['The generator is tested ', 'every Monday [1].'], usage: { promptTokens: 300, completionTokens: 24 } }) });
  const scrape = async (s: TestServer) => (await fetch(`${s.url}/metrics`)).text();

  before(async () => {
    [server, other] = await Promise.all([startTestServer({ appliance: { localLlm: engine } }), startTestServer()]);
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Facilities' })).json.id;
    await owner.upload(kbId, [{ name: 'generator.txt', bytes: 'The backup generator is tested every Monday at 09:00.\n\nFuel is topped up at one quarter.' }]);
    if (existsSync(PDF)) await owner.upload(kbId, [{ name: 'handbook.pdf', bytes: await readFile(PDF), type: 'application/pdf' }]);
    documents = await owner.settle(kbId);
  });
  after(() => Promise.all([server.close(), other.close()]));

  it('counts a request under its route pattern, never its raw path, and in its own server only', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'generator', mode: 'keyword' })).status, 200);
    const body = await scrape(server);
    const series = { method: 'POST', route: '/api/v1/kbs/:kbId/search', status: '200' };
    assert.equal(valueOf(body, 'lectern_http_request_duration_seconds_count', series), 3);
    assert.ok((valueOf(body, 'lectern_http_request_duration_seconds_sum', series) ?? 0) > 0);
    assert.equal(valueOf(body, 'lectern_http_request_duration_seconds_bucket', { ...series, le: '+Inf' }), 3);
    assert.ok(!body.includes(kbId), 'an id reached a label');
    // A path no route matched is one series, whatever the path.
    await fetch(`${server.url}/api/v1/no-such-thing-${kbId}`);
    assert.equal(valueOf(await scrape(server), 'lectern_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }), 1);
    // The other appliance in this process has a registry of its own.
    assert.equal(valueOf(await scrape(other), 'lectern_http_request_duration_seconds_count', series), undefined);
    assert.equal(valueOf(await scrape(other), 'lectern_search_duration_seconds_count', { mode: 'keyword' }), undefined);
  });

  it('records ingestion, the queue, search and the LLM where the work happens', async () => {
    const asked = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'When is the generator tested?' });
    assert.equal(asked.status, 200, asked.text);
    const body = await scrape(server);
    const n = documents.length;
    assert.ok(documents.every((d) => d['status'] === 'ready'));
    assert.equal(valueOf(body, 'lectern_ingest_documents_total', { outcome: 'ready' }), n);
    // Pages: the PDF's (a text file has none), as the document itself reports them.
    const pages = documents.reduce((sum, d) => sum + (d['pages'] ?? 0), 0);
    if (existsSync(PDF)) assert.ok(pages >= 6, `${pages} pages`);
    assert.equal(valueOf(body, 'lectern_ingest_pages_total'), pages);
    assert.equal(valueOf(body, 'lectern_queue_job_duration_seconds_count', { type: 'ingest', outcome: 'done' }), n);
    for (const stage of ['parsing', 'chunking', 'indexing']) assert.equal(valueOf(body, 'lectern_ingest_stage_duration_seconds_count', { stage }), n, stage);
    for (const state of ['pending', 'running', 'failed']) assert.equal(valueOf(body, 'lectern_queue_jobs', { state }), 0, state);
    assert.equal(valueOf(body, 'lectern_search_duration_seconds_count', { mode: 'keyword' }), 3);
    assert.equal(valueOf(body, 'lectern_llm_tokens_generated_total', { engine: 'local' }), 24);
    assert.equal(valueOf(body, 'lectern_llm_first_token_seconds_count', { engine: 'local' }), 1);
    assert.equal(valueOf(body, 'lectern_llm_breaker_state', { engine: 'local', state: 'closed' }), 1);
    assert.equal(valueOf(body, 'lectern_llm_breaker_state', { engine: 'local', state: 'open' }), 0);
    assert.equal(valueOf(body, 'lectern_realtime_sessions'), 0);
  });
});

const SPEECH = path.join(import.meta.dirname, '../../../shared/speech');

describe('voice in /metrics', { skip: !existsSync(SPEECH) && `${SPEECH} is absent` }, () => {
  let server: TestServer;
  let dataDir: string;
  let url: string;
  let key: string;
  const scrape = async () => (await fetch(`${server.url}/metrics`)).text();

  before(async () => {
    // The tiny real sherpa-onnx recogniser and voice the realtime voice tests use.
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-metrics-voice-'));
    const models = path.join(dataDir, 'models');
    await mkdir(models, { recursive: true });
    await installTinyVoiceModels(models);
    // The tiny recogniser hears only "a"s, which semantic turn detection reads as an unfinished sentence.
    server = await startTestServer({ dataDir, env: { STT_MODEL: 'tiny-stream-stt', TTS_MODEL: 'tiny-voice', REALTIME_TURN_DETECTION: 'server_vad' } });
    const { owner } = await setUp(server.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Workshop' })).json.id as string;
    await owner.upload(kbId, [{ name: 'lathe.md', bytes: 'Always remove the chuck key before starting the lathe.' }]);
    await owner.settle(kbId);
    key = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key as string;
    url = `${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`;
  });
  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('counts open sessions and records a spoken turn\'s latencies from the end of speech', async () => {
    const c = await RealtimeClient.open(url, { authorization: `Bearer ${key}` });
    await c.next('session.created');
    assert.equal(valueOf(await scrape(), 'lectern_realtime_sessions'), 1);
    const wav = await readWavFile(path.join(SPEECH, 'jfk.wav'));
    const speech = wav.samples.slice(0, wav.sampleRate * 2);
    const padded = new Float32Array(speech.length + wav.sampleRate * 1.5);
    padded.set(speech);
    for (const event of appendEvents(padded, wav.sampleRate)) c.send(event);
    const done = await c.next('response.done', 0, 60_000);
    const turn = done.response.metadata.lectern_metrics;
    assert.equal(typeof turn.speech_end_to_first_audio_ms, 'number', JSON.stringify(turn));
    c.close();

    const body = await scrape();
    for (const phase of ['transcript', 'first_token', 'first_audio']) assert.equal(valueOf(body, 'lectern_voice_turn_latency_seconds_count', { phase }), 1, phase);
    const firstAudio = valueOf(body, 'lectern_voice_turn_latency_seconds_sum', { phase: 'first_audio' })!;
    assert.ok(Math.abs(firstAudio - turn.speech_end_to_first_audio_ms / 1000) < 0.002, `${firstAudio} s vs ${turn.speech_end_to_first_audio_ms} ms`);
    // The session's count goes down once its socket has closed.
    const end = Date.now() + 5_000;
    while (valueOf(await scrape(), 'lectern_realtime_sessions') !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.equal(valueOf(await scrape(), 'lectern_realtime_sessions'), 0);
  });
});

describe('a cloud engine in /metrics', () => {
  let server: TestServer;
  let peer: OpenAiPeer;
  let failing = false;
  before(async () => {
    peer = await startOpenAiPeer(() =>
      failing
        ? { kind: 'error', status: 503 }
        : { kind: 'stream', text: ['The generator is tested ', 'every Monday [1].'], usage: { promptTokens: 1_000, completionTokens: 500 } },
    );
    server = await startTestServer({
      env: { CLOUD_LLM_URL: peer.url, CLOUD_LLM_MODEL: 'peer-model', CLOUD_LLM_API_KEY: 'sk-test', CLOUD_LLM_NAME: 'peer', CLOUD_LLM_PRICE_INPUT_PER_MTOK: '1', CLOUD_LLM_PRICE_OUTPUT_PER_MTOK: '2' },
    });
  });
  after(async () => {
    await server.close();
    await peer.close();
  });

  it('counts cloud answers with their estimated cost, and shows the breaker opening', async () => {
    const { owner } = await setUp(server.url);
    await owner.patch('/api/v1/settings', { llmPolicy: 'cloud-first' });
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Facilities' })).json.id as string;
    await owner.upload(kbId, [{ name: 'generator.txt', bytes: 'The backup generator is tested every Monday at 09:00.' }]);
    await owner.settle(kbId);
    const asked = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'When is the generator tested?' });
    assert.equal(asked.json.engine?.kind, 'cloud', asked.text);
    let body = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(valueOf(body, 'lectern_cloud_llm_calls_total', { engine: 'cloud:peer' }), 1);
    // (1,000 prompt tokens × 1 + 500 completion tokens × 2) per million.
    assert.equal(valueOf(body, 'lectern_cloud_llm_cost_total', { engine: 'cloud:peer' }), 0.002);
    assert.equal(valueOf(body, 'lectern_llm_tokens_generated_total', { engine: 'cloud' }), 500);
    assert.equal(valueOf(body, 'lectern_llm_breaker_state', { kind: 'cloud', state: 'closed' }), 1);

    failing = true;
    for (let i = 0; i < 10 && valueOf(body, 'lectern_llm_breaker_state', { kind: 'cloud', state: 'open' }) !== 1; i++) {
      await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'When is the generator tested?' });
      body = await (await fetch(`${server.url}/metrics`)).text();
    }
    assert.equal(valueOf(body, 'lectern_llm_breaker_state', { kind: 'cloud', state: 'open' }), 1);
    assert.equal(valueOf(body, 'lectern_llm_breaker_state', { kind: 'cloud', state: 'closed' }), 0);
  });
});
