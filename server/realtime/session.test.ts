import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../errors.ts';
import { float32ToPcm16 } from '../speech/resample.ts';
import { loadSileroVadModel } from '../speech/vad.ts';
import { clientEvent } from './protocol.ts';
import { RealtimeSession } from './session.ts';

describe('client events', () => {
  it('accepts the supported events and rejects bad ones', () => {
    assert.ok(clientEvent.safeParse({ type: 'input_audio_buffer.append', audio: 'AAAA' }).success);
    assert.ok(clientEvent.safeParse({ type: 'session.update', session: { audio: { input: { format: { type: 'audio/pcm', rate: 16000 }, turn_detection: null } } } }).success);
    assert.equal(clientEvent.safeParse({ type: 'session.update', session: { audio: { input: { format: { type: 'audio/pcm', rate: 44100 } } } } }).success, false);
    assert.equal(clientEvent.safeParse({ type: 'input_audio_buffer.append', audio: 'not base64!' }).success, false);
    assert.equal(clientEvent.safeParse({ type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'x' }] } }).success, false);
  });
});

describe('realtime session (audio, no STT)', () => {
  it('commits manually when turn detection is off and names the missing STT model', async () => {
    const vad = await loadSileroVadModel();
    const sent: Array<Record<string, any>> = [];
    const failures: unknown[] = [];
    let n = 0;
    const session = new RealtimeSession({
      acting: { principal: {} as never, ip: null },
      kbId: 'kb',
      model: 'kb:kb',
      answers: { ask: () => Promise.reject(new Error('no answer expected')), prepare: () => Promise.resolve(0), truncate: () => Promise.reject(new Error('no truncate expected')), recordVoice: () => Promise.resolve() },
      speech: { vad, stt: null, sttReason: 'STT model x is not installed in MODELS_DIR: run npm run models', tts: null },
      newId: (prefix) => `${prefix}_${++n}`,
      send: (event) => sent.push(event),
      fail: (err) => failures.push(err),
    });
    session.start();
    assert.equal(sent[0]?.['session'].output_modalities[0], 'text', 'no voice: text only');
    const send = (event: unknown) => session.handle(clientEvent.parse(event));
    send({ type: 'session.update', session: { audio: { input: { format: { type: 'audio/pcm', rate: 16000 }, turn_detection: null } } } });
    send({ type: 'input_audio_buffer.commit' });
    const pcm = float32ToPcm16(new Float32Array(16_000).map((_, i) => 0.1 * Math.sin(i / 5)));
    send({ type: 'input_audio_buffer.append', audio: Buffer.from(pcm.buffer).toString('base64') });
    send({ type: 'input_audio_buffer.commit' });
    send({ type: 'input_audio_buffer.clear' });
    for (let i = 0; i < 100 && sent.at(-1)?.['type'] !== 'input_audio_buffer.cleared'; i++) await new Promise((r) => setTimeout(r, 10));
    await session.close();
    await vad.close();
    assert.deepEqual(sent.map((e) => e['type']), ['session.created', 'session.updated', 'input_audio_buffer.committed', 'input_audio_buffer.cleared']);
    assert.equal(sent[1]?.['session'].audio.input.turn_detection, null);
    assert.deepEqual(failures.map((e) => (e as AppError).code), ['bad_request', 'stt_unavailable']);
    assert.match((failures[1] as Error).message, /npm run models/);
  });
});

describe('realtime session input backlog', () => {
  it('counts events waiting to be handled, and says when the backlog has drained', async () => {
    const vad = await loadSileroVadModel();
    const session = new RealtimeSession({
      acting: { principal: {} as never, ip: null },
      kbId: 'kb',
      model: 'kb:kb',
      answers: { ask: () => Promise.reject(new Error('no answer expected')), prepare: () => Promise.resolve(0), truncate: () => Promise.reject(new Error('no truncate expected')), recordVoice: () => Promise.resolve() },
      speech: { vad, stt: null, tts: null },
      newId: (prefix) => `${prefix}_1`,
      send: () => {},
      fail: (err) => assert.fail(String(err)),
    });
    const frame = Buffer.from(float32ToPcm16(new Float32Array(2_400).map((_, i) => 0.01 * Math.sin(i / 3))).buffer).toString('base64');
    for (let i = 0; i < 100; i++) session.handle(clientEvent.parse({ type: 'input_audio_buffer.append', audio: frame }));
    assert.equal(session.pending, 100, 'nothing is handled synchronously');
    await session.drained(16);
    assert.ok(session.pending <= 16, `${session.pending} still waiting`);
    await session.drained(0);
    assert.equal(session.pending, 0);
    await session.close();
    await vad.close();
  });
});

describe('realtime session responses', () => {
  it('takes the next response as soon as response.done is out, while the last one is still being recorded', async () => {
    const vad = await loadSileroVadModel();
    const sent: Array<Record<string, any>> = [];
    const failures: unknown[] = [];
    let n = 0;
    // Recording a turn's metrics waits on a slow store (a MongoDB across a network) until released.
    let release!: () => void;
    const slowStore = new Promise<void>((resolve) => (release = resolve));
    const recorded: string[] = [];
    const session = new RealtimeSession({
      acting: { principal: {} as never, ip: null },
      kbId: 'kb',
      model: 'kb:kb',
      answers: {
        ask: async (_acting, _kbId, _input, handlers) => {
          const messageId = `msg_${++n}`;
          handlers?.onMessage?.({ _id: messageId } as never);
          handlers?.onEvent?.({ type: 'delta', text: 'Remove the chuck key.' } as never);
          return { answer: { citations: [], usage: { promptTokens: 3, completionTokens: 4 } } } as never;
        },
        prepare: () => Promise.resolve(0),
        truncate: () => Promise.reject(new Error('no truncate expected')),
        recordVoice: async (_acting, messageId) => {
          await slowStore;
          recorded.push(messageId);
        },
      },
      speech: { vad, stt: null, tts: null },
      newId: (prefix) => `${prefix}_${++n}`,
      send: (event) => sent.push(event),
      fail: (err) => failures.push(err),
    });
    session.start();
    const send = (event: unknown) => session.handle(clientEvent.parse(event));
    const doneEvents = () => sent.filter((e) => e['type'] === 'response.done');
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(check(), 'in time');
    };
    for (const question of ['What must be removed?', 'And then?']) {
      const before = doneEvents().length;
      send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: question }] } });
      send({ type: 'response.create' });
      await until(() => doneEvents().length === before + 1 || failures.length > 0);
    }
    assert.deepEqual(failures, [], 'the second response.create was not refused while the first was being recorded');
    assert.deepEqual(doneEvents().map((e) => e['response'].status), ['completed', 'completed']);
    assert.deepEqual(recorded, [], 'both still being recorded');
    const closed = session.close();
    release();
    await closed;
    assert.equal(recorded.length, 2, 'closing waits for both recordings');
    await vad.close();
  });
});
