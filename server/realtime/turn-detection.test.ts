// When a spoken turn ends: a realtime session with the real Silero VAD hearing a real recording,
// under server_vad and semantic_vad. The words come from a scripted streaming recogniser — no
// English recogniser can be loaded offline here (the tiny test model hears only "a"s) — that
// reveals its script as the audio arrives, as a streaming model's partial transcript grows.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { float32ToPcm16, resample } from '../speech/resample.ts';
import { loadSmartTurnModel, turnModelPath, type TurnModel } from '../speech/smart-turn.ts';
import type { AudioChunk, SttEngine } from '../speech/speech.ts';
import { loadSileroVadModel, type SileroVadModel } from '../speech/vad.ts';
import { readWavFile } from '../speech/wav.ts';
import { clientEvent } from './protocol.ts';
import { EAGERNESS_SETTINGS } from './semantic-turns.ts';
import { RealtimeSession } from './session.ts';

const SPEECH = join(import.meta.dirname, '../../../shared/speech');
const skip = !existsSync(SPEECH) && `${SPEECH} is absent: these tests speak its recordings`;
const TURN_MODEL = turnModelPath(join(import.meta.dirname, '../../models'));
const RATE = 24_000;
const FRAME_MS = 100;

/** A streaming recogniser that knows what will be said: its partial grows with the audio heard. */
function scriptedStt(script: string, speechSamples: number): SttEngine {
  const words = script.split(' ');
  return {
    kind: 'local',
    model: { id: 'scripted', streaming: true, languages: ['en'] },
    createStream() {
      let heard = 0;
      return {
        accept: (chunk: AudioChunk) => void (heard += (chunk.samples.length * RATE) / chunk.sampleRate),
        partial: () => words.slice(0, Math.min(words.length, Math.floor((heard / speechSamples) * words.length))).join(' '),
        finish: async () => script,
      };
    },
    close: async () => {},
  };
}

interface Heard {
  /** Silence (ms) sent after the recording when speech_stopped came; null if it never did. */
  stoppedAfterMs: number | null;
  stops: number;
}

/**
 * Speaks `speech` (24 kHz) into a session with the given turn detection, then up to `silenceMs`
 * of silence, 100 ms at a time, as a microphone would.
 */
async function speak(vad: SileroVadModel, speech: Float32Array, script: string, turnDetection: Record<string, unknown>, silenceMs: number, turn: TurnModel | null = null): Promise<Heard> {
  const sent: Array<Record<string, any>> = [];
  const failures: unknown[] = [];
  let n = 0;
  // The model's verdict arrives beside the event queue; live, it is in before the next 100 ms of
  // audio (it takes about 55 ms). Here each frame waits for it, so a loaded machine cannot make a
  // verdict land frames late and the silence counted below stays audio time, not wall time.
  const judging = new Set<Promise<number>>();
  const model: TurnModel | null = turn && {
    id: turn.id,
    complete: (audio) => {
      const verdict = turn.complete(audio);
      judging.add(verdict);
      void verdict.finally(() => judging.delete(verdict)).catch(() => {});
      return verdict;
    },
    close: () => turn.close(),
  };
  const session = new RealtimeSession({
    acting: { principal: {} as never, ip: null },
    kbId: 'kb',
    model: 'kb:kb',
    answers: { ask: async () => ({ answer: { citations: [], usage: { promptTokens: 1, completionTokens: 1 } } }) as never, prepare: () => Promise.resolve(0), truncate: () => Promise.reject(new Error('no truncate expected')), recordVoice: () => Promise.resolve() },
    speech: { vad, turn: model, stt: scriptedStt(script, speech.length), tts: null },
    newId: (prefix) => `${prefix}_${++n}`,
    send: (event) => sent.push(event),
    fail: (err) => failures.push(err),
  });
  session.start();
  const send = (event: unknown) => session.handle(clientEvent.parse(event));
  send({ type: 'session.update', session: { output_modalities: ['text'], audio: { input: { turn_detection: turnDetection } } } });
  const frame = (RATE * FRAME_MS) / 1000;
  const lead = new Float32Array(RATE / 2);
  const stops = () => sent.filter((e) => e['type'] === 'input_audio_buffer.speech_stopped').length;
  const append = async (samples: Float32Array) => {
    send({ type: 'input_audio_buffer.append', audio: Buffer.from(float32ToPcm16(samples).buffer).toString('base64') });
    await session.drained(0);
    if (judging.size > 0) {
      await Promise.allSettled(judging);
      // The verdict joins the event queue once it is in.
      await new Promise((resolve) => setImmediate(resolve));
      await session.drained(0);
    }
  };
  const audio = new Float32Array(lead.length + speech.length);
  audio.set(speech, lead.length);
  for (let at = 0; at < audio.length; at += frame) await append(audio.subarray(at, at + frame));
  const during = stops();
  let stoppedAfterMs: number | null = null;
  for (let ms = FRAME_MS; ms <= silenceMs && stoppedAfterMs === null; ms += FRAME_MS) {
    await append(new Float32Array(frame));
    if (stops() > during) stoppedAfterMs = ms;
  }
  if (turn) await new Promise((resolve) => setTimeout(resolve, 50));
  await session.close();
  assert.deepEqual(failures, []);
  return { stoppedAfterMs, stops: stops() };
}

describe('end of a spoken turn', { skip }, () => {
  let vad: SileroVadModel;
  let question: Float32Array;
  before(async () => {
    vad = await loadSileroVadModel();
    // 1.8 s of one speaker; the VAD hears it as one stretch of speech.
    const wav = await readWavFile(join(SPEECH, 'spk2_snt2.wav'));
    question = resample(wav.samples, wav.sampleRate, RATE);
  });
  after(() => vad?.close());

  it('semantic_vad ends a complete question well before the silence timeout; server_vad waits it out', async () => {
    const { pauseMs, wordsMs } = EAGERNESS_SETTINGS.medium;
    const fixed = await speak(vad, question, 'When is the clinic open on Saturday?', { type: 'server_vad' }, 1_500);
    assert.ok(fixed.stoppedAfterMs !== null && fixed.stoppedAfterMs >= 600, `server_vad stopped after ${fixed.stoppedAfterMs} ms of silence`);
    // Punctuated by the recogniser: over at the first judged pause. The frame it falls in and the VAD's release add up to ~200 ms.
    const punctuated = await speak(vad, question, 'When is the clinic open on Saturday?', { type: 'semantic_vad' }, 1_500);
    assert.ok(punctuated.stoppedAfterMs !== null && punctuated.stoppedAfterMs <= pauseMs + 200, `stopped after ${punctuated.stoppedAfterMs} ms of silence`);
    assert.ok(punctuated.stoppedAfterMs <= fixed.stoppedAfterMs - 400, `semantic ${punctuated.stoppedAfterMs} ms, server_vad ${fixed.stoppedAfterMs} ms`);
    assert.equal(punctuated.stops, 1);
    // Bare words that read as a whole question: a shorter wait than the timeout, in case they go on.
    const words = await speak(vad, question, 'when is the clinic open on saturday', { type: 'semantic_vad' }, 1_500);
    assert.ok(words.stoppedAfterMs !== null && words.stoppedAfterMs <= wordsMs + 200 && words.stoppedAfterMs < fixed.stoppedAfterMs, `stopped after ${words.stoppedAfterMs} ms of silence`);
  });

  it('semantic_vad waits when the speaker trails off mid-sentence, where server_vad would cut in', async () => {
    const trailing = 'i would like to know about the';
    const fixed = await speak(vad, question, trailing, { type: 'server_vad' }, 1_200);
    assert.ok(fixed.stoppedAfterMs !== null && fixed.stoppedAfterMs <= 1_000, `server_vad stopped after ${fixed.stoppedAfterMs} ms`);
    const waiting = await speak(vad, question, trailing, { type: 'semantic_vad' }, 1_500);
    assert.equal(waiting.stoppedAfterMs, null, 'no turn end in 1.5 s of silence after "…about the"');
    // It does end, once the longer wait is over.
    const { incompleteMs } = EAGERNESS_SETTINGS.medium;
    const ended = await speak(vad, question, trailing, { type: 'semantic_vad' }, incompleteMs + 500);
    assert.ok(ended.stoppedAfterMs !== null && ended.stoppedAfterMs >= incompleteMs, `stopped after ${ended.stoppedAfterMs} ms`);
  });

  it('semantic_vad with nothing to judge by waits silence_duration_ms, like server_vad', async () => {
    const unknown = await speak(vad, question, 'a a a a a', { type: 'semantic_vad', silence_duration_ms: 800 }, 1_500);
    assert.ok(unknown.stoppedAfterMs !== null && unknown.stoppedAfterMs >= 800 && unknown.stoppedAfterMs <= 1_100, `stopped after ${unknown.stoppedAfterMs} ms`);
  });

  const noModel = !existsSync(TURN_MODEL) && `${TURN_MODEL} is absent (npm run models:turn)`;
  it('with the turn model, a finished sentence ends early and a pause mid-sentence waits', { skip: noModel }, async () => {
    const model = await loadSmartTurnModel(TURN_MODEL);
    try {
      // No words: the model alone judges. "What joy there is in living" sounds finished (p ≈ 0.97).
      const whole = await speak(vad, question, '', { type: 'semantic_vad' }, 1_500, model);
      assert.ok(whole.stoppedAfterMs !== null && whole.stoppedAfterMs <= 400, `stopped after ${whole.stoppedAfterMs} ms`);
      // "At that high level… " cut off before its end (p ≈ 0.02): no end within 1.5 s.
      const wav = await readWavFile(join(SPEECH, 'spk1_snt3.wav'));
      const part = resample(wav.samples, wav.sampleRate, RATE).subarray(0, Math.round(1.3 * RATE));
      const cut = await speak(vad, part, '', { type: 'semantic_vad' }, 1_500, model);
      assert.equal(cut.stoppedAfterMs, null, 'the half sentence did not end the turn');
    } finally {
      await model.close();
    }
  });
});
