import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_TTS_FRAME, TINY_TTS_SAMPLE_RATE, writeTinyCtcStt, writeTinyStreamingCtcStt, writeTinyVitsTts } from '../../test/fixtures/tiny-speech-models.ts';
import { SherpaSttEngine, SherpaTtsEngine } from './sherpa.ts';
import type { AudioChunk } from './speech.ts';
import { readWavFile } from './wav.ts';

let root: string;
let tts: SherpaTtsEngine;
let stt: SherpaSttEngine;
let sttFiles: { model: string; tokens: string };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sherpa-'));
  const voice = await writeTinyVitsTts(join(root, 'tts'));
  sttFiles = await writeTinyCtcStt(join(root, 'stt'));
  [tts, stt] = await Promise.all([
    SherpaTtsEngine.create({ id: 'tiny-vits', type: 'vits', language: 'en', files: { model: voice.model, tokens: voice.tokens } }),
    SherpaSttEngine.create({ id: 'tiny-ctc', type: 'offline-zipformer-ctc', files: sttFiles, maxSeconds: 15 }),
  ]);
});
after(() => rm(root, { recursive: true, force: true }));

// Broadband noise: loud in every mel band, the way speech is across the frame.
const noise = (seconds: number, sampleRate = 16000): Float32Array => {
  let state = 12345;
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32 - 0.5) * 0.6;
  });
};
const silence = (seconds: number, sampleRate = 16000) => new Float32Array(Math.round(seconds * sampleRate));

async function transcribe(...chunks: AudioChunk[]): Promise<string> {
  const stream = stt.createStream();
  for (const chunk of chunks) stream.accept(chunk);
  assert.equal(stream.partial(), '');
  return stream.finish();
}

test('VITS synthesis runs the model: one frame of audio per character, text-dependent', async () => {
  assert.deepEqual(tts.voice, { id: 'tiny-vits', language: 'en', sampleRate: TINY_TTS_SAMPLE_RATE });
  const hello = await tts.synthesize('Hello world');
  assert.equal(hello.sampleRate, TINY_TTS_SAMPLE_RATE);
  assert.equal(hello.samples.length, 'hello world'.length * TINY_TTS_FRAME);
  assert.ok(hello.samples.some((s) => Math.abs(s) > 0.1));
  const other = await tts.synthesize('Goodbye world');
  assert.notDeepEqual(other.samples.subarray(0, TINY_TTS_FRAME), hello.samples.subarray(0, TINY_TTS_FRAME));
  assert.equal((await tts.synthesize('   ')).samples.length, 0);
  await assert.rejects(tts.synthesize('x'.repeat(2001)), RangeError);
});

test('concurrent syntheses are serialised and an aborted one rejects with its reason', async () => {
  const controller = new AbortController();
  const first = tts.synthesize('first sentence');
  const second = tts.synthesize('second sentence', { signal: controller.signal });
  controller.abort(new Error('barge-in'));
  assert.equal((await first).samples.length, 'first sentence'.length * TINY_TTS_FRAME);
  await assert.rejects(second, /barge-in/);
  await assert.rejects(tts.synthesize('x', { signal: AbortSignal.abort(new Error('gone')) }), /gone/);
});

test('offline CTC recognition runs features, model and decoder: silence is empty, sound is heard', async () => {
  assert.deepEqual(stt.model, { id: 'tiny-ctc', streaming: false, languages: ['en'] });
  assert.equal(await transcribe({ samples: silence(1), sampleRate: 16000 }), '');
  assert.equal(await transcribe({ samples: silence(0.5), sampleRate: 16000 }, { samples: noise(0.5), sampleRate: 16000 }), 'a');
  // Two bursts with a gap: CTC keeps them apart as two tokens.
  const bursts = [noise(0.4), silence(0.5), noise(0.4)].map((samples) => ({ samples, sampleRate: 16000 }));
  assert.equal((await transcribe(...bursts)).replaceAll(' ', ''), 'aa');
  // Other sample rates are resampled by the runtime.
  assert.equal(await transcribe({ samples: noise(0.5, 8000), sampleRate: 8000 }), 'a');
  assert.equal(await transcribe({ samples: silence(0.5), sampleRate: 16000 }, { samples: noise(0.5, 22050), sampleRate: 22050 }), 'a');
  assert.equal(await transcribe(), '');
});

const JFK = fileURLToPath(new URL('../../../shared/speech/jfk.wav', import.meta.url));

test('streaming CTC recognition gives partial transcripts as audio arrives', async () => {
  const files = await writeTinyStreamingCtcStt(join(root, 'online'));
  const online = await SherpaSttEngine.create({ id: 'tiny-online', type: 'online-ctc', files, languages: ['en', 'de'] });
  assert.deepEqual(online.model, { id: 'tiny-online', streaming: true, languages: ['en', 'de'] });
  const stream = online.createStream();
  const partials: string[] = [];
  // The rate changes midway: the native stream would end the process; the engine resamples.
  const chunks = [
    { samples: silence(0.5), sampleRate: 16000 },
    { samples: noise(0.5), sampleRate: 16000 },
    { samples: silence(0.5, 8000), sampleRate: 8000 },
    { samples: noise(0.5, 8000), sampleRate: 8000 },
  ];
  for (const chunk of chunks) {
    stream.accept(chunk);
    partials.push(stream.partial());
  }
  assert.deepEqual(partials, ['', 'a', 'a', 'aa']);
  assert.equal(await stream.finish(), 'aa');
  assert.equal(await stream.finish(), 'aa');
  assert.throws(() => stream.accept({ samples: silence(0.1), sampleRate: 16000 }), /finished/);
  // Streams are independent: a new one starts empty.
  const next = online.createStream();
  next.accept({ samples: silence(0.3), sampleRate: 16000 });
  assert.equal(await next.finish(), '');
});

test('real recorded speech is heard (shared material)', { skip: existsSync(JFK) ? false : '../shared/speech is absent' }, async () => {
  const jfk = await readWavFile(JFK);
  assert.match(await transcribe(jfk), /a/);
});

test('an offline stream bounds buffered audio and refuses audio after finish', async () => {
  const stream = stt.createStream();
  stream.accept({ samples: silence(10, 8000), sampleRate: 8000 });
  assert.throws(() => stream.accept({ samples: silence(6), sampleRate: 16000 }), /longer than 15 s/);
  const done = stt.createStream();
  await done.finish();
  assert.throws(() => done.accept({ samples: silence(0.1), sampleRate: 16000 }), /finished/);
});

test('missing, empty and corrupt model files give clear errors, never a crash', async () => {
  await assert.rejects(
    SherpaSttEngine.create({ id: 'broken', type: 'online-transducer', files: { encoder: join(root, 'nope.onnx'), tokens: sttFiles.tokens } }),
    /broken: encoder file nope\.onnx is missing; no "decoder" file is configured; no "joiner" file is configured/,
  );
  const empty = join(root, 'empty.onnx');
  await writeFile(empty, '');
  await assert.rejects(
    SherpaTtsEngine.create({ id: 'hollow', type: 'vits', language: 'en', files: { model: empty, tokens: sttFiles.tokens } }),
    /hollow: model file empty\.onnx is empty/,
  );
  await assert.rejects(
    SherpaTtsEngine.create({ id: 'piper', type: 'vits', language: 'en', files: sttFiles, dataDir: join(root, 'espeak-ng-data') }),
    /data folder espeak-ng-data is missing/,
  );
  const corrupt = join(root, 'corrupt.onnx');
  await writeFile(corrupt, Buffer.alloc(512, 7));
  // The streaming constructor would abort the process on this file; the isolated load reports it.
  await assert.rejects(SherpaSttEngine.create({ id: 'bad', type: 'online-ctc', files: { model: corrupt, tokens: sttFiles.tokens } }), /Protobuf parsing failed/);
  // A valid ONNX graph that is the wrong kind of model: sherpa-onnx exits on the missing metadata.
  await assert.rejects(
    SherpaTtsEngine.create({ id: 'mismatch', type: 'vits', language: 'en', files: { model: sttFiles.model, tokens: sttFiles.tokens } }),
    /: 'sample_rate' does not exist in the metadata$/,
  );
});

test('a closed engine takes no new work', async () => {
  const voice = await writeTinyVitsTts(join(root, 'closing'));
  const closing = await SherpaTtsEngine.create({ id: 'closing', type: 'vits', language: 'en', files: { model: voice.model, tokens: voice.tokens }, isolateLoad: false });
  await closing.close();
  await assert.rejects(closing.synthesize('hi'), /closed/);
  const recognizer = await SherpaSttEngine.create({ id: 'closing-stt', type: 'offline-zipformer-ctc', files: sttFiles, isolateLoad: false });
  await recognizer.close();
  assert.throws(() => recognizer.createStream(), /closed/);
});
