import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyCtcStt, writeTinyVitsTts } from '../../test/fixtures/tiny-speech-models.ts';
import { probeEspeakTts } from './espeak.ts';
import { openSpeechEngines, type OpenSpeechOptions } from './open-speech.ts';

const hasEspeak = (await probeEspeakTts()).engine !== null;
const NO_ESPEAK = { binary: 'espeak-ng-absent' };
let modelsDir: string;
let manifestPath: string;

const stt = (id: string) => ({ id, role: 'stt', profiles: ['small'], stt: { type: 'offline-zipformer-ctc', files: { model: 'model.onnx', tokens: 'tokens.txt' } } });
const tts = (id: string) => ({ id, role: 'tts', profiles: ['small'], tts: { type: 'vits', files: { model: 'model.onnx', tokens: 'tokens.txt' } } });

before(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'open-speech-'));
  await writeTinyCtcStt(join(modelsDir, 'tiny-stt'));
  await writeTinyVitsTts(join(modelsDir, 'tiny-tts'));
  await writeTinyVitsTts(join(modelsDir, 'own-voice'));
  await writeFile(join(modelsDir, 'own-voice', 'lectern.json'), JSON.stringify({ ...tts('own-voice'), profiles: [], languages: ['de'] }));
  await mkdir(join(modelsDir, 'broken-stt'));
  await writeFile(join(modelsDir, 'broken-stt', 'model.onnx'), Buffer.alloc(300, 1));
  await writeFile(join(modelsDir, 'broken-stt', 'tokens.txt'), '<blk> 0\n');
  manifestPath = join(modelsDir, 'manifest.json');
  const models = [stt('tiny-stt'), tts('tiny-tts'), stt('absent-stt'), tts('absent-tts'), stt('broken-stt')];
  await writeFile(manifestPath, JSON.stringify({ defaults: { stt: 'tiny-stt', tts: 'tiny-tts' }, models }));
});
after(() => rm(modelsDir, { recursive: true, force: true }));

const open = (options: Partial<OpenSpeechOptions> = {}) => openSpeechEngines({ modelsDir, manifestPath, ...options });

function assertNoPath(...reasons: Array<string | undefined>) {
  for (const reason of reasons) assert.ok(!reason?.includes(modelsDir), `reason leaks the path: ${reason}`);
}

test('installed default models open as sherpa-onnx engines and run', async () => {
  const speech = await open();
  assert.equal(speech.sttReason, undefined);
  assert.equal(speech.ttsReason, undefined);
  assert.deepEqual(speech.stt?.model, { id: 'tiny-stt', streaming: false, languages: ['en'] });
  assert.equal(speech.tts?.kind, 'local');
  assert.equal(speech.tts?.voice.id, 'tiny-tts');
  const audio = await speech.tts.synthesize('hello');
  assert.ok(audio.samples.length > 0);
  const stream = speech.stt.createStream();
  stream.accept(audio);
  assert.equal(typeof (await stream.finish()), 'string');
});

test('a model of the operator\'s own is described by lectern.json in its folder', async () => {
  const speech = await open({ tts: 'own-voice', stt: 'off' });
  assert.equal(speech.tts?.voice.id, 'own-voice');
  assert.equal(speech.tts?.voice.language, 'de');
  assert.equal(speech.stt, null);
  assert.equal(speech.sttReason, 'speech recognition is turned off');
});

test('models not downloaded give reasons naming MODELS_DIR and the command; TTS falls back to espeak-ng', async () => {
  const speech = await open({ stt: 'absent-stt', tts: 'absent-tts' });
  assert.equal(speech.stt, null);
  assert.match(speech.sttReason ?? '', /^STT model absent-stt is not installed in MODELS_DIR \(.*\): run npm run models -- --profile small$/);
  assert.match(speech.ttsReason ?? '', /^TTS voice absent-tts is not installed in MODELS_DIR .*run npm run models -- --profile small/);
  if (hasEspeak) {
    assert.equal(speech.tts?.kind, 'espeak');
    assert.match(speech.ttsReason ?? '', /speaking with espeak-ng instead$/);
  }
  assertNoPath(speech.sttReason, speech.ttsReason);
});

test('without a neural voice or espeak-ng, answers are text only', async () => {
  const speech = await open({ tts: 'absent-tts', espeak: NO_ESPEAK });
  assert.equal(speech.tts, null);
  assert.match(speech.ttsReason ?? '', /not installed in MODELS_DIR.*and espeak-ng-absent is not installed \(apt-get install espeak-ng\): answers are text only$/);
  const off = await open({ tts: 'off' });
  assert.equal(off.tts, null);
  assert.match(off.ttsReason ?? '', /turned off/);
});

test('espeak-ng can be chosen directly', { skip: hasEspeak ? false : 'espeak-ng is not installed' }, async () => {
  const speech = await open({ tts: 'espeak', stt: 'off' });
  assert.equal(speech.tts?.kind, 'espeak');
  assert.match(speech.ttsReason ?? '', /espeak-ng voice was chosen/);
});

test('unknown, invalid, wrong-role and corrupt models are reasons, not crashes', async () => {
  const unknown = await open({ stt: 'nobody', tts: 'nobody', espeak: NO_ESPEAK });
  assert.match(unknown.sttReason ?? '', /STT model nobody is neither in the model manifest nor described by lectern\.json in MODELS_DIR\/nobody/);
  assert.match((await open({ stt: '../etc' })).sttReason ?? '', /not a valid model id/);
  assert.match((await open({ stt: 'tiny-tts' })).sttReason ?? '', /tiny-tts is not an STT model \(it is listed as tts\)/);
  const broken = await open({ stt: 'broken-stt', tts: 'off' });
  assert.equal(broken.stt, null);
  assert.match(broken.sttReason ?? '', /^STT model broken-stt \(MODELS_DIR\/broken-stt\) could not be loaded: .*Protobuf parsing failed/);
  assertNoPath(unknown.sttReason, unknown.ttsReason, broken.sttReason);
  const badManifest = await openSpeechEngines({ modelsDir, manifestPath: join(modelsDir, 'none.json'), espeak: NO_ESPEAK });
  assert.match(badManifest.sttReason ?? '', /the model manifest cannot be read/);
});
