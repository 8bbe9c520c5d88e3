// A spoken answer's timings (docs/realtime.md, *Metrics*) in words: one short line for the answer's
// details area, and the full breakdown behind it. What matters to the person is how long they
// waited after they stopped speaking, so that is what the line leads with.

import type { VoiceMetrics } from '../api.ts';

export interface VoiceTimingsView {
  summary: string;
  details: Array<{ term: string; value: string }>;
}

/** Milliseconds as a person reads them: "14 ms", "1.2 s". */
export const duration = (ms: number): string => (Math.round(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

const audio = (seconds: number): string => `${seconds.toFixed(1)} s`;

const toNumber = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/**
 * `response.done.response.metadata.lectern_metrics` in the stored message's shape, so a turn just
 * spoken and one loaded later read the same. The socket does not name the recogniser; `voice` is
 * the session's. Null when the metadata has no metrics (a server that predates them).
 */
export function metricsFromRealtime(raw: unknown, voice: string | null): VoiceMetrics | null {
  if (!raw || typeof raw !== 'object') return null;
  const m = raw as Record<string, unknown>;
  return {
    speechEndToTranscriptMs: toNumber(m['speech_end_to_transcript_ms']),
    speechEndToFirstTokenMs: toNumber(m['speech_end_to_first_token_ms']),
    speechEndToFirstAudioMs: toNumber(m['speech_end_to_first_audio_ms']),
    sttMs: toNumber(m['stt_ms']),
    firstTokenMs: toNumber(m['first_token_ms']),
    ttsFirstSentenceMs: toNumber(m['tts_first_sentence_ms']),
    ttsMs: toNumber(m['tts_ms']) ?? 0,
    audioInSeconds: toNumber(m['audio_in_seconds']) ?? 0,
    audioOutSeconds: toNumber(m['audio_out_seconds']) ?? 0,
    charactersSynthesised: toNumber(m['characters_synthesised']) ?? 0,
    stt: null,
    voice,
  };
}

/** "Heard 3.3 s · transcript 3 ms · first word 14 ms · first audio 119 ms after you stopped", and the rest. */
export function voiceTimings(v: VoiceMetrics): VoiceTimingsView {
  const afterStop = [
    v.speechEndToTranscriptMs === null ? null : `transcript ${duration(v.speechEndToTranscriptMs)}`,
    v.speechEndToFirstTokenMs === null ? null : `first word ${duration(v.speechEndToFirstTokenMs)}`,
    v.speechEndToFirstAudioMs === null ? null : `first audio ${duration(v.speechEndToFirstAudioMs)}`,
  ].filter((p) => p !== null);
  const summary: string[] = [];
  if (v.audioInSeconds > 0) summary.push(`Heard ${audio(v.audioInSeconds)}`);
  if (afterStop.length > 0) summary.push(`${afterStop.join(' · ')} after you stopped`);
  else {
    // A typed question answered aloud: there was no end of speech to count from.
    if (v.firstTokenMs !== null) summary.push(`First word ${duration(v.firstTokenMs)}`);
    if (v.audioOutSeconds > 0) summary.push(`spoken ${audio(v.audioOutSeconds)}`);
  }
  if (summary.length === 0) summary.push('Voice timings');
  const line = summary.join(' · ');

  const details: VoiceTimingsView['details'] = [];
  if (v.audioInSeconds > 0) details.push({ term: 'Your question', value: `${audio(v.audioInSeconds)} of speech${v.stt ? `, recognised by ${v.stt}` : ''}` });
  if (v.speechEndToTranscriptMs !== null) {
    details.push({ term: 'Transcript', value: `${duration(v.speechEndToTranscriptMs)} after you stopped${v.sttMs === null ? '' : ` (${duration(v.sttMs)} in the recogniser)`}` });
  }
  if (v.speechEndToFirstTokenMs !== null) {
    details.push({ term: 'First word', value: `${duration(v.speechEndToFirstTokenMs)} after you stopped${v.firstTokenMs === null ? '' : ` (${duration(v.firstTokenMs)} after the question was known)`}` });
  } else if (v.firstTokenMs !== null) {
    details.push({ term: 'First word', value: `${duration(v.firstTokenMs)} after the question` });
  }
  if (v.speechEndToFirstAudioMs !== null) details.push({ term: 'First audio', value: `${duration(v.speechEndToFirstAudioMs)} after you stopped` });
  if (v.audioOutSeconds > 0 || v.charactersSynthesised > 0) {
    const synthesis = v.ttsFirstSentenceMs === null ? `${duration(v.ttsMs)} synthesising` : `${duration(v.ttsFirstSentenceMs)} for the first sentence, ${duration(v.ttsMs)} in all`;
    details.push({ term: 'Spoken answer', value: `${audio(v.audioOutSeconds)}, ${v.charactersSynthesised} characters; ${synthesis}${v.voice ? ` (${v.voice})` : ''}` });
  }
  return { summary: line.charAt(0).toUpperCase() + line.slice(1), details };
}
