import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resample } from './resample.ts';
import type { VadEvent, VoiceActivityDetector } from './speech.ts';
import { createSileroVad, loadSileroVadModel, type SileroVadModel } from './vad.ts';
import { readWavFile } from './wav.ts';

const SPEECH = join(import.meta.dirname, '../../../shared/speech');
const skip = !existsSync(SPEECH) && `${SPEECH} is absent: the VAD tests need its recordings`;
const RATE = 16_000;

let model: SileroVadModel;
before(async () => {
  model = await loadSileroVadModel();
});
after(() => model?.close());

const load = async (file: string) => readWavFile(join(SPEECH, file));
const silence = (seconds: number, rate = RATE) => new Float32Array(Math.round(seconds * rate));

/** Seeded, so a failure reproduces. */
function noise(seconds: number, amplitude: number, seed = 1): Float32Array {
  let x = seed;
  return Float32Array.from({ length: Math.round(seconds * RATE) }, () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return amplitude * ((x / 2_147_483_648) * 2 - 1);
  });
}

function join16(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

const isTurn = (e: VadEvent) => e.type === 'speech_start' || e.type === 'speech_end';

/** Streams audio in realtime-sized chunks, then silence enough for a final turn to close; returns the turn events. */
async function detect(samples: Float32Array, sampleRate = RATE, chunkMs = 100, detector = model.createDetector()): Promise<VadEvent[]> {
  return (await detectAll(samples, sampleRate, chunkMs, detector)).filter(isTurn);
}

/** The same, with candidates and abandoned candidates too. */
async function detectAll(samples: Float32Array, sampleRate = RATE, chunkMs = 100, detector = model.createDetector()): Promise<VadEvent[]> {
  const events: VadEvent[] = [];
  const size = Math.round((sampleRate * chunkMs) / 1000);
  const all = join16(samples, silence(1.5, sampleRate));
  for (let at = 0; at < all.length; at += size) events.push(...(await detector.push({ samples: all.subarray(at, at + size), sampleRate })));
  await detector.close();
  return events;
}

type Segment = { start: number; end: number; audio: Float32Array };
function segments(events: VadEvent[]): Segment[] {
  const out: Segment[] = [];
  for (let i = 0; i < events.length; i += 2) {
    const [start, end] = [events[i], events[i + 1]];
    assert.equal(start?.type, 'speech_start', `event ${i} starts a turn`);
    assert.equal(end?.type, 'speech_end', `event ${i + 1} ends it`);
    if (start?.type === 'speech_start' && end?.type === 'speech_end') out.push({ start: start.atMs, end: end.atMs, audio: end.audio });
  }
  return out;
}

/** Where the signal is loud, from 20 ms RMS windows: an independent reference for boundaries. */
function loudSpan(samples: Float32Array): { first: number; last: number } {
  const win = RATE / 50;
  const rms: number[] = [];
  for (let at = 0; at + win <= samples.length; at += win) {
    rms.push(Math.sqrt(samples.subarray(at, at + win).reduce((s, v) => s + v * v, 0) / win));
  }
  const floor = Math.max(...rms) * 0.1;
  return { first: rms.findIndex((r) => r > floor) * 20, last: (rms.findLastIndex((r) => r > floor) + 1) * 20 };
}

test('finds speech in every shared recording, inside the file, with padded audio', { skip }, async (t) => {
  const rows = readFileSync(join(SPEECH, 'transcripts.tsv'), 'utf8').trim().split('\n').slice(1);
  const started = performance.now();
  let frames = 0;
  for (const file of rows.map((row) => row.split('\t')[0] ?? '')) {
    const wav = await load(file);
    const durationMs = (wav.samples.length / wav.sampleRate) * 1000;
    frames += (durationMs + 1000) / 32;
    const found = segments(await detect(wav.samples, wav.sampleRate));
    assert.ok(found.length >= 1, `${file}: no speech found`);
    const loud = loudSpan(resample(wav.samples, wav.sampleRate, RATE));
    let voiced = 0;
    for (const [i, s] of found.entries()) {
      // Speech running to the end of the file is released a few frames into the silence appended.
      assert.ok(s.start >= 0 && s.start < s.end && s.end <= durationMs + 160, `${file}: segment ${s.start}–${s.end} outside 0–${durationMs}`);
      assert.ok(i === 0 || s.start > (found[i - 1]?.end ?? 0), `${file}: segments overlap`);
      // Up to the prefix and the trailing padding around the speech itself (frames are 32 ms).
      const expected = ((s.end - s.start) / 1000) * RATE;
      assert.ok(s.audio.length >= expected && s.audio.length <= expected + 0.7 * RATE, `${file}: ${s.audio.length} samples for ${expected}`);
      voiced += s.end - s.start;
    }
    assert.ok(voiced >= 0.5 * (loud.last - loud.first), `${file}: only ${voiced} ms voiced of ${loud.last - loud.first}`);
    assert.ok(found[0] && Math.abs(found[0].start - loud.first) <= 300, `${file}: onset ${found[0]?.start} vs ${loud.first}`);
    // No check of the last end against loudness: jfk.wav ends in applause, which is loud but not speech.
  }
  t.diagnostic(`Silero v5: ${((performance.now() - started) / frames).toFixed(2)} ms per 32 ms frame, including resampling`);
});

test('silence and low-level noise produce no events', { skip }, async () => {
  assert.deepEqual(await detect(silence(4)), []);
  assert.deepEqual(await detect(noise(4, 0.003)), []);
  assert.deepEqual(await detect(noise(4, 0.03, 7)), []);
});

test('a 100 ms click or burst never starts a turn', { skip }, async () => {
  const click = join16(silence(1), Float32Array.from({ length: 1600 }, (_, i) => Math.exp(-i / 200) * Math.sin(i * 0.9)), silence(1));
  assert.deepEqual(await detect(click), []);
  assert.deepEqual(await detect(join16(silence(1), noise(0.1, 0.5, 3), silence(1))), []);
  // A 100 ms cut of real speech is the hardest burst: the model does call it speech.
  const jfk = (await load('jfk.wav')).samples;
  assert.deepEqual(await detect(join16(silence(1), jfk.slice(RATE * 0.6, RATE * 0.7), silence(1))), []);
});

test('a burst is announced as a candidate within a frame and then abandoned; speech is a candidate first', { skip }, async () => {
  // A 100 ms cut of real speech: the model calls it speech, but too briefly to be a turn.
  const jfk = (await load('jfk.wav')).samples;
  const burst = await detectAll(join16(silence(1), jfk.slice(RATE * 0.6, RATE * 0.7), silence(1)));
  assert.deepEqual(burst.map((e) => e.type), ['speech_candidate', 'speech_abandoned']);
  const at = burst[0]?.type === 'speech_candidate' ? burst[0].atMs : NaN;
  assert.ok(Math.abs(at - 1000) <= 64, `candidate at ${at} ms, burst at 1000 ms`);
  const speech = (await detectAll(join16(silence(0.5), (await load('spk1_snt1.wav')).samples))).filter((e) => e.type !== 'speech_abandoned');
  const candidate = speech.findLast((e, i) => e.type === 'speech_candidate' && speech[i + 1]?.type === 'speech_start');
  const start = speech.find((e) => e.type === 'speech_start');
  assert.ok(candidate?.type === 'speech_candidate' && start?.type === 'speech_start', speech.map((e) => e.type).join(', '));
  assert.equal(candidate.atMs, start.atMs, 'the confirmed onset is the candidate that led to it');
  // The streamed pieces are the turn's audio in order: the final utterance is their beginning.
  const all = await detectAll(join16(silence(0.5), (await load('spk1_snt1.wav')).samples));
  const first = all.findIndex((e) => e.type === 'speech_start');
  const last = all.findIndex((e) => e.type === 'speech_end');
  const streamed = join16(...all.slice(first, last).flatMap((e) => (e.type === 'speech_start' || e.type === 'speech_audio' ? [e.audio] : [])));
  const end = all[last];
  assert.ok(end?.type === 'speech_end' && streamed.length >= end.audio.length);
  assert.deepEqual(streamed.subarray(0, end.audio.length), end.audio);
});

test('two recordings 1.5 s apart give two turns split at the gap', { skip }, async () => {
  const [a, b] = [(await load('spk1_snt1.wav')).samples, (await load('spk2_snt4.wav')).samples];
  const found = segments(await detect(join16(a, silence(1.5), b)));
  assert.equal(found.length, 2, JSON.stringify(found.map((s) => [s.start, s.end])));
  const gapStart = loudSpan(a).last;
  const gapEnd = (a.length / RATE) * 1000 + 1500 + loudSpan(b).first;
  assert.ok(Math.abs((found[0]?.end ?? 0) - gapStart) <= 300, `first turn ends at ${found[0]?.end}, gap starts at ${gapStart}`);
  assert.ok(Math.abs((found[1]?.start ?? 0) - gapEnd) <= 300, `second turn starts at ${found[1]?.start}, gap ends at ${gapEnd}`);
});

// Clear-cut turns: band-limiting to 24 kHz and back lowers Silero's scores by a few hundredths, so
// a breath scored right at the threshold (jfk.wav at 3.4 s) may go either way.
test('24 kHz input gives the same turns as 16 kHz; chunk size does not matter', { skip }, async () => {
  const wav = join16((await load('spk1_snt3.wav')).samples, silence(1.5), (await load('spk2_snt2.wav')).samples);
  const reference = segments(await detect(wav));
  assert.ok(reference.length >= 2);
  const at24 = segments(await detect(resample(wav, RATE, 24_000), 24_000, 20));
  assert.equal(at24.length, reference.length);
  at24.forEach((s, i) => {
    assert.ok(Math.abs(s.start - (reference[i]?.start ?? 0)) <= 64, `start ${s.start} vs ${reference[i]?.start}`);
    assert.ok(Math.abs(s.end - (reference[i]?.end ?? 0)) <= 64, `end ${s.end} vs ${reference[i]?.end}`);
  });
  const bigChunks = segments(await detect(wav, RATE, 1000));
  assert.deepEqual(bigChunks.map((s) => [s.start, s.end]), reference.map((s) => [s.start, s.end]));
});

test('options, position, reset and close behave as the port says', { skip }, async () => {
  const wav = (await load('spk1_snt2.wav')).samples;
  const eager = segments(await detect(wav, RATE, 100, model.createDetector({ endOfSpeechMs: 200 })));
  const patient = segments(await detect(wav, RATE, 100, model.createDetector({ endOfSpeechMs: 1000 })));
  assert.ok(eager.length >= patient.length && patient.length >= 1);
  const strict = await detect(wav, RATE, 100, model.createDetector({ minSpeechMs: 10_000 }));
  assert.deepEqual(strict, [], 'no turn when minimum speech exceeds the recording');

  const detector: VoiceActivityDetector = await createSileroVad({ prefixPaddingMs: 0 });
  // Unawaited pushes still apply in order.
  const pending = [detector.push({ samples: wav.subarray(0, 8000), sampleRate: RATE }), detector.push({ samples: wav.subarray(8000), sampleRate: RATE })];
  const [first, second] = await Promise.all(pending);
  assert.ok([...(first ?? []), ...(second ?? [])].some((e) => e.type === 'speech_start'));
  assert.equal(Math.round(detector.positionMs), Math.round((wav.length / RATE) * 1000));
  detector.reset();
  assert.equal(detector.positionMs, 0);
  const again = (await detector.push({ samples: join16(wav, silence(1)), sampleRate: RATE })).filter(isTurn);
  assert.deepEqual(again.map((e) => e.type), segments(again).flatMap(() => ['speech_start', 'speech_end']));
  assert.equal(again[0]?.type === 'speech_start' && again[0].atMs, eager[0]?.start, 'after reset, times restart at 0');
  await detector.close();
  await assert.rejects(detector.push({ samples: wav, sampleRate: RATE }), /closed/);
});

test('a pause is reported at pauseMs and ends the turn when the caller says so', { skip }, async () => {
  const speech = (await load('spk2_snt2.wav')).samples;
  const detector = model.createDetector({ endOfSpeechMs: 2_000, pauseMs: [96] });
  const audio = join16(silence(0.3), speech, silence(1));
  const events: VadEvent[] = [];
  let ended: VadEvent[] = [];
  for (let at = 0; at < audio.length && !ended.length; at += 1_600) {
    const got = await detector.push({ samples: audio.subarray(at, at + 1_600), sampleRate: RATE });
    events.push(...got);
    const pause = got.find((e) => e.type === 'speech_pause');
    // Ending a pause other than the current one does nothing; ending the current one ends the turn there.
    if (pause?.type === 'speech_pause') {
      assert.deepEqual(await detector.endPause?.(pause.atMs + 32, 0), []);
      assert.ok(pause.silenceMs >= 96 && pause.audio.length > speech.length * 0.8, `${pause.silenceMs} ms, ${pause.audio.length} samples`);
      ended = (await detector.endPause?.(pause.atMs, 0)) ?? [];
      const end = ended.find((e) => e.type === 'speech_end');
      assert.equal(end?.atMs, pause.atMs, 'the turn ends where the pause began');
    }
  }
  assert.deepEqual(events.filter(isTurn).map((e) => e.type), ['speech_start'], 'no end on silence alone within 2 s');
  assert.ok(ended.some((e) => e.type === 'speech_end'));
  await detector.close();
});
