import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEspeakTts, probeEspeakTts } from './espeak.ts';
import type { AudioChunk, TtsEngine } from './speech.ts';

const probe = await probeEspeakTts();
// CI installs espeak-ng (apt), so there a missing binary is a failure, not a skip.
const skip = probe.engine || process.env.CI ? false : `espeak-ng is not installed here (${probe.reason})`;
const engine = probe.engine as TtsEngine;

function rms(chunk: AudioChunk): number {
  let sum = 0;
  for (const s of chunk.samples) sum += s * s;
  return Math.sqrt(sum / Math.max(1, chunk.samples.length));
}

const seconds = (chunk: AudioChunk) => chunk.samples.length / chunk.sampleRate;

test('speaks a sentence as audible audio of a plausible length', { skip }, async () => {
  assert.equal(engine.kind, 'espeak');
  assert.equal(engine.voice.sampleRate, 22050);
  assert.equal(engine.voice.language, 'en');
  const audio = await engine.synthesize('The clinic opens at nine in the morning on weekdays.');
  assert.equal(audio.sampleRate, 22050);
  // Ten words at 175 words a minute: about three and a half seconds.
  assert.ok(seconds(audio) > 2 && seconds(audio) < 6, `${seconds(audio)} s`);
  assert.ok(rms(audio) > 0.02, `rms ${rms(audio)}`);
  assert.ok(audio.samples.every((s) => s >= -1 && s <= 1));

  const fast = await engine.synthesize('The clinic opens at nine in the morning on weekdays.', { speed: 2 });
  assert.ok(seconds(fast) < seconds(audio) * 0.75, `fast ${seconds(fast)} s vs ${seconds(audio)} s`);
});

test('empty and whitespace-only text is silence without a process', { skip }, async () => {
  const audio = await engine.synthesize('  \u0001 ');
  assert.equal(audio.samples.length, 0);
  assert.equal(audio.sampleRate, 22050);
});

test('hostile text is spoken as text, never executed, and long text is bounded', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'espeak-'));
  try {
    const canary = join(dir, 'canary');
    const hostile = [
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `"; touch ${canary}; echo "`,
      `' && touch ${canary} #`,
      `-v xx --stdout -w ${canary}`,
      '<speak><break time="100s"/><audio src="http://example.com/x.wav"/></speak>',
    ];
    for (const text of hostile) {
      const audio = await engine.synthesize(text);
      assert.ok(rms(audio) > 0.01, `spoken: ${text}`);
      assert.ok(seconds(audio) < 20, `bounded: ${text} took ${seconds(audio)} s`);
    }
    assert.equal(existsSync(canary), false);
    await assert.rejects(engine.synthesize('word '.repeat(1000)), RangeError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('aborting kills the synthesis promptly with the signal reason', { skip }, async () => {
  const slow = await createEspeakTts({ maxChars: 100_000, speed: 80 });
  assert.ok(slow);
  const controller = new AbortController();
  const started = performance.now();
  const pending = slow.synthesize('This sentence is said again and again. '.repeat(1500), { signal: controller.signal });
  setTimeout(() => controller.abort(new Error('caller hung up')), 30);
  await assert.rejects(pending, /caller hung up/);
  assert.ok(performance.now() - started < 1500, `took ${performance.now() - started} ms`);

  const aborted = AbortSignal.abort(new Error('already gone'));
  await assert.rejects(slow.synthesize('hello', { signal: aborted }), /already gone/);
  await slow.close();
});

test('a timeout kills a synthesis that runs too long', { skip }, async () => {
  const hasty = await createEspeakTts({ maxChars: 100_000, timeoutMs: 200 });
  assert.ok(hasty);
  await assert.rejects(hasty.synthesize('A long long answer. '.repeat(3000)), /did not finish within 200 ms/);
});

test('a missing binary or voice gives no engine and a reason that says what to do', async () => {
  const missing = await probeEspeakTts({ binary: 'espeak-ng-not-installed-here' });
  assert.equal(missing.engine, null);
  assert.match(missing.reason ?? '', /not installed \(apt-get install espeak-ng\)/);
  if (skip) return;
  const badVoice = await probeEspeakTts({ voice: 'qq-nonexistent' });
  assert.equal(badVoice.engine, null);
  assert.match(badVoice.reason ?? '', /cannot speak voice "qq-nonexistent"/);
});
