import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readWavFile } from '../../server/speech/wav.ts';
import { ScriptedEngine } from '../fixtures/scripted-engine.ts';
import { installTinyVoiceModels } from '../fixtures/tiny-speech-models.ts';
import { setUp, type Client } from '../helpers/client.ts';
import { appendEvents, RealtimeClient } from '../helpers/realtime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// OpenTelemetry traces (#12, item 6): with OTEL_EXPORTER_OTLP_ENDPOINT set, the server sends its
// spans as OTLP/HTTP JSON to the collector. The collector here is a plain HTTP server that keeps
// what it receives; the spans are read back as a collector would store them. The server has the
// tiny real sherpa-onnx recogniser and voice of the realtime tests, and a scripted LLM engine.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  events?: Array<{ name: string }>;
}

const QUESTION = 'What must be removed before starting the lathe?';
const SPEECH = path.join(import.meta.dirname, '../../../shared/speech/jfk.wav');
const received: string[] = [];
let dataDir: string;
let collector: Server;
let server: TestServer;
let owner: Client;
let kbId: string;
let spans: OtlpSpan[];

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
};

before(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/json') received.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-tracing-'));
  const models = path.join(dataDir, 'models');
  await mkdir(models, { recursive: true });
  await installTinyVoiceModels(models);
  const engine = new ScriptedEngine({ name: 'local', script: () => ({ text: ['Remove the chuck key ', 'first [1].'], usage: { promptTokens: 120, completionTokens: 9 } }) });
  server = await startTestServer({
    dataDir,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'lectern-test', STT_MODEL: 'tiny-stream-stt', TTS_MODEL: 'tiny-voice' },
    appliance: { localLlm: engine },
  });
  owner = (await setUp(server.url)).owner;
  kbId = (await owner.post('/api/v1/kbs', { name: 'Workshop' })).json.id;
  assert.equal((await owner.upload(kbId, [{ name: 'lathe.md', bytes: '# Workshop safety\n\nAlways remove the chuck key before starting the lathe.' }])).status, 202);
  await owner.settle(kbId);
  const joined = await owner.request('POST', `/api/v1/kbs/${kbId}/search`, JSON.stringify({ query: 'chuck key', mode: 'keyword' }), {
    'content-type': 'application/json',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  assert.equal(joined.status, 200);
  assert.equal((await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: QUESTION })).status, 200);
  // One spoken turn over the realtime API: recognised, answered, spoken.
  const key = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key as string;
  const voice = await RealtimeClient.open(`${server.url.replace('http', 'ws')}/v1/realtime?model=kb:${kbId}`, { authorization: `Bearer ${key}` });
  await voice.next('session.created');
  // Push-to-talk (no turn detection): the turn ends when the client commits it.
  voice.send({ type: 'session.update', session: { audio: { input: { turn_detection: null } } } });
  await voice.next('session.updated');
  const wav = await readWavFile(SPEECH);
  for (const event of appendEvents(wav.samples.slice(0, wav.sampleRate * 2), wav.sampleRate)) voice.send(event);
  voice.send({ type: 'input_audio_buffer.commit' });
  voice.send({ type: 'response.create' });
  await voice.next('response.done', 0, 60_000);
  voice.close();
  // Shutting down sends what is still batched.
  await server.close();
  spans = received.flatMap((body) =>
    (JSON.parse(body) as { resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> }).resourceSpans.flatMap((r) => {
      assert.equal(r.resource.attributes.find((a) => a.key === 'service.name')?.value['stringValue'], 'lectern-test');
      return r.scopeSpans.flatMap((s) => s.spans);
    }),
  );
});
after(async () => {
  await new Promise<void>((resolve) => collector.close(() => resolve()));
  await rm(dataDir, { recursive: true, force: true });
});

test('HTTP requests are server spans named by their route, with the status', () => {
  const search = spans.filter((s) => s.name === 'POST /api/v1/kbs/:kbId/search');
  assert.equal(search.length, 1, spans.map((s) => s.name).join(', '));
  assert.equal(attr(search[0]!, 'http.route'), '/api/v1/kbs/:kbId/search');
  assert.equal(attr(search[0]!, 'http.response.status_code'), 200);
  assert.ok(!spans.some((s) => s.name.includes(kbId)), 'ids in paths never name a span');
});

test("a proxy's traceparent makes Lectern's spans part of its trace", () => {
  const request = spans.find((s) => s.name === 'POST /api/v1/kbs/:kbId/search')!;
  assert.equal(request.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(request.parentSpanId, 'b7ad6b7169203331');
  const search = spans.find((s) => s.name === 'search' && s.parentSpanId === request.spanId);
  assert.ok(search, 'the search runs under the request');
  assert.equal(attr(search, 'lectern.search.mode'), 'keyword');
  assert.equal(attr(search, 'lectern.search.hits'), 1);
});

test('ingestion is a job span with a child span per stage', () => {
  const job = spans.find((s) => s.name === 'job ingest');
  assert.ok(job, spans.map((s) => s.name).join(', '));
  assert.equal(job.parentSpanId ?? '', '', 'a trace of its own, not under the upload that queued it');
  const stages = spans.filter((s) => s.parentSpanId === job.spanId && s.name.startsWith('ingest ')).map((s) => s.name);
  for (const stage of ['ingest parsing', 'ingest chunking', 'ingest indexing']) assert.ok(stages.includes(stage), `${stage} in ${stages.join(', ')}`);
});

test('an answer has an LLM span under its request, with the engine, tokens and first token', () => {
  const ask = spans.find((s) => s.name === 'POST /api/v1/kbs/:kbId/ask')!;
  const llm = spans.find((s) => s.name === 'llm generate' && s.parentSpanId === ask.spanId);
  assert.ok(llm, spans.map((s) => s.name).join(', '));
  assert.equal(attr(llm, 'lectern.llm.engine_kind'), 'local');
  assert.equal(attr(llm, 'gen_ai.usage.output_tokens'), 9);
  assert.ok(llm.events?.some((e) => e.name === 'first token'));
});

test('a spoken turn has speech-to-text and text-to-speech spans naming their engine', () => {
  const stt = spans.find((s) => s.name === 'stt transcribe');
  assert.ok(stt, spans.map((s) => s.name).join(', '));
  assert.match(String(attr(stt, 'lectern.speech.engine')), /tiny-stream-stt/);
  const turn = spans.find((s) => s.name === 'realtime turn');
  assert.ok(turn);
  assert.equal(turn.parentSpanId ?? '', '', 'each spoken turn is a trace');
  assert.equal(stt.parentSpanId, turn.spanId, 'its recognition is part of it');
  const response = spans.find((s) => s.name === 'realtime response');
  assert.ok(response);
  assert.equal(response.parentSpanId, turn.spanId, 'and so is the answer');
  const tts = spans.filter((s) => s.name === 'tts synthesize' && s.parentSpanId === response.spanId);
  assert.ok(tts.length > 0, 'the synthesis is part of the answer');
  assert.ok(spans.some((s) => s.name === 'llm generate' && s.parentSpanId === response.spanId), 'and so is the generation');
  assert.match(String(attr(tts[0]!, 'lectern.speech.engine')), /tiny-voice/);
  assert.equal(attr(tts[0]!, 'lectern.speech.sent_to_cloud'), false);
});

test('no question, answer or document text leaves in a span', () => {
  const everything = JSON.stringify(spans);
  for (const secret of [QUESTION, 'chuck key', 'Workshop safety', 'Remove the']) assert.ok(!everything.includes(secret), secret);
});

test('log lines written inside a span carry its trace id', () => {
  const request = spans.find((s) => s.name === 'POST /api/v1/kbs/:kbId/search')!;
  assert.ok(server.logs.some((l) => l['traceId'] === request.traceId && l['msg'] === 'request'));
});
