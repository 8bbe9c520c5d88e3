import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VoiceMetrics } from '../api.ts';
import { duration, metricsFromRealtime, voiceTimings } from './timings.ts';

// docs/realtime.md's example turn, as response.done carries it.
const REALTIME = {
  speech_end_to_transcript_ms: 3,
  speech_end_to_first_token_ms: 14,
  speech_end_to_first_audio_ms: 119,
  stt_ms: 2,
  first_token_ms: 11,
  tts_first_sentence_ms: 40,
  tts_ms: 133,
  audio_in_seconds: 3.33,
  audio_out_seconds: 15.89,
  characters_synthesised: 254,
  speculative_prompt_tokens: 0,
};

test('lectern_metrics become the stored message’s shape', () => {
  assert.deepEqual(metricsFromRealtime(REALTIME, 'espeak-ng:en-us'), {
    speechEndToTranscriptMs: 3,
    speechEndToFirstTokenMs: 14,
    speechEndToFirstAudioMs: 119,
    sttMs: 2,
    firstTokenMs: 11,
    ttsFirstSentenceMs: 40,
    ttsMs: 133,
    audioInSeconds: 3.33,
    audioOutSeconds: 15.89,
    charactersSynthesised: 254,
    stt: null,
    voice: 'espeak-ng:en-us',
  });
  assert.equal(metricsFromRealtime(undefined, null), null, 'a server without metrics');
  const odd = metricsFromRealtime({ speech_end_to_transcript_ms: 'soon', tts_ms: null }, null);
  assert.equal(odd?.speechEndToTranscriptMs, null, 'what is not a number is not shown');
  assert.equal(odd?.ttsMs, 0);
});

test('a spoken turn reads as the wait after the person stopped, with the breakdown behind it', () => {
  const metrics = metricsFromRealtime(REALTIME, 'espeak-ng:en-us') as VoiceMetrics;
  const view = voiceTimings({ ...metrics, stt: 'tiny-stt' });
  assert.equal(view.summary, 'Heard 3.3 s · transcript 3 ms · first word 14 ms · first audio 119 ms after you stopped');
  assert.deepEqual(view.details, [
    { term: 'Your question', value: '3.3 s of speech, recognised by tiny-stt' },
    { term: 'Transcript', value: '3 ms after you stopped (2 ms in the recogniser)' },
    { term: 'First word', value: '14 ms after you stopped (11 ms after the question was known)' },
    { term: 'First audio', value: '119 ms after you stopped' },
    { term: 'Spoken answer', value: '15.9 s, 254 characters; 40 ms for the first sentence, 133 ms in all (espeak-ng:en-us)' },
  ]);
});

test('a typed question answered aloud has no end of speech to count from', () => {
  const view = voiceTimings({ ...(metricsFromRealtime(REALTIME, null) as VoiceMetrics), speechEndToTranscriptMs: null, speechEndToFirstTokenMs: null, speechEndToFirstAudioMs: null, sttMs: null, audioInSeconds: 0 });
  assert.equal(view.summary, 'First word 11 ms · spoken 15.9 s');
  assert.deepEqual(view.details.map((d) => d.term), ['First word', 'Spoken answer']);
  assert.equal(view.details[0]?.value, '11 ms after the question');
});

test('an answer cut off before a word was spoken still says what it measured', () => {
  const silent = voiceTimings({ ...(metricsFromRealtime({ speech_end_to_transcript_ms: 1_250, audio_in_seconds: 1.2 }, null) as VoiceMetrics) });
  assert.equal(silent.summary, 'Heard 1.2 s · transcript 1.3 s after you stopped');
  assert.equal(voiceTimings(metricsFromRealtime({}, null) as VoiceMetrics).summary, 'Voice timings');
  assert.equal(duration(999.4), '999 ms');
  assert.equal(duration(999.6), '1.0 s', 'never “1000 ms”');
  assert.equal(duration(1_000), '1.0 s');
});
