import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTinyPiperPhonemes, TINY_PIPER_VOICE, writeTinyCtcStt, writeTinyPiperTts, writeTinyVitsTts } from '../../test/fixtures/tiny-speech-models.ts';
import { findEspeakNgData } from '../config.ts';
import { createLogger } from '../logger.ts';
import { probeEspeakTts } from './espeak.ts';
import { openSpeechEngines, type OpenSpeechOptions } from './open-speech.ts';

const hasEspeak = (await probeEspeakTts()).engine !== null;
const NO_ESPEAK = { binary: 'espeak-ng-absent' };
let modelsDir: string;
let manifestPath: string;

const stt = (id: string) => ({ id, role: 'stt', profiles: ['small'], stt: { type: 'offline-zipformer-ctc', files: { model: 'model.onnx', tokens: 'tokens.txt' } } });
const tts = (id: string) => ({ id, role: 'tts', profiles: ['small'], tts: { type: 'vits', files: { model: 'model.onnx', tokens: 'tokens.txt' } } });
const piper = (id: string) => ({ ...tts(id), tts: { ...tts(id).tts, dataDir: 'espeak-ng-data' } });
// Debian's espeak-ng-data (pulled in by espeak-ng): what a Piper voice falls back to.
const systemData = findEspeakNgData();
const NO_SYSTEM_DATA = systemData ? false : 'no system espeak-ng data (apt-get install espeak-ng-data)';

before(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'open-speech-'));
  await writeTinyCtcStt(join(modelsDir, 'tiny-stt'));
  await writeTinyVitsTts(join(modelsDir, 'tiny-tts'));
  await writeTinyVitsTts(join(modelsDir, 'own-voice'));
  await writeFile(join(modelsDir, 'own-voice', 'lectern.json'), JSON.stringify({ ...tts('own-voice'), profiles: [], languages: ['de'] }));
  await mkdir(join(modelsDir, 'broken-stt'));
  await writeFile(join(modelsDir, 'broken-stt', 'model.onnx'), Buffer.alloc(300, 1));
  await writeFile(join(modelsDir, 'broken-stt', 'tokens.txt'), '<blk> 0\n');
  // Piper voices as the fetch script leaves them: model and tokens, no espeak-ng-data folder.
  await writeTinyPiperTts(join(modelsDir, 'tiny-piper'));
  await writeTinyPiperTts(join(modelsDir, 'own-data-piper'));
  if (systemData) await symlink(systemData, join(modelsDir, 'own-data-piper', 'espeak-ng-data'));
  manifestPath = join(modelsDir, 'manifest.json');
  const models = [stt('tiny-stt'), tts('tiny-tts'), stt('absent-stt'), tts('absent-tts'), stt('broken-stt'), piper('tiny-piper'), piper('own-data-piper'), piper('absent-piper')];
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

/** A logger whose lines a test can read. */
function capturingLog(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } }) };
}

test('a Piper voice without its own espeak-ng-data phonemizes with the system\'s, and says so', { skip: NO_SYSTEM_DATA }, async () => {
  const { log, lines } = capturingLog();
  const speech = await open({ tts: 'tiny-piper', stt: 'off', log });
  assert.equal(speech.ttsReason, undefined);
  assert.equal(speech.tts?.kind, 'local');
  assert.equal(speech.tts?.voice.id, 'tiny-piper');
  assert.deepEqual(speech.ttsData, { dir: systemData, source: 'system' });
  const ready = lines.find((l) => l.msg === 'speech output ready');
  assert.equal(ready?.espeakData, `${systemData} (the system's; the voice's own folder is absent)`);
  // The model hears phoneme ids: bos, each phoneme espeak-ng wrote, eos; the fixture reads them back.
  const audio = await speech.tts.synthesize('Hello world.');
  const phonemes = readTinyPiperPhonemes(audio.samples);
  assert.match(phonemes, /^\^h.*l.* w.*d\.\$$/);
  if (hasEspeak) {
    // The same data through the espeak-ng program gives the same phonemes.
    const ipa = execFileSync('espeak-ng', ['-q', '--ipa', '-v', TINY_PIPER_VOICE, 'Hello world.'], { encoding: 'utf8' }).trim();
    assert.equal(phonemes.replace(/[\^$.]/g, ''), ipa);
  }
  // Two sentences are phonemized and run one by one.
  assert.equal((readTinyPiperPhonemes((await speech.tts.synthesize('Yes. No?')).samples).match(/\^/g) ?? []).length, 2);
});

test('a Piper voice\'s own espeak-ng-data folder comes first', { skip: NO_SYSTEM_DATA }, async () => {
  const speech = await open({ tts: 'own-data-piper', stt: 'off', espeakDataDir: join(modelsDir, 'nowhere') });
  assert.equal(speech.ttsReason, undefined);
  assert.deepEqual(speech.ttsData, { dir: join(modelsDir, 'own-data-piper', 'espeak-ng-data'), source: 'model' });
  assert.match(readTinyPiperPhonemes((await speech.tts!.synthesize('Hello.')).samples), /^\^h.*\.\$$/);
});

test('a Piper voice with no espeak-ng data anywhere gets a reason saying what to install', async () => {
  const none = await open({ tts: 'tiny-piper', stt: 'off', espeakDataDir: null, espeak: NO_ESPEAK });
  assert.equal(none.tts, null);
  assert.equal(
    none.ttsReason,
    "TTS voice tiny-piper needs espeak-ng's phoneme data: MODELS_DIR/tiny-piper/espeak-ng-data is missing and no system espeak-ng data was found. " +
      'Install Debian\'s espeak-ng-data (apt-get install espeak-ng-data), set ESPEAK_NG_DATA_DIR to an espeak-ng-data folder, ' +
      "or unpack sherpa-onnx's espeak-ng-data.tar.bz2 into MODELS_DIR/tiny-piper/, and espeak-ng-absent is not installed (apt-get install espeak-ng): answers are text only",
  );
  const wrong = await open({ tts: 'tiny-piper', stt: 'off', espeakDataDir: '/nonexistent/espeak-ng-data', espeak: NO_ESPEAK });
  assert.match(wrong.ttsReason ?? '', /is missing and ESPEAK_NG_DATA_DIR \(\/nonexistent\/espeak-ng-data\) holds no espeak-ng data\. /);
  // A voice not downloaded yet asks for the download first, whatever the data.
  const absent = await open({ tts: 'absent-piper', stt: 'off', espeakDataDir: null, espeak: NO_ESPEAK });
  assert.match(absent.ttsReason ?? '', /^TTS voice absent-piper is not installed in MODELS_DIR \(.*\): run npm run models -- --profile small/);
  assertNoPath(none.ttsReason, wrong.ttsReason, absent.ttsReason);
});

test('espeak-ng data of another version is a reason, not a crash', { skip: NO_SYSTEM_DATA }, async () => {
  // sherpa-onnx's espeak-ng checks the version in phondata's first bytes and ends the process on a
  // mismatch; the isolated load reports its words instead.
  const other = join(modelsDir, 'other-espeak-ng-data');
  await mkdir(other);
  for (const name of ['phontab', 'phonindex', 'intonations']) await copyFile(join(systemData ?? '', name), join(other, name));
  const phondata = await readFile(join(systemData ?? '', 'phondata'));
  phondata.writeUInt32LE(phondata.readUInt32LE(0) + 1, 0);
  await writeFile(join(other, 'phondata'), phondata);
  const speech = await open({ tts: 'tiny-piper', stt: 'off', espeakDataDir: other, espeak: NO_ESPEAK });
  assert.equal(speech.tts, null);
  assert.match(speech.ttsReason ?? '', /^TTS voice tiny-piper \(MODELS_DIR\/tiny-piper\) could not be loaded: .*Wrong version of espeak-ng-data at 'MODELS_DIR\/other-espeak-ng-data'/);
});
