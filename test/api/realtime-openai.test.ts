import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { float32ToPcm16, resample } from '../../server/speech/resample.ts';
import { readWavFile } from '../../server/speech/wav.ts';
import { hasCaddy, startCaddy, type CaddyProxy } from '../helpers/caddy.ts';
import { writeTinyStreamingCtcStt } from '../fixtures/tiny-speech-models.ts';
import { setUp, type Client } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The realtime endpoint as the official `openai` SDK client sees it. That client only speaks
// `wss://`, so the appliance sits behind Caddy with its internal CA, the way a box is deployed.
// Node reads NODE_EXTRA_CA_CERTS only at start-up, so the client runs in a child process: this
// same file, re-run with CLIENT_ENV set, printing one JSON line per server event.

const SPEECH = join(import.meta.dirname, '../../../shared/speech');
const WAV = join(SPEECH, 'spk1_snt1.wav');
const CLIENT_ENV = 'LECTERN_REALTIME_OPENAI_CLIENT';
const RATE = 24_000;
const CHUNK_MS = 100;
const TRAILING_SILENCE_S = 1.5;

type Event = Record<string, any>;

interface ClientArgs {
  baseURL: string;
  apiKey: string;
  model: string;
  wav: string;
  /** What the voice turn ends with: no STT model installed, or one that transcribes. */
  expect: 'stt_unavailable' | 'transcript';
}

/** Trims audio deltas to their byte length so the parent gets readable lines. */
function summarise(event: Event): Event {
  return event['type'] === 'response.output_audio.delta' ? { ...event, delta: undefined, bytes: Buffer.from(String(event['delta']), 'base64').length } : event;
}

/** The child: a voice turn (transcribed, or refused for want of a model), then a text turn answered in speech. */
async function runClient({ baseURL, apiKey, model, wav, expect }: ClientArgs): Promise<void> {
  const audio = await readWavFile(wav);
  const padded = new Float32Array(audio.samples.length + audio.sampleRate * TRAILING_SILENCE_S);
  padded.set(audio.samples);
  const pcm = float32ToPcm16(resample(padded, audio.sampleRate, RATE));
  const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const chunkBytes = (RATE * 2 * CHUNK_MS) / 1_000;

  const rt = new OpenAIRealtimeWS({ model }, new OpenAI({ apiKey, baseURL }));
  const seen: Event[] = [];
  const waiters: Array<() => void> = [];
  const print = (line: Event) => process.stdout.write(`${JSON.stringify(line)}\n`);
  rt.on('event', (event) => {
    seen.push(event);
    print(summarise(event));
    for (const wake of waiters.splice(0)) wake();
  });
  // Server `error` events arrive through 'event' too; this listener keeps the SDK from rejecting.
  rt.on('error', (error) => print({ type: 'sdk.error', message: error.message }));
  const next = async (type: string, test: (e: Event) => boolean = () => true): Promise<Event> => {
    for (;;) {
      const found = seen.find((e) => e['type'] === type && test(e));
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };

  await new Promise((resolve, reject) => (rt.socket.once('open', resolve), rt.socket.once('error', reject)));
  await next('session.created');
  rt.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: RATE } } } } });
  await next('session.updated');
  // A little faster than real time, as a client with a jittery capture buffer would send.
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    rt.send({ type: 'input_audio_buffer.append', audio: bytes.subarray(at, at + chunkBytes).toString('base64') });
    await new Promise((r) => setTimeout(r, CHUNK_MS / 2));
  }
  if (expect === 'stt_unavailable') await next('error', (e) => e['error']?.code === 'stt_unavailable');
  else await next('response.done');
  const from = seen.length;

  rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What must be removed before starting the lathe?' }] } });
  rt.send({ type: 'response.create' });
  await next('response.done', (e) => seen.indexOf(e) >= from);
  rt.close();
  await new Promise((resolve) => rt.socket.once('close', resolve));
}

/** Runs the client child trusting `rootCert`, and resolves with the events it printed. */
function runClientProcess(args: ClientArgs, rootCert: string, timeoutMs = 25_000): Promise<Event[]> {
  const child = spawn(process.execPath, [import.meta.filename], {
    env: { PATH: process.env['PATH'] ?? '', NODE_EXTRA_CA_CERTS: rootCert, [CLIENT_ENV]: JSON.stringify(args) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Event[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => events.push(JSON.parse(line) as Event));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(events);
      else reject(new Error(`client exited ${code ?? signal}; events: ${events.map((e) => e['type']).join(', ')}; stderr: ${stderr}`));
    });
  });
}

/** Where the recording is loud (20 ms windows over a tenth of the loudest): an independent reference for the VAD's times. */
async function loudSpan(wav: string): Promise<{ first: number; last: number }> {
  const { samples, sampleRate } = await readWavFile(wav);
  const window = sampleRate / 50;
  const rms: number[] = [];
  for (let at = 0; at + window <= samples.length; at += window) rms.push(Math.sqrt(samples.subarray(at, at + window).reduce((sum, x) => sum + x * x, 0) / window));
  const floor = Math.max(...rms) / 10;
  return { first: rms.findIndex((r) => r > floor) * 20, last: (rms.findLastIndex((r) => r > floor) + 1) * 20 };
}

/** speech_started and speech_stopped where the recording's speech begins and ends. */
async function assertSpeechTimes(events: Event[], wav: string): Promise<string> {
  const started = events.find((e) => e['type'] === 'input_audio_buffer.speech_started');
  const stopped = events.find((e) => e['type'] === 'input_audio_buffer.speech_stopped');
  assert.ok(started && stopped, events.map((e) => e['type']).join(', '));
  assert.equal(stopped.item_id, started.item_id);
  const loud = await loudSpan(wav);
  assert.ok(Math.abs(started.audio_start_ms - loud.first) <= 200, `speech_started at ${started.audio_start_ms} ms, speech is loud from ${loud.first} ms`);
  // The VAD ends a turn where silence begins; the last loud window is a little before that.
  assert.ok(stopped.audio_end_ms >= loud.last - 100 && stopped.audio_end_ms <= loud.last + 400, `speech_stopped at ${stopped.audio_end_ms} ms, speech is loud until ${loud.last} ms`);
  return started.item_id as string;
}

const clientArgs = process.env[CLIENT_ENV];
if (clientArgs) {
  await runClient(JSON.parse(clientArgs) as ClientArgs);
} else {
  const skip = !existsSync(SPEECH) ? `${SPEECH} is absent` : !hasCaddy() && !process.env['CI'] ? 'caddy is not installed (apt-get install caddy); required in CI' : false;

  describe('/v1/realtime through Caddy with the official openai client', { skip }, () => {
    let server: TestServer;
    let caddy: CaddyProxy | undefined;
    let args: ClientArgs;
    before(async () => {
      // Unpaced audio: the client reads whole answers, it does not play them.
      server = await startTestServer({ realtime: { audioLeadMs: 600_000 } });
      const { owner } = await setUp(server.url);
      const kbId = (await owner.post('/api/v1/kbs', { name: 'Workshop' })).json.id;
      await owner.upload(kbId, [{ name: 'safety.md', bytes: '# Workshop safety\n\nAlways remove the chuck key before starting the lathe.' }]);
      await owner.settle(kbId);
      const apiKey = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key;
      caddy = await startCaddy(server.url);
      args = { baseURL: `${caddy.url}/v1`, apiKey, model: `kb:${kbId}`, wav: WAV, expect: 'stt_unavailable' };
    });
    after(async () => {
      await caddy?.close();
      await server?.close();
    });

    it('detects the speech turn, names the missing STT model, then answers a text turn in espeak audio', async () => {
      const events = await runClientProcess(args, caddy!.rootCert);
      const types = events.map((e) => e['type']);
      const first = (type: string) => {
        const event = events.find((e) => e['type'] === type);
        assert.ok(event, `no ${type}; got ${types.join(', ')}`);
        return event;
      };
      assert.equal(events.some((e) => e['type'] === 'sdk.error' && !/stt_unavailable/.test(e['message'])), false, types.join(', '));
      assert.equal(first('session.created').session.model, args.model);
      assert.equal(first('session.updated').session.audio.input.format.rate, RATE);

      await assertSpeechTimes(events, WAV);
      const error = first('error').error;
      assert.equal(error.code, 'stt_unavailable');
      assert.match(error.message, /STT|speech recognition/i);
      assert.ok(types.indexOf('input_audio_buffer.speech_stopped') < types.indexOf('error'));

      const audio = events.filter((e) => e['type'] === 'response.output_audio.delta');
      assert.ok(audio.length > 5 && audio.every((e) => e['bytes'] > 0 && e['bytes'] % 2 === 0), `${audio.length} audio deltas`);
      const done = first('response.done').response;
      assert.equal(done.status, 'completed');
      // Without an LLM the answer is extractive, so the counts are zero; the SDK's shape still holds.
      assert.deepEqual(Object.keys(done.usage).sort(), ['input_tokens', 'output_tokens', 'total_tokens']);
      assert.equal(done.usage.total_tokens, done.usage.input_tokens + done.usage.output_tokens);
      assert.match(events.filter((e) => e['type'] === 'response.output_text.delta').map((e) => e['delta']).join(''), /chuck key/);
      assert.ok(types.indexOf('response.output_audio.done') < types.indexOf('response.done'));
    });
  });

  describe('/v1/realtime through Caddy with the official openai client, with a recogniser installed', { skip }, () => {
    let server: TestServer;
    let caddy: CaddyProxy | undefined;
    let args: ClientArgs;
    let owner: Client;
    before(async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'lectern-openai-stt-'));
      const models = join(dataDir, 'models');
      await writeTinyStreamingCtcStt(join(models, 'tiny-stt'));
      await writeFile(join(models, 'tiny-stt', 'lectern.json'), JSON.stringify({ id: 'tiny-stt', role: 'stt', stt: { type: 'online-ctc', files: { model: 'model.onnx', tokens: 'tokens.txt' } } }));
      // The tiny recogniser hears "a"s, which semantic_vad would read as words; the speech timing asserted here is server_vad's.
      server = await startTestServer({ dataDir, env: { STT_MODEL: 'tiny-stt', TTS_MODEL: 'espeak', REALTIME_TURN_DETECTION: 'server_vad' }, realtime: { audioLeadMs: 600_000 } });
      const close = server.close;
      server.close = async () => (await close(), await rm(dataDir, { recursive: true, force: true }));
      owner = (await setUp(server.url)).owner;
      const kbId = (await owner.post('/api/v1/kbs', { name: 'Workshop' })).json.id;
      await owner.upload(kbId, [{ name: 'safety.md', bytes: '# Workshop safety\n\nAlways remove the chuck key before starting the lathe.' }]);
      await owner.settle(kbId);
      const apiKey = (await owner.post('/api/v1/api-keys', { name: 'voice', role: 'viewer' })).json.key;
      caddy = await startCaddy(server.url);
      args = { baseURL: `${caddy.url}/v1`, apiKey, model: `kb:${kbId}`, wav: WAV, expect: 'transcript' };
    });
    after(async () => {
      await caddy?.close();
      await server?.close();
    });

    it('transcribes the speech turn (partials, then the final transcript) and answers it aloud', async () => {
      const events = await runClientProcess(args, caddy!.rootCert);
      const types = events.map((e) => e['type']);
      assert.equal(events.some((e) => e['type'] === 'sdk.error' || e['type'] === 'error'), false, types.join(', '));
      const item = await assertSpeechTimes(events, WAV);
      const partials = events.filter((e) => e['type'] === 'conversation.item.input_audio_transcription.delta' && e['item_id'] === item);
      const final = events.find((e) => e['type'] === 'conversation.item.input_audio_transcription.completed' && e['item_id'] === item);
      assert.ok(partials.length > 0 && final, types.join(', '));
      // The tiny recogniser hears speech as "a"s.
      assert.match(final.transcript, /^a+$/);
      const responses = events.filter((e) => e['type'] === 'response.done');
      assert.equal(responses.length, 2, 'the spoken turn and the text turn');
      assert.ok(responses.every((e) => e['response'].status === 'completed'));
      const spoken = responses[0]?.['response'];
      assert.ok(spoken.metadata.lectern_metrics.audio_in_seconds > 2, JSON.stringify(spoken.metadata.lectern_metrics));
      const { messages } = (await owner.get(`/api/v1/conversations/${spoken.metadata.lectern_conversation_id}`)).json;
      assert.equal(messages[0].content, final.transcript);
    });
  });
}
