import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startOpenAiPeer, type OpenAiPeer, type PeerReply } from '../../test/fixtures/openai-peer.ts';
import { TINY_TTS_FRAME, TINY_TTS_SAMPLE_RATE, writeTinyCtcStt, writeTinyVitsTts } from '../../test/fixtures/tiny-speech-models.ts';
import type { LlmPolicy } from '../engines/policy.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { CloudSttEngine, CloudTtsEngine, SpeechError } from './cloud.ts';
import { openSpeechRouter, SpeechRouter, type LocalSpeech, type SessionSpeech, type SpeechUse } from './router.ts';
import { SherpaSttEngine, SherpaTtsEngine } from './sherpa.ts';
import type { SttEngine, TtsEngine } from './speech.ts';

const log = createLogger({ level: 'silent' });
const CLOUD_TEXT = 'the cloud heard you';

let root: string;
let localStt: SttEngine;
let localTts: TtsEngine;
let peer: OpenAiPeer;
/** How the peer answers: properly, with 500s, or not before the client gives up. */
let mode: 'ok' | 'fail' | 'slow' = 'ok';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'speech-router-'));
  const [sttFiles, voice] = await Promise.all([writeTinyCtcStt(join(root, 'stt')), writeTinyVitsTts(join(root, 'tts'))]);
  [localStt, localTts] = await Promise.all([
    SherpaSttEngine.create({ id: 'tiny-ctc', type: 'offline-zipformer-ctc', files: sttFiles }),
    SherpaTtsEngine.create({ id: 'tiny-vits', type: 'vits', language: 'en', files: { model: voice.model, tokens: voice.tokens } }),
  ]);
  peer = await startOpenAiPeer((request): PeerReply => {
    if (mode === 'fail') return { kind: 'error', status: 500, body: { error: { message: 'upstream is down' } } };
    const headerDelayMs = mode === 'slow' ? 5_000 : 0;
    if (request.path.endsWith('/audio/transcriptions')) return { kind: 'transcription', text: CLOUD_TEXT, headerDelayMs };
    if (request.path.endsWith('/audio/speech')) return { kind: 'speech', headerDelayMs };
    return { kind: 'error', status: 404 };
  });
});
after(async () => {
  await peer.close();
  await rm(root, { recursive: true, force: true });
});

let now = Date.parse('2026-03-01T12:00:00.000Z');
const clock = { now: () => new Date(now) };

function cloudEngines(): { stt: CloudSttEngine; tts: CloudTtsEngine } {
  const common = { baseUrl: peer.url, apiKey: 'sk-router-test', timeouts: { connectMs: 2_000, totalMs: 3_000 }, retries: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } };
  return { stt: new CloudSttEngine({ ...common, model: 'whisper-1' }), tts: new CloudTtsEngine({ ...common, model: 'tts-1', voice: 'alloy' }) };
}

function router(options: { stt?: boolean; tts?: boolean; cloud?: boolean } = {}): SpeechRouter {
  const local: LocalSpeech = {
    stt: options.stt === false ? null : localStt,
    tts: options.tts === false ? null : localTts,
    ...(options.stt === false ? { sttReason: 'STT model tiny is not installed in MODELS_DIR' } : {}),
    ...(options.tts === false ? { ttsReason: 'TTS voice tiny is not installed in MODELS_DIR, and espeak-ng is not installed: answers are text only' } : {}),
  };
  const cloud = options.cloud === false ? { stt: null, tts: null } : cloudEngines();
  return new SpeechRouter({ local, cloud, breaker: { failureThreshold: 2, coolDownMs: 10_000 }, log, clock });
}

function session(speechRouter: SpeechRouter, policy: LlmPolicy): { speech: SessionSpeech; uses: SpeechUse[] } {
  const uses: SpeechUse[] = [];
  return { speech: speechRouter.engines(policy, { onUse: (use) => uses.push(use) }), uses };
}

// Silence then broadband noise: the tiny local model hears it as "a".
const utterance = (): Float32Array => {
  let state = 7;
  const samples = new Float32Array(16_000);
  for (let i = 8_000; i < samples.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    samples[i] = (state / 2 ** 32 - 0.5) * 0.6;
  }
  return samples;
};

function transcribe(speech: SessionSpeech, signal?: AbortSignal): Promise<string> {
  assert.ok(speech.stt, `no STT: ${speech.sttReason}`);
  const stream = speech.stt.createStream();
  stream.accept({ samples: utterance(), sampleRate: 16_000 });
  return stream.finish(signal ? { signal } : {});
}

function speak(speech: SessionSpeech, text = 'hello world', signal?: AbortSignal) {
  assert.ok(speech.tts, `no TTS: ${speech.ttsReason}`);
  return speech.tts.synthesize(text, signal ? { signal } : {});
}

const LOCAL_SPOKEN = 'hello world'.length * TINY_TTS_FRAME;
const CLOUD_SPOKEN = 'hello world'.length * 240;

test('local-only never reaches the cloud, even when no local engine is installed', async () => {
  const before = { requests: peer.requests.length, connections: peer.connections };
  const { speech, uses } = session(router(), 'local-only');
  assert.deepEqual([speech.stt?.kind, speech.stt?.model.id, speech.tts?.kind, speech.tts?.voice.id], ['local', 'tiny-ctc', 'local', 'tiny-vits']);
  assert.equal(await transcribe(speech), 'a');
  const spoken = await speak(speech);
  assert.deepEqual([spoken.sampleRate, spoken.samples.length], [TINY_TTS_SAMPLE_RATE, LOCAL_SPOKEN]);
  assert.deepEqual(uses, [
    { role: 'stt', engine: 'tiny-ctc', kind: 'local', sentToCloud: false },
    { role: 'tts', engine: 'tiny-vits', kind: 'local', sentToCloud: false },
  ]);

  const bare = router({ stt: false, tts: false }).engines('local-only');
  assert.equal(bare.stt, null);
  assert.equal(bare.tts, null);
  assert.match(bare.sttReason ?? '', /^STT model tiny is not installed in MODELS_DIR; the organisation's policy \(local-only\) keeps speech on this server, so the cloud speech recognition endpoint is not used$/);
  assert.match(bare.ttsReason ?? '', /text only; the organisation's policy \(local-only\)/);
  assert.deepEqual({ requests: peer.requests.length, connections: peer.connections }, before, 'the peer was contacted under local-only');
});

test('local-then-cloud uses the cloud only where no local engine is installed', async () => {
  const start = peer.requests.length;
  const both = session(router(), 'local-then-cloud');
  assert.equal(await transcribe(both.speech), 'a');
  assert.equal((await speak(both.speech)).sampleRate, TINY_TTS_SAMPLE_RATE);
  assert.equal(peer.requests.length, start, 'a local engine was installed, yet the cloud was asked');
  assert.ok(both.uses.every((use) => use.kind === 'local' && !use.sentToCloud));

  const { speech, uses } = session(router({ stt: false }), 'local-then-cloud');
  assert.equal(speech.stt?.kind, 'cloud');
  assert.equal(speech.sttReason, 'STT model tiny is not installed in MODELS_DIR; using the cloud speech recognition endpoint (policy local-then-cloud)');
  assert.equal(await transcribe(speech), CLOUD_TEXT);
  assert.equal((await speak(speech)).sampleRate, TINY_TTS_SAMPLE_RATE);
  assert.deepEqual(uses, [
    { role: 'stt', engine: 'cloud:stt', kind: 'cloud', sentToCloud: true },
    { role: 'tts', engine: 'tiny-vits', kind: 'local', sentToCloud: false },
  ]);
  assert.deepEqual(peer.requests.slice(start).map((request) => request.path), ['/v1/audio/transcriptions']);
  assert.equal(peer.requests.at(-1)?.wav?.frames, 16_000);

  const nothing = router({ stt: false, tts: false, cloud: false }).engines('local-then-cloud');
  assert.equal(nothing.stt, null);
  assert.match(nothing.sttReason ?? '', /not installed in MODELS_DIR, and no cloud speech recognition endpoint is configured \(CLOUD_STT_URL\)$/);
});

test('cloud-first prefers the cloud and redoes a failed call on the local engine', async () => {
  mode = 'ok';
  const speechRouter = router();
  const { speech, uses } = session(speechRouter, 'cloud-first');
  assert.deepEqual([speech.stt?.kind, speech.tts?.kind, speech.tts?.voice.sampleRate], ['cloud', 'cloud', 24_000]);
  assert.equal(speech.sttReason, undefined);
  assert.equal(await transcribe(speech), CLOUD_TEXT);
  const spoken = await speak(speech);
  assert.deepEqual([spoken.sampleRate, spoken.samples.length], [24_000, CLOUD_SPOKEN]);

  mode = 'fail';
  const start = peer.requests.length;
  assert.equal(await transcribe(speech), 'a');
  const fallback = await speak(speech);
  assert.deepEqual([fallback.sampleRate, fallback.samples.length], [TINY_TTS_SAMPLE_RATE, LOCAL_SPOKEN]);
  assert.equal(peer.requests.length, start + 2);
  assert.deepEqual(uses.slice(0, 2), [
    { role: 'stt', engine: 'cloud:stt', kind: 'cloud', sentToCloud: true },
    { role: 'tts', engine: 'cloud:tts', kind: 'cloud', sentToCloud: true },
  ]);
  // The audio did reach the endpoint before it failed: the conversation must still say so.
  assert.deepEqual(uses[2], { role: 'stt', engine: 'tiny-ctc', kind: 'local', sentToCloud: true, fallback: uses[2]?.fallback });
  assert.match(uses[2]?.fallback ?? '', /^cloud:stt failed \(HTTP 500 from http:\/\/127\.0\.0\.1:\d+: upstream is down\)$/);
  assert.match(uses[3]?.fallback ?? '', /^cloud:tts failed \(HTTP 500/);
  assert.deepEqual(
    speechRouter.status().map((row) => [row.role, row.name, row.breaker.state, row.requests, row.failures, row.lastError?.kind]),
    [
      ['stt', 'cloud:stt', 'closed', 2, 1, 'unavailable'],
      ['tts', 'cloud:tts', 'closed', 2, 1, 'unavailable'],
    ],
  );
  await speechRouter.close();
});

test('cloud-first skips an endpoint whose circuit is open, and tries it again after the cool-down', async () => {
  mode = 'fail';
  const speechRouter = router();
  const { speech, uses } = session(speechRouter, 'cloud-first');
  assert.equal(await transcribe(speech), 'a');
  assert.equal(await transcribe(speech), 'a');
  assert.equal(speechRouter.status()[0]?.breaker.state, 'open');

  // Open: the peer is not asked at all, and nothing is sent.
  const start = peer.requests.length;
  const connections = peer.connections;
  assert.equal(await transcribe(speech), 'a');
  assert.equal(peer.requests.length, start);
  assert.equal(peer.connections, connections);
  assert.equal(uses[2]?.sentToCloud, false);
  assert.match(uses[2]?.fallback ?? '', /^cloud:stt skipped: circuit open since 2026-03-01T12:00:00\.000Z; last error: HTTP 500/);
  // A session started now is told the local engine is what it gets.
  const later = speechRouter.engines('cloud-first');
  assert.deepEqual([later.stt?.kind, later.stt?.model.id], ['local', 'tiny-ctc']);

  now += 10_000;
  mode = 'ok';
  assert.equal(await transcribe(speech), CLOUD_TEXT);
  assert.equal(peer.requests.length, start + 1);
  assert.equal(speechRouter.status()[0]?.breaker.state, 'closed');
  assert.deepEqual(uses[3], { role: 'stt', engine: 'cloud:stt', kind: 'cloud', sentToCloud: true });
  await speechRouter.close();
});

test('without a local engine a failing cloud is a typed 503 naming the endpoint', async () => {
  mode = 'fail';
  const speechRouter = router({ stt: false, tts: false });
  const { speech, uses } = session(speechRouter, 'cloud-first');
  for (let i = 0; i < 2; i++) {
    const error = await transcribe(speech).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SpeechError);
    assert.equal(error.kind, 'unavailable');
    assert.ok(!error.message.includes('sk-router-test'));
  }
  // With the circuit open the refusal is immediate and still a speech error, not an LLM one.
  const start = peer.requests.length;
  const refused = await speak(speech).then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(refused instanceof SpeechError);
  assert.deepEqual([refused.toAppError().status, refused.toAppError().code], [503, 'tts_unavailable']);
  assert.equal(peer.requests.length, start + 1, 'the TTS circuit is its own: its first failure still reaches the peer');
  const skipped = await transcribe(speech).then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(skipped instanceof SpeechError);
  assert.match(skipped.message, /^cloud:stt skipped: circuit open since/);
  assert.deepEqual([skipped.toAppError().status, skipped.toAppError().code], [503, 'stt_unavailable']);
  assert.equal(peer.requests.length, start + 1);
  assert.deepEqual(uses.at(-1), { role: 'stt', engine: null, kind: null, sentToCloud: false });
  await speechRouter.close();
});

test('an abort ends the call at once and is never redone locally', async () => {
  mode = 'slow';
  const speechRouter = router();
  const { speech, uses } = session(speechRouter, 'cloud-first');
  const controller = new AbortController();
  const started = performance.now();
  const heard = transcribe(speech, controller.signal);
  const said = speak(speech, 'hello world', controller.signal);
  setTimeout(() => controller.abort(new Error('barge-in')), 100);
  await assert.rejects(heard, /barge-in/);
  await assert.rejects(said, /barge-in/);
  assert.ok(performance.now() - started < 1_500);
  assert.deepEqual(uses.toSorted((a, b) => a.role.localeCompare(b.role)), [
    { role: 'stt', engine: null, kind: null, sentToCloud: true },
    { role: 'tts', engine: null, kind: null, sentToCloud: true },
  ]);
  // A caller's abort says nothing about the endpoint's health.
  assert.ok(speechRouter.status().every((row) => row.failures === 0 && row.breaker.failures === 0));
  mode = 'ok';
  await speechRouter.close();
});

test('openSpeechRouter builds the cloud engines from the configuration, reusing the LLM key unless speech has its own', async () => {
  mode = 'ok';
  const env = { CLOUD_STT_URL: peer.url, CLOUD_STT_MODEL: 'gpt-4o-mini-transcribe', CLOUD_STT_LANGUAGE: 'de', CLOUD_TTS_URL: peer.url, CLOUD_TTS_MODEL: 'tts-1', CLOUD_LLM_API_KEY: 'sk-llm' };
  const local = { stt: null, sttReason: 'none here', tts: null, ttsReason: 'none here' };
  const shared = openSpeechRouter(loadConfig(env), local, log);
  assert.deepEqual(
    shared.status().map((row) => [row.role, row.name, row.model, row.breaker.state]),
    [
      ['stt', 'cloud:stt', 'gpt-4o-mini-transcribe', 'closed'],
      ['tts', 'cloud:tts', 'tts-1:alloy', 'closed'],
    ],
  );
  const speech = shared.engines('cloud-first');
  assert.equal(await transcribe(speech), CLOUD_TEXT);
  assert.equal((await speak(speech)).samples.length, CLOUD_SPOKEN);
  const [heard, said] = peer.requests.slice(-2);
  assert.equal(heard?.headers.authorization, 'Bearer sk-llm');
  assert.deepEqual(heard?.form?.fields, { model: 'gpt-4o-mini-transcribe', response_format: 'json', language: 'de' });
  assert.deepEqual(said?.body, { model: 'tts-1', voice: 'alloy', input: 'hello world', response_format: 'pcm' });
  await shared.close();

  const own = openSpeechRouter(loadConfig({ ...env, CLOUD_SPEECH_API_KEY: 'sk-speech' }), local, log);
  await transcribe(own.engines('local-then-cloud'));
  assert.equal(peer.requests.at(-1)?.headers.authorization, 'Bearer sk-speech');
  await own.close();

  const none = openSpeechRouter(loadConfig({}), local, log);
  assert.deepEqual(none.status(), []);
  assert.equal(none.engines('cloud-first').stt, null);
});

test('configuration problems of the cloud speech settings are listed at boot', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems;
    }
  };
  assert.deepEqual(problems({ CLOUD_STT_URL: 'https://api.openai.com/v1', CLOUD_TTS_URL: 'https://api.openai.com/v1' }), [
    'CLOUD_STT_MODEL: required when CLOUD_STT_URL is set',
    'CLOUD_TTS_MODEL: required when CLOUD_TTS_URL is set',
  ]);
  const azure = { CLOUD_TTS_URL: 'https://x.openai.azure.com/openai/deployments/tts', CLOUD_TTS_MODEL: 'tts', CLOUD_SPEECH_FLAVOUR: 'azure' };
  assert.deepEqual(problems(azure), ['CLOUD_SPEECH_API_VERSION: required for Azure speech endpoints (or set CLOUD_LLM_API_VERSION)']);
  assert.deepEqual(problems({ ...azure, CLOUD_LLM_API_VERSION: '2024-10-21' }), []);
  assert.deepEqual(problems({ CLOUD_STT_LANGUAGE: 'English', CLOUD_TTS_FORMAT: 'mp3' }).map((p) => p.split(':')[0]), ['CLOUD_STT_LANGUAGE', 'CLOUD_TTS_FORMAT']);
  assert.equal(loadConfig({ CLOUD_SPEECH_API_KEY_FILE: '/run/secrets/speech' }, () => 'sk-file\n').CLOUD_SPEECH_API_KEY, 'sk-file');
});
