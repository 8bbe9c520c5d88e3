import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startOpenAiPeer, type OpenAiPeer, type PeerReply, type PeerRequest } from '../../test/fixtures/openai-peer.ts';
import { CloudSttEngine, CloudTtsEngine, SpeechError, type CloudSpeechOptions } from './cloud.ts';

const KEY = 'sk-test-SECRET-0123456789abcdef';

// Broadband noise, deterministic.
const noise = (seconds: number, sampleRate: number): Float32Array => {
  let state = 99;
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32 - 0.5) * 0.6;
  });
};

/** Each test scripts the next replies; the peer serves them in order. */
let peer: OpenAiPeer;
let replies: PeerReply[] = [];
before(async () => {
  peer = await startOpenAiPeer(() => replies.shift() ?? { kind: 'error', status: 500, body: { error: { message: 'unscripted' } } });
});
after(() => peer.close());

function script(...next: PeerReply[]): PeerRequest[] {
  replies = next;
  peer.requests.length = 0;
  return peer.requests;
}

const base = (extra: Partial<CloudSpeechOptions> = {}): CloudSpeechOptions => ({
  baseUrl: peer.url,
  model: 'whisper-1',
  apiKey: KEY,
  timeouts: { connectMs: 2_000, totalMs: 5_000 },
  retries: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
  random: () => 0,
  ...extra,
});

async function rejection(promise: Promise<unknown>): Promise<SpeechError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SpeechError, `expected a SpeechError, got ${String(error)}`);
    assert.ok(!error.message.includes(KEY), `the key leaked: ${error.message}`);
    assert.ok(!String(error.stack).includes(KEY));
    return error;
  }
  assert.fail('expected a rejection');
}

describe('CloudSttEngine', () => {
  test('uploads the utterance as a 16 kHz 16-bit WAV in multipart form data and returns the transcript', async () => {
    const requests = script({ kind: 'transcription', text: ' What does chapter two say? ' });
    const stt = new CloudSttEngine({ ...base({ model: 'gpt-4o-mini-transcribe' }), language: 'en' });
    assert.equal(stt.kind, 'cloud');
    assert.deepEqual(stt.model, { id: 'gpt-4o-mini-transcribe', streaming: false, languages: ['en'] });
    const stream = stt.createStream();
    // A 24 kHz client, then a rate change mid-utterance: both end up at 16 kHz.
    stream.accept({ samples: noise(0.5, 24_000), sampleRate: 24_000 });
    stream.accept({ samples: noise(0.5, 24_000), sampleRate: 24_000 });
    stream.accept({ samples: noise(0.25, 8_000), sampleRate: 8_000 });
    assert.equal(stream.partial(), '');
    assert.equal(await stream.finish(), 'What does chapter two say?');
    // finish() is idempotent and the stream is closed for audio.
    assert.equal(await stream.finish(), 'What does chapter two say?');
    assert.throws(() => stream.accept({ samples: noise(0.1, 16_000), sampleRate: 16_000 }), /finished/);

    assert.equal(requests.length, 1);
    const [request] = requests as [PeerRequest];
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v1/audio/transcriptions');
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    assert.match(String(request.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.deepEqual(request.form?.fields, { model: 'gpt-4o-mini-transcribe', response_format: 'json', language: 'en' });
    assert.equal(request.form?.files.file?.contentType, 'audio/wav');
    assert.match(request.form?.files.file?.filename ?? '', /\.wav$/);
    const wav = request.wav;
    assert.ok(wav, 'the peer could not read the upload as WAV');
    assert.deepEqual({ format: wav.format, channels: wav.channels, sampleRate: wav.sampleRate, bitsPerSample: wav.bitsPerSample }, { format: 1, channels: 1, sampleRate: 16_000, bitsPerSample: 16 });
    // 1.25 s of audio in, 1.25 s uploaded (the resampler keeps durations to within a sample or two).
    assert.ok(Math.abs(wav.frames - 20_000) <= 2, `uploaded ${wav.frames} frames`);
    assert.equal(request.form?.files.file?.data.length, 44 + wav.frames * 2);
  });

  test('sends nothing for an empty or sub-100 ms stream', async () => {
    const requests = script();
    const stt = new CloudSttEngine(base());
    assert.equal(await stt.createStream().finish(), '');
    const blip = stt.createStream();
    blip.accept({ samples: noise(0.05, 16_000), sampleRate: 16_000 });
    assert.equal(await blip.finish(), '');
    assert.equal(requests.length, 0);
  });

  test('refuses audio beyond its limit', () => {
    const stream = new CloudSttEngine({ ...base(), maxSeconds: 2 }).createStream();
    stream.accept({ samples: noise(1.5, 16_000), sampleRate: 16_000 });
    assert.throws(() => stream.accept({ samples: noise(1, 16_000), sampleRate: 16_000 }), /longer than 2 s/);
  });

  test('a rejected key is an invalid SpeechError that names the endpoint, not the key, and is not retried', async () => {
    const requests = script({ kind: 'error', status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const stream = new CloudSttEngine(base()).createStream();
    stream.accept({ samples: noise(0.5, 16_000), sampleRate: 16_000 });
    const error = await rejection(stream.finish());
    assert.equal(error.kind, 'invalid');
    assert.equal(error.role, 'stt');
    assert.equal(error.retryable, false);
    assert.equal(error.engine, 'cloud:stt');
    assert.match(error.message, /^HTTP 401 from http:\/\/127\.0\.0\.1:\d+: Incorrect API key provided: \[redacted\]\. \(invalid_api_key\)$/);
    assert.equal(requests.length, 1);
    const app = error.toAppError();
    assert.deepEqual([app.status, app.code], [503, 'stt_unavailable']);
  });

  test('5xx is retried, then reported as unavailable', async () => {
    const requests = script({ kind: 'error', status: 503 }, { kind: 'error', status: 502, body: 'Bad gateway' });
    const stream = new CloudSttEngine(base()).createStream();
    stream.accept({ samples: noise(0.5, 16_000), sampleRate: 16_000 });
    const error = await rejection(stream.finish());
    assert.deepEqual([error.kind, error.retryable], ['unavailable', true]);
    assert.match(error.message, /HTTP 502 .*Bad gateway/);
    assert.equal(requests.length, 2);
    // The second attempt uploaded the same audio again.
    assert.equal(requests[1]?.wav?.frames, 8_000);
  });

  test('an upload the endpoint cannot read comes back as invalid', async () => {
    script({ kind: 'transcription', text: 'unused' });
    const stt = new CloudSttEngine({ ...base(), model: '' });
    const stream = stt.createStream();
    stream.accept({ samples: noise(0.5, 16_000), sampleRate: 16_000 });
    const error = await rejection(stream.finish());
    assert.equal(error.kind, 'invalid');
    assert.match(error.message, /HTTP 400 .*model/);
  });

  test('no response headers within connectMs is a timeout, and not waited for twice', async () => {
    const requests = script({ kind: 'transcription', text: 'late', headerDelayMs: 1_500 }, { kind: 'transcription', text: 'late', headerDelayMs: 1_500 });
    const stream = new CloudSttEngine(base({ timeouts: { connectMs: 150, totalMs: 5_000 } })).createStream();
    stream.accept({ samples: noise(0.5, 16_000), sampleRate: 16_000 });
    const started = performance.now();
    const error = await rejection(stream.finish());
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /no response headers within 150 ms/);
    assert.equal(error.retryable, false);
    assert.ok(performance.now() - started < 1_000);
    assert.equal(requests.length, 1);
  });

  test('a refused connection is unavailable and says why', async () => {
    const closed = await startOpenAiPeer([]);
    const url = closed.url;
    await closed.close();
    const stream = new CloudSttEngine({ ...base(), baseUrl: url, retries: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } }).createStream();
    stream.accept({ samples: noise(0.5, 16_000), sampleRate: 16_000 });
    const error = await rejection(stream.finish());
    assert.equal(error.kind, 'unavailable');
    assert.match(error.message, /connection failed: .*ECONNREFUSED/);
  });

  test('the caller can abort an upload, and onSend tells it that audio left', async () => {
    const requests = script({ kind: 'transcription', text: 'never', headerDelayMs: 5_000 });
    const stream = new CloudSttEngine(base()).createStream();
    stream.accept({ samples: noise(0.5, 16_000), sampleRate: 16_000 });
    const controller = new AbortController();
    let sent = 0;
    const finishing = stream.finish({ signal: controller.signal, onSend: () => (sent += 1) });
    setTimeout(() => controller.abort(new Error('barge-in')), 100);
    const started = performance.now();
    await assert.rejects(finishing, /barge-in/);
    assert.ok(performance.now() - started < 1_000);
    assert.equal(sent, 1);
    assert.equal(requests.length, 1);
  });
});

describe('CloudTtsEngine', () => {
  test('asks for raw pcm and returns 24 kHz mono samples, one per sample sent', async () => {
    const requests = script({ kind: 'speech' }, { kind: 'speech' });
    const tts = new CloudTtsEngine({ ...base({ model: 'gpt-4o-mini-tts' }), voice: 'alloy' });
    assert.equal(tts.kind, 'cloud');
    assert.deepEqual(tts.voice, { id: 'gpt-4o-mini-tts:alloy', language: 'und', sampleRate: 24_000 });
    const spoken = await tts.synthesize('  Chapter two covers pumps.  ');
    assert.equal(spoken.sampleRate, 24_000);
    assert.equal(spoken.samples.length, 'Chapter two covers pumps.'.length * 240);
    // The peer's 440 Hz tone at half scale, through s16le and back.
    for (const i of [0, 7, 100, 5_000]) assert.ok(Math.abs((spoken.samples[i] ?? 9) - Math.round(Math.sin((2 * Math.PI * 440 * i) / 24_000) * 16384) / 32768) < 1e-6);
    await tts.synthesize('Faster.', { speed: 1.5 });
    assert.equal(requests[0]?.path, '/v1/audio/speech');
    assert.equal(requests[0]?.headers['content-type'], 'application/json');
    assert.deepEqual(requests[0]?.body, { model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Chapter two covers pumps.', response_format: 'pcm' });
    assert.deepEqual(requests[1]?.body, { model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Faster.', response_format: 'pcm', speed: 1.5 });
  });

  test('with format wav the file is decoded at its own rate', async () => {
    script({ kind: 'speech', sampleRate: 22_050, samplesPerChar: 100 });
    const tts = new CloudTtsEngine({ ...base({ model: 'kokoro' }), voice: 'af_heart', format: 'wav' });
    const spoken = await tts.synthesize('Hello.');
    assert.equal(spoken.sampleRate, 22_050);
    assert.equal(spoken.samples.length, 600);
    assert.equal((peer.requests[0]?.body as { response_format?: string } | undefined)?.response_format, 'wav');
  });

  test('blank text needs no request; overlong text is refused before sending', async () => {
    const requests = script();
    const tts = new CloudTtsEngine({ ...base(), voice: 'alloy' });
    assert.equal((await tts.synthesize('  \n ')).samples.length, 0);
    await assert.rejects(tts.synthesize('x'.repeat(4097)), RangeError);
    assert.equal(requests.length, 0);
  });

  test('a body that arrives after the total deadline is a timeout', async () => {
    script({ kind: 'speech', bodyDelayMs: 3_000 });
    const tts = new CloudTtsEngine({ ...base({ timeouts: { connectMs: 1_000, totalMs: 300 } }), voice: 'alloy' });
    const started = performance.now();
    const error = await rejection(tts.synthesize('Hello.'));
    assert.deepEqual([error.kind, error.role, error.retryable], ['timeout', 'tts', false]);
    assert.match(error.message, /no complete response within 300 ms/);
    assert.ok(performance.now() - started < 1_500);
    assert.deepEqual([error.toAppError().status, error.toAppError().code], [503, 'tts_unavailable']);
  });

  test('a 429 is retried after Retry-After; an exhausted quota is not', async () => {
    const requests = script({ kind: 'error', status: 429, headers: { 'retry-after-ms': '5' } }, { kind: 'speech' });
    const tts = new CloudTtsEngine({ ...base(), voice: 'alloy' });
    assert.equal((await tts.synthesize('ok')).samples.length, 480);
    assert.equal(requests.length, 2);
    script({ kind: 'error', status: 429, body: { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } } });
    const error = await rejection(tts.synthesize('ok'));
    assert.deepEqual([error.kind, error.retryable], ['unavailable', false]);
    assert.equal(peer.requests.length, 1);
  });

  test('JSON where audio was expected is not played as noise', async () => {
    script({ kind: 'completion', text: 'I am a chat model' });
    const error = await rejection(new CloudTtsEngine({ ...base(), voice: 'alloy' }).synthesize('Hello.'));
    assert.equal(error.kind, 'unavailable');
    assert.match(error.message, /application\/json instead of audio/);
  });

  test('azure flavour: api-key header and api-version, never a bearer token', async () => {
    const requests = script({ kind: 'speech' });
    const tts = new CloudTtsEngine({ ...base({ flavour: 'azure', apiVersion: '2025-03-01-preview', baseUrl: `${peer.url}/openai/deployments/tts` }), voice: 'nova' });
    await tts.synthesize('Hi.');
    assert.equal(requests[0]?.path, '/v1/openai/deployments/tts/audio/speech?api-version=2025-03-01-preview');
    assert.equal(requests[0]?.headers['api-key'], KEY);
    assert.equal(requests[0]?.headers.authorization, undefined);
  });

  test('abort rejects with the signal\'s reason at once; close() ends calls in flight', async () => {
    script({ kind: 'speech', headerDelayMs: 5_000 }, { kind: 'speech', headerDelayMs: 5_000 });
    const tts = new CloudTtsEngine({ ...base(), voice: 'alloy' });
    await assert.rejects(tts.synthesize('x', { signal: AbortSignal.abort(new Error('gone')) }), /gone/);
    assert.equal(peer.requests.length, 0);
    const controller = new AbortController();
    const started = performance.now();
    const speaking = tts.synthesize('Hello there.', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('barge-in')), 50);
    await assert.rejects(speaking, /barge-in/);
    const pending = tts.synthesize('Second.');
    setTimeout(() => void tts.close(), 50);
    const error = await rejection(pending);
    assert.match(error.message, /engine closed/);
    assert.ok(performance.now() - started < 1_500);
    await rejection(tts.synthesize('After close.'));
  });
});
