// Voice in the console, in real Chromium against the real appliance: the tiny streaming CTC
// recogniser (it hears speech as a run of "a"s, so turns complete; the answer is the extractive
// "not found"), espeak-ng as the voice, Silero finding the turns. Chromium's fake microphone plays
// a question spoken by espeak-ng, in a loop:
//
//   1 s silence · question · 9 s silence · question · 2.5 s silence  (then again from the top)
//
// The first question's answer (about 4.5 s of speech) has played out well before the second; the
// third (the loop's first again) comes about 3.5 s after the second ended, while the second's
// answer is playing: that is the barge-in.
// Needs a built console (`node scripts/build-web.ts`), /usr/bin/chromium and espeak-ng.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Locator, type Page, type WebSocket as PageSocket } from 'playwright-core';
import { probeEspeakTts } from '../../server/speech/espeak.ts';
import { writeTinyStreamingCtcStt } from '../fixtures/tiny-speech-models.ts';
import { writeSpokenTimeline, type SpokenTimeline } from '../fixtures/voice-microphone.ts';
import { heading, openAs, resultsDir } from '../helpers/browser.ts';
import { OWNER, setUp, signedIn, type Client } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { CONVERSATION_GONE, KB_GONE } from '../../web/src/voice/refusal.ts';
import { metricsFromRealtime, voiceTimings } from '../../web/src/voice/timings.ts';

const QUESTION = 'What must be removed before starting the lathe?';
const KB = 'Workshop';
const DOC = `# Workshop safety

Always remove the chuck key before starting the lathe. Wear eye protection near rotating parts.`;

const hasEspeak = (await probeEspeakTts()).engine !== null;

type Event = Record<string, any>;

interface Frame {
  at: number;
  dir: 'in' | 'out';
  event: Event;
}

/** Every realtime event the page sends and receives, in order, with when the test saw it. */
class SocketLog {
  readonly frames: Frame[] = [];
  readonly sockets: PageSocket[] = [];

  watch(page: Page): void {
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/v1/realtime')) return;
      this.sockets.push(ws);
      const record = (dir: Frame['dir']) => (frame: { payload: string | Buffer }) => {
        try {
          this.frames.push({ at: Date.now(), dir, event: JSON.parse(String(frame.payload)) as Event });
        } catch {
          // Not JSON: nothing the protocol sends.
        }
      };
      ws.on('framereceived', record('in'));
      ws.on('framesent', record('out'));
    });
  }

  received(type: string, from = 0): Frame[] {
    return this.frames.slice(from).filter((f) => f.dir === 'in' && f.event['type'] === type);
  }

  sent(type: string, from = 0): Frame[] {
    return this.frames.slice(from).filter((f) => f.dir === 'out' && f.event['type'] === type);
  }

  async waitFor(what: string, find: () => Frame | undefined, timeoutMs = 30_000): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found) return found;
      if (Date.now() > end) throw new Error(`no ${what} within ${timeoutMs} ms; saw:\n${this.timeline()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The events (not the audio) for a failure message. */
  timeline(): string {
    const start = this.frames[0]?.at ?? 0;
    return this.frames
      .filter((f) => !/audio_buffer\.append|output_audio\.delta|output_audio_transcript\.delta|output_text\.delta/.test(String(f.event['type'])))
      .map((f) => `${((f.at - start) / 1000).toFixed(2).padStart(6)} ${f.dir === 'in' ? '←' : '→'} ${f.event['type']}${f.event['response']?.status ? ` ${f.event['response'].status}` : ''}${f.event['error'] ? ` ${f.event['error'].code}` : ''}${f.event['audio_end_ms'] === undefined ? '' : ` audio_end_ms=${f.event['audio_end_ms']}`}`)
      .join('\n');
  }
}

let server: TestServer;
let owner: Client;
let kbId: string;
let browser: Browser;
let microphone: SpokenTimeline;
let scratch: string;

before(async () => {
  if (!hasEspeak) return;
  scratch = await mkdtemp(path.join(tmpdir(), 'lectern-voice-test-'));
  const models = path.join(scratch, 'data', 'models');
  // A model of the operator's own, described by its folder's lectern.json: the streaming recogniser, so partial transcripts exist.
  await writeTinyStreamingCtcStt(path.join(models, 'tiny-stt'));
  await writeFile(
    path.join(models, 'tiny-stt', 'lectern.json'),
    JSON.stringify({ id: 'tiny-stt', role: 'stt', languages: ['en'], stt: { type: 'online-ctc', files: { model: 'model.onnx', tokens: 'tokens.txt' } } }),
  );
  microphone = await writeSpokenTimeline(path.join(scratch, 'microphone.wav'), [{ silence: 1 }, { say: QUESTION }, { silence: 9 }, { say: QUESTION }, { silence: 2.5 }]);
  await mkdir(resultsDir, { recursive: true });
  server = await startTestServer({ dataDir: path.join(scratch, 'data'), env: { STT_MODEL: 'tiny-stt', TTS_MODEL: 'espeak' } });
  owner = (await setUp(server.url)).owner;
  kbId = (await owner.post('/api/v1/kbs', { name: KB })).json.id;
  await owner.upload(kbId, [{ name: 'safety.md', bytes: DOC, type: 'text/markdown' }]);
  await owner.settle(kbId);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // A microphone that plays the file (looped), granted without a prompt; audio may start without a gesture.
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${microphone.path}`,
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const voice = (page: Page) => page.getByRole('region', { name: 'Voice' });
const counter = async (page: Page, name: 'played' | 'queued') => Number(await voice(page).getAttribute(`data-${name}-frames`));

test('voice: hands-free turns with partial transcripts, spoken answers and barge-in', { skip: !hasEspeak && 'espeak-ng is not installed', timeout: 180_000 }, async (t) => {
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  const log = new SocketLog();
  log.watch(page);
  // Keeps the page's sockets reachable, so the test can drop one as a network failure would.
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    const sockets: WebSocket[] = [];
    Object.assign(window, { __lecternSockets: sockets });
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    };
  });
  const phases: string[] = [];
  let conversationId = '';
  t.diagnostic(`microphone: ${microphone.seconds.toFixed(1)} s loop, utterances at ${microphone.utterances.map((u) => `${u.start.toFixed(1)}–${u.end.toFixed(1)} s`).join(', ')}`);

  await page.goto(`${server.url}/kbs/${kbId}/chat`);
  await heading(page, `Ask “${KB}”`).waitFor();
  const panel = voice(page);
  assert.equal(await panel.getByRole('radio', { name: 'Hands-free' }).isChecked(), true, 'hands-free is the default');
  await panel.getByLabel('Microphone').waitFor();
  // Record the state line's phases as they change, to check the order afterwards.
  await page.exposeFunction('__voicePhase', (phase: string) => phases.at(-1) !== phase && phases.push(phase));
  await page.evaluate(() => {
    const section = document.querySelector('section.voice');
    const report = () => (window as unknown as { __voicePhase(p: string): void }).__voicePhase(section?.getAttribute('data-phase') ?? '');
    new MutationObserver(report).observe(section as Element, { attributes: true, attributeFilter: ['data-phase'] });
  });

  await t.test('Start voice opens the session over the cookie and asks for 24 kHz pcm both ways', async () => {
    await panel.getByRole('button', { name: 'Start voice' }).click();
    await panel.getByRole('button', { name: 'Stop voice' }).waitFor();
    const created = await log.waitFor('session.created', () => log.received('session.created')[0], 10_000);
    assert.match(created.event['session'].id, /^sess_/);
    const update = await log.waitFor('session.update', () => log.sent('session.update')[0], 5_000);
    assert.deepEqual(update.event['session'].audio.input, { format: { type: 'audio/pcm', rate: 24_000 }, turn_detection: { type: 'semantic_vad' } });
    assert.deepEqual(update.event['session'].audio.output, { format: { type: 'audio/pcm', rate: 24_000 } });
    assert.match(log.sockets[0]?.url() ?? '', new RegExp(`/v1/realtime\\?model=kb%3A${kbId}$`));
    await panel.getByRole('status').getByText(/Listening…|You’re speaking…/).waitFor();
    // ~100 ms of 24 kHz pcm16 per append.
    const append = await log.waitFor('input_audio_buffer.append', () => log.sent('input_audio_buffer.append')[0], 5_000);
    assert.equal(Buffer.from(append.event['audio'], 'base64').length, 4_800);
  });

  await t.test('the first question: speech found, words shown while speaking, the answer spoken and stored', async () => {
    const started = await log.waitFor('speech_started', () => log.received('input_audio_buffer.speech_started')[0]);
    await page.getByText(/^“a+…”$|^You said: “a+”$/).first().waitFor({ timeout: 15_000 });
    const stopped = await log.waitFor('speech_stopped', () => log.received('input_audio_buffer.speech_stopped')[0]);
    assert.equal(stopped.event['item_id'], started.event['item_id']);
    const partials = log.received('conversation.item.input_audio_transcription.delta');
    t.diagnostic(`${partials.length} partial transcript events before the final one`);
    const final = await log.waitFor('transcription.completed', () => log.received('conversation.item.input_audio_transcription.completed')[0]);
    assert.match(final.event['transcript'], /^a+$/, 'the tiny recogniser hears speech as a run of a’s');
    await panel.getByText(`You said: “${final.event['transcript']}”`).waitFor();

    const done = await log.waitFor('response.done', () => log.received('response.done')[0]);
    assert.equal(done.event['response'].status, 'completed', log.timeline());
    const answer = page.locator('.turn').first();
    await answer.locator('.question').getByText(final.event['transcript'], { exact: true }).waitFor();
    await answer.locator('.answer-text').getByText(/no passage/).waitFor();
    conversationId = done.event['response'].metadata.lectern_conversation_id;
    await page.waitForURL(new RegExp(`/chat/${conversationId}$`));

    // The answer is heard: the playback worklet's count of played frames grows past a second of speech.
    await page.waitForFunction(() => Number(document.querySelector('section.voice')?.getAttribute('data-played-frames')) > 24_000, null, { timeout: 15_000 });
    // …and plays out before the second question (nothing to interrupt yet).
    await page.waitForFunction(() => document.querySelector('section.voice')?.getAttribute('data-queued-frames') === '0', null, { timeout: 15_000 });
    assert.equal(log.sent('conversation.item.truncate').length, 0, 'an answer heard to the end is not truncated');
    // The state line followed the turn: (listening) → you're speaking → thinking → speaking → listening.
    const turn = phases.slice(phases.indexOf('user-speaking'));
    assert.deepEqual(turn.slice(0, 4), ['user-speaking', 'thinking', 'speaking', 'listening'], `the state line went ${phases.join(' → ')}`);
  });

  await t.test('the spoken answer can be rated, and shows how long it took after the question ended', async () => {
    const done = log.received('response.done')[0]?.event['response'];
    const messageId = done?.metadata?.lectern_message_id as string;
    assert.ok(messageId, 'response.done names the stored answer');
    const answer = page.locator('.turn').first().locator('.answer');
    // The timings the server measured, in the answer's details: the wait after speech ended up front.
    const metrics = metricsFromRealtime(done.metadata.lectern_metrics, null);
    assert.ok(metrics && metrics.speechEndToFirstAudioMs !== null && metrics.audioInSeconds > 0, JSON.stringify(done.metadata.lectern_metrics));
    const summary = answer.locator('.answer-voice summary');
    await summary.waitFor();
    assert.equal(await summary.textContent(), `Voice timings: ${voiceTimings(metrics).summary}`);
    assert.match(voiceTimings(metrics).summary, /^Heard \d+\.\d s · transcript [\d.]+ m?s · first word [\d.]+ m?s · first audio [\d.]+ m?s after you stopped$/);
    t.diagnostic(`first turn: ${voiceTimings(metrics).summary}`);
    await summary.click();
    await answer.locator('.answer-voice dt', { hasText: 'First audio' }).waitFor();

    const helpful = answer.getByRole('button', { name: 'Helpful', exact: true });
    await helpful.click();
    await page.getByText('Thanks, your feedback was saved.').waitFor();
    assert.equal(await helpful.getAttribute('aria-pressed'), 'true');
    const stored = (await owner.get(`/api/v1/conversations/${conversationId}`)).json.messages.find((m: Event) => m['id'] === messageId);
    assert.equal(stored?.feedback?.rating, 'up', 'the thumbs-up is stored with the spoken answer');
    assert.equal(stored?.voice?.speechEndToFirstAudioMs, metrics.speechEndToFirstAudioMs, 'the same timings are stored with it');
  });

  await t.test('speaking over the second answer stops it at once and tells the server how much was heard', async () => {
    const firstDone = log.received('response.done').length;
    // The second question's answer starts playing…
    const secondAudio = await log.waitFor('the second answer’s audio', () => log.received('response.output_audio.delta').find((f) => f.event['response_id'] !== log.received('response.done')[0]?.event['response']?.id), 40_000);
    const answering = secondAudio.event['response_id'] as string;
    await page.waitForFunction(() => Number(document.querySelector('section.voice')?.getAttribute('data-queued-frames')) > 0, null, { timeout: 10_000 });
    // …and the looped question interrupts it.
    const barge = await log.waitFor('speech_started during the answer', () => log.received('input_audio_buffer.speech_started').find((f) => f.at > secondAudio.at), 20_000);
    const truncate = await log.waitFor('conversation.item.truncate', () => log.sent('conversation.item.truncate').find((f) => f.at >= barge.at), 5_000);
    assert.equal(truncate.event['item_id'], secondAudio.event['item_id'], 'the assistant item whose audio was playing');
    assert.equal(truncate.event['content_index'], 0);
    assert.ok(truncate.event['audio_end_ms'] > 0, `some of the answer was heard (${truncate.event['audio_end_ms']} ms)`);
    // What was heard cannot exceed what was sent.
    const sentMs = log.received('response.output_audio.delta').filter((f) => f.event['response_id'] === answering).reduce((ms, f) => ms + Buffer.from(f.event['delta'], 'base64').length / 48, 0);
    assert.ok(truncate.event['audio_end_ms'] <= sentMs + 50, `${truncate.event['audio_end_ms']} ms heard of ${Math.round(sentMs)} ms sent`);

    // The page stopped playing at once: the queue is empty and the played count stands still.
    await page.waitForFunction(() => document.querySelector('section.voice')?.getAttribute('data-queued-frames') === '0', null, { timeout: 1_000 });
    const played = await counter(page, 'played');
    await page.waitForTimeout(1_000);
    assert.equal(await counter(page, 'played'), played, 'nothing more of the interrupted answer plays');
    await panel.getByRole('status').getByText('You’re speaking…').waitFor();

    // The server cancels the answer it was still giving.
    const cancelled = await log.waitFor('response.done cancelled', () => log.received('response.done', firstDone).find((f) => f.event['response'].id === answering), 10_000);
    assert.equal(cancelled.event['response'].status, 'cancelled', log.timeline());
    assert.ok(cancelled.at >= barge.at, 'after the speech that interrupted it');
    // The server keeps what was heard and says so; the thread shows that text, marked as talked over.
    const truncated = await log.waitFor('conversation.item.truncated', () => log.received('conversation.item.truncated').find((f) => f.at >= barge.at), 5_000);
    await page.locator('.turn').nth(1).locator('.answer-stopped').getByText('Interrupted', { exact: true }).waitFor();
    assert.equal(truncated.event['lectern_message_id'], cancelled.event['response'].metadata.lectern_message_id);
  });

  await t.test('a dropped connection comes back with resume=<session id> and the conversation goes on', async () => {
    // Let the turn after the barge-in finish, so nothing is in flight when the line drops.
    await log.waitFor('the third response.done', () => log.received('response.done')[2], 20_000);
    const sessionId = log.received('session.created')[0]?.event['session'].id as string;
    const sockets = log.sockets.length;
    await page.evaluate(() => (window as unknown as { __lecternSockets: WebSocket[] }).__lecternSockets.at(-1)?.close());
    const resumed = await log.waitFor('lectern.session.resumed', () => log.received('lectern.session.resumed')[0], 15_000);
    assert.equal(log.sockets.length, sockets + 1, 'one new socket');
    assert.match(log.sockets.at(-1)?.url() ?? '', new RegExp(`[?&]resume=${sessionId}(&|$)`));
    assert.equal(log.received('session.created').at(-1)?.event['session'].id, sessionId, 'the same session');
    assert.deepEqual([resumed.event['session_id'], resumed.event['conversation_id']], [sessionId, conversationId]);
    assert.ok(phases.includes('reconnecting'), `the state line said so: ${phases.join(' → ')}`);
    assert.equal(log.sent('session.update').length, 2, 'the settings are sent again on the new socket');
    // The next spoken question is answered in the same conversation, on the same page.
    const next = await log.waitFor('a response on the resumed session', () => log.received('response.done').find((f) => f.at > resumed.at), 30_000);
    assert.equal(next.event['response'].metadata.lectern_conversation_id, conversationId, log.timeline());
    assert.match(page.url(), new RegExp(`/chat/${conversationId}$`));
    await page.locator('.turn').nth(3).waitFor();
  });

  await t.test('Stop voice closes the session; no script errors or CSP violations', async () => {
    await page.screenshot({ path: path.join(resultsDir, 'voice-desktop.png') });
    await panel.getByRole('button', { name: 'Stop voice' }).click();
    await panel.getByRole('button', { name: 'Start voice' }).waitFor();
    await page.waitForFunction(() => document.querySelector('section.voice')?.getAttribute('data-phase') === 'off');
    assert.deepEqual(problems, []);
  });

  await t.test('the conversation loaded again: spoken answers keep their timings and feedback; the interrupted one reads as heard', async () => {
    const stored = (await owner.get(`/api/v1/conversations/${conversationId}`)).json.messages.filter((m: Event) => m['role'] === 'assistant');
    assert.equal(stored[1]?.incomplete, 'truncated', 'the second answer was cut to what was heard');
    await page.reload();
    const first = page.locator('.turn').first();
    await first.locator('.answer-voice summary').getByText(/after you stopped/).waitFor();
    assert.equal(await first.getByRole('button', { name: 'Helpful', exact: true }).getAttribute('aria-pressed'), 'true');
    const second = page.locator('.turn').nth(1);
    await second.locator('.answer-stopped').getByText('Interrupted', { exact: true }).waitFor();
    await second.getByText('Kept what was heard; you spoke over the rest.').waitFor();
    assert.equal((await second.locator('.answer-text').textContent())?.trim(), stored[1].content.trim(), 'the answer as heard, not as written');
    await first.locator('.answer-voice summary').click();
    await first.locator('.answer-voice dt', { hasText: 'Spoken answer' }).waitFor();
    await page.screenshot({ path: path.join(resultsDir, 'voice-stored.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  await t.test('voice started on an open conversation continues it', async () => {
    const conversationId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    const sockets = log.sockets.length;
    await panel.getByRole('button', { name: 'Start voice' }).click();
    await page.waitForFunction(() => document.querySelector('section.voice')?.getAttribute('data-phase') !== 'connecting');
    assert.match(log.sockets[sockets]?.url() ?? '', new RegExp(`&conversation=${conversationId}$`));
    await panel.getByRole('button', { name: 'Stop voice' }).click();
    await panel.getByRole('button', { name: 'Start voice' }).waitFor();
    assert.deepEqual(problems, []);
  });
});

test('without speech recognition the state line gives the server’s reason', { skip: !hasEspeak && 'espeak-ng is not installed', timeout: 60_000 }, async (t) => {
  const deaf = await startTestServer({ env: { STT_MODEL: 'off', TTS_MODEL: 'espeak' } });
  t.after(() => deaf.close());
  const { owner: someone } = await setUp(deaf.url);
  const kb = (await someone.post('/api/v1/kbs', { name: KB })).json.id as string;
  const { context, page, problems } = await openAs(browser, someone, deaf.url);
  t.after(() => context.close());
  await page.goto(`${deaf.url}/kbs/${kb}/chat`);
  const panel = voice(page);
  await panel.getByRole('button', { name: 'Start voice' }).click();
  const state = panel.getByRole('status');
  await state.getByText('Error: Speech recognition is not available: speech recognition is turned off.').waitFor({ timeout: 20_000 });
  assert.equal(await panel.getAttribute('data-phase'), 'error');
  assert.equal(await page.locator('.turn').count(), 0, 'an utterance nobody could transcribe is no turn');
  await panel.getByRole('button', { name: 'Stop voice' }).click();
  await panel.getByRole('button', { name: 'Start voice' }).waitFor();
  assert.deepEqual(problems, []);
});

test('voice on a phone: the controls fit and push-to-talk sends a turn when let go', { skip: !hasEspeak && 'espeak-ng is not installed', timeout: 60_000 }, async (t) => {
  const { context, page, problems } = await openAs(browser, owner, server.url, { width: 390, height: 844 });
  t.after(() => context.close());
  const log = new SocketLog();
  log.watch(page);
  await page.goto(`${server.url}/kbs/${kbId}/chat`);
  await heading(page, `Ask “${KB}”`).waitFor();
  const panel = voice(page);
  const inView = async (name: string, locator: Locator) => {
    await locator.waitFor();
    const box = await locator.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.y >= 0 && box.y + box.height <= 844, `${name} is on screen: ${JSON.stringify(box)}`);
    assert.ok(box.height >= 24, `${name} is big enough to tap (${box.height} px)`);
  };
  await inView('Start voice', panel.getByRole('button', { name: 'Start voice' }));
  await inView('Push to talk', panel.locator('label', { hasText: 'Push to talk' }));
  await inView('the microphone picker', panel.getByRole('combobox', { name: 'Microphone' }));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scroll on a phone (${overflow} px)`);
  await page.screenshot({ path: path.join(resultsDir, 'voice-phone-off.png') });

  await panel.locator('label', { hasText: 'Push to talk' }).click();
  assert.equal(await panel.getByRole('radio', { name: 'Push to talk' }).isChecked(), true);
  await panel.getByRole('button', { name: 'Start voice' }).click();
  const talk = panel.getByRole('button', { name: 'Hold to talk' });
  await inView('Hold to talk', talk);
  await log.waitFor('session.update', () => log.sent('session.update').find((f) => f.event['session'].audio.input.turn_detection === null), 10_000);
  await panel.getByRole('status').getByText(/Hold the talk button/).waitFor();
  assert.equal(log.sent('input_audio_buffer.append').length, 0, 'nothing is sent until the button is held');

  // Hold for four seconds: long enough for the question in the looped file.
  const box = await talk.boundingBox();
  assert.ok(box);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await panel.getByRole('status').getByText('You’re speaking…').waitFor();
  assert.equal(await talk.getAttribute('aria-pressed'), 'true');
  await page.waitForTimeout(4_000);
  await page.mouse.up();
  const commit = await log.waitFor('input_audio_buffer.commit', () => log.sent('input_audio_buffer.commit')[0], 5_000);
  assert.ok(log.sent('input_audio_buffer.append').length >= 30, 'about 4 s of audio was sent while held');
  assert.ok(log.sent('input_audio_buffer.append').every((f) => f.at <= commit.at), 'and none after the commit');
  const done = await log.waitFor('response.done', () => log.received('response.done')[0], 30_000);
  assert.equal(done.event['response'].status, 'completed', log.timeline());
  await page.locator('.turn .answer-text').getByText(/no passage/).waitFor();
  await page.screenshot({ path: path.join(resultsDir, 'voice-phone.png') });
  const after = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(after <= 0, `still no horizontal scroll with voice on (${after} px)`);
  assert.deepEqual(problems, []);
});

test('a refused connection says why at once and stops retrying', { skip: !hasEspeak && 'espeak-ng is not installed', timeout: 90_000 }, async (t) => {
  /** Starts voice on a page whose upgrade will be refused; returns how long the reason took and the sockets opened by then and 3 s later. */
  const refused = async (page: Page, log: SocketLog, reason: RegExp | string) => {
    const panel = voice(page);
    const clicked = Date.now();
    await panel.getByRole('button', { name: 'Start voice' }).click();
    await panel.getByRole('status').getByText(typeof reason === 'string' ? `Error: ${reason}` : reason).waitFor({ timeout: 5_000 });
    const took = Date.now() - clicked;
    assert.equal(await panel.getAttribute('data-phase'), 'error');
    await panel.getByRole('button', { name: 'Start voice' }).waitFor();
    const sockets = log.sockets.length;
    // The backoff would have opened two more by now (0.5 s, then 1 s).
    await page.waitForTimeout(3_000);
    return { took, sockets, later: log.sockets.length };
  };
  // A refused handshake is logged by Chromium itself; nothing else may be.
  const own = (problems: string[]) => problems.filter((p) => !/WebSocket connection to '.*\/v1\/realtime\?.*' failed/.test(p));

  await t.test('a conversation deleted since the page opened', async () => {
    const asked = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'Is eye protection needed?' });
    const gone = asked.json.conversationId as string;
    const { context, page, problems } = await openAs(browser, owner, server.url);
    t.after(() => context.close());
    const log = new SocketLog();
    log.watch(page);
    await page.goto(`${server.url}/kbs/${kbId}/chat/${gone}`);
    await page.locator('.turn').first().waitFor();
    assert.equal((await owner.delete(`/api/v1/conversations/${gone}`)).status, 204);
    const r = await refused(page, log, CONVERSATION_GONE);
    t.diagnostic(`conversation gone: said so in ${r.took} ms`);
    assert.match(log.sockets[0]?.url() ?? '', new RegExp(`&conversation=${gone}$`));
    assert.deepEqual([r.sockets, r.later], [1, 1], 'one refused socket, and no retries');
    assert.deepEqual(own(problems), []);
  });

  await t.test('a knowledge base deleted since the page opened', async () => {
    const doomed = (await owner.post('/api/v1/kbs', { name: 'Soon gone' })).json.id as string;
    const { context, page, problems } = await openAs(browser, owner, server.url);
    t.after(() => context.close());
    const log = new SocketLog();
    log.watch(page);
    await page.goto(`${server.url}/kbs/${doomed}/chat`);
    await heading(page, 'Ask “Soon gone”').waitFor();
    assert.equal((await owner.delete(`/api/v1/kbs/${doomed}`)).status, 204);
    const r = await refused(page, log, KB_GONE);
    t.diagnostic(`knowledge base gone: said so in ${r.took} ms`);
    assert.deepEqual([r.sockets, r.later], [1, 1], 'one refused socket, and no retries');
    assert.deepEqual(own(problems), []);
  });

  await t.test('a session signed out elsewhere: the console asks to sign in again', async () => {
    const elsewhere = await signedIn(server.url, OWNER.email, OWNER.password);
    const { context, page, problems } = await openAs(browser, elsewhere, server.url);
    t.after(() => context.close());
    const log = new SocketLog();
    log.watch(page);
    await page.goto(`${server.url}/kbs/${kbId}/chat`);
    await heading(page, `Ask “${KB}”`).waitFor();
    // The browser keeps its cookie; the server no longer knows it.
    assert.equal((await elsewhere.post('/api/v1/auth/logout')).status, 204);
    const clicked = Date.now();
    await voice(page).getByRole('button', { name: 'Start voice' }).click();
    // The session handling takes over, as for any call that finds the session gone.
    await page.getByRole('status').getByText('Your session has ended. Sign in again to continue.').waitFor({ timeout: 5_000 });
    t.diagnostic(`signed out: sign-in page in ${Date.now() - clicked} ms`);
    await page.waitForURL(/\/login\?next=/);
    await page.waitForTimeout(3_000);
    assert.equal(log.sockets.length, 1, 'one refused socket, and no retries');
    assert.deepEqual(own(problems), []);
  });
});

test('the voice code is fetched when voice is started, not with the page; a failed fetch says so and Start tries again', { skip: !hasEspeak && 'espeak-ng is not installed', timeout: 60_000 }, async (t) => {
  const { context, page, problems } = await openAs(browser, owner, server.url);
  t.after(() => context.close());
  const fetched: string[] = [];
  page.on('request', (r) => void (/\/assets\/voice-live-\w+\.js$/.test(new URL(r.url()).pathname) && fetched.push(r.url())));
  // The first fetch fails, as it would for a tab left open across an upgrade that removed the chunk.
  let refuse = true;
  await page.route(/\/assets\/voice-live-\w+\.js$/, (route) => (refuse ? route.fulfill({ status: 404, body: '' }) : route.continue()));
  await page.goto(`${server.url}/kbs/${kbId}/chat`);
  const panel = voice(page);
  await panel.getByLabel('Microphone').waitFor();
  await page.waitForLoadState('networkidle');
  assert.deepEqual(fetched, [], 'the page loads without the voice code');

  await panel.getByRole('button', { name: 'Start voice' }).click();
  await panel.getByRole('status').getByText(/^Error: Voice could not be loaded/).waitFor();
  assert.equal(await panel.getAttribute('data-phase'), 'error');
  refuse = false;
  await panel.getByRole('button', { name: 'Start voice' }).click();
  await panel.getByRole('button', { name: 'Stop voice' }).waitFor();
  await panel.getByRole('status').getByText(/Listening…|You’re speaking…/).waitFor({ timeout: 10_000 });
  assert.equal(fetched.length, 2, 'fetched again after the failure');
  await panel.getByRole('button', { name: 'Stop voice' }).click();
  await panel.getByRole('button', { name: 'Start voice' }).waitFor();
  // Chromium reports the failed dynamic import itself; nothing else may be logged.
  assert.deepEqual(problems.filter((p) => !/Failed to fetch dynamically imported module/.test(p)), []);
});
