import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { ApiError } from '../api.ts';
import type { Turn } from '../chat-model.ts';
import { RECONNECT } from './backoff.ts';
import { bytesToBase64, pcm16ToBytes } from './pcm.ts';
import { CLOSE_QUOTA, GAVE_UP, IDLE_NOTICE, QUOTA_NOTICE, RealtimeClient, REFUSED, type Clock, type RealtimeDeps, type SocketLike } from './realtime-client.ts';
import type { RefusalLookups } from './refusal.ts';
import type { VoiceState } from './voice-model.ts';

/** A socket the test drives: it opens, delivers and drops when told to, and records what was sent. */
class FakeSocket implements SocketLike {
  url: string;
  readyState = 0;
  bufferedAmount = 0;
  sent: Array<Record<string, unknown>> = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  constructor(url: string) {
    this.url = url;
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.drop(code ?? 1005, reason ?? '');
  }
  receive(event: Record<string, unknown>): void {
    this.readyState = 1;
    this.onmessage?.({ data: JSON.stringify(event) } as MessageEvent);
  }
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
  types(): unknown[] {
    return this.sent.map((e) => e['type']);
  }
}

/** Timers that run when the test moves time on. */
class FakeClock implements Clock {
  now = 0;
  #next = 1;
  #timers = new Map<number, { at: number; run: () => void }>();
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + ms, run });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.now);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].run();
    }
    this.now = until;
  }
}

const here = { protocol: 'https:', host: 'lectern.test' };
const found: RefusalLookups = { kb: async () => ({}), conversation: async () => ({ kbId: 'kb1' }) };
const settle = () => new Promise((resolve) => setImmediate(resolve));

function harness(lookups: RefusalLookups = found) {
  const sockets: FakeSocket[] = [];
  const clock = new FakeClock();
  const states: VoiceState[] = [];
  const turns: Array<{ turn: Turn; conversationId: string | null }> = [];
  const audio: Array<{ itemId: string; pcm: Int16Array }> = [];
  const truncated: string[] = [];
  let speechStarted = 0;
  const deps: RealtimeDeps = {
    WebSocket: class extends FakeSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    },
    location: here,
    clock,
    lookups,
    random: () => 0,
  };
  const client = new RealtimeClient('kb1', deps, {
    onState: (s) => states.push(s),
    onAudio: (itemId, pcm) => audio.push({ itemId, pcm }),
    onSpeechStarted: () => speechStarted++,
    onTurn: (turn, conversationId) => turns.push({ turn, conversationId }),
    onTruncated: (messageId, heard) => truncated.push(`${messageId}: ${heard}`),
  });
  const socket = () => {
    const last = sockets.at(-1);
    assert.ok(last, 'a socket was opened');
    return last;
  };
  return { client, sockets, socket, clock, states, turns, audio, truncated, speechStarted: () => speechStarted };
}

const created = (id = 'sess_1') => ({ type: 'session.created', session: { id, audio: { output: { voice: 'alba' } } } });

test('start opens the socket on this origin, continuing the page’s conversation; session.created sends the mode', () => {
  const h = harness();
  h.client.conversationId = 'conv_1';
  h.client.mode = 'push-to-talk';
  h.client.start();
  assert.equal(h.socket().url, 'wss://lectern.test/v1/realtime?model=kb%3Akb1&conversation=conv_1');
  assert.equal(h.client.state.connection, 'connecting');
  assert.equal(h.client.sendAudio(new Int16Array(10)), false, 'nothing is sent before the session exists');

  h.socket().receive(created());
  assert.equal(h.client.state.connection, 'open');
  assert.equal(h.client.state.sessionId, 'sess_1');
  const update = h.socket().sent[0] as { type: string; session: { audio: { input: { turn_detection: unknown } } } };
  assert.equal(update.type, 'session.update');
  assert.equal(update.session.audio.input.turn_detection, null, 'push-to-talk: the console ends turns');

  h.client.mode = 'hands-free';
  h.client.mode = 'hands-free';
  assert.deepEqual(h.socket().types(), ['session.update', 'session.update'], 'a change of mode is told once');
  assert.equal(h.client.sendAudio(new Int16Array([1, -1])), true);
  h.client.commit();
  h.client.clear();
  h.client.cancel();
  h.client.truncate('item_9', 1234.4);
  assert.deepEqual(h.socket().types().slice(2), ['input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'response.cancel', 'conversation.item.truncate']);
  assert.equal(h.socket().sent.at(-1)?.['audio_end_ms'], 1234);
});

test('a network that is not keeping up drops audio rather than queueing it', () => {
  const h = harness();
  h.client.start();
  h.socket().receive(created());
  h.socket().bufferedAmount = 600 * 1024;
  assert.equal(h.client.sendAudio(new Int16Array(2400)), false);
  h.socket().bufferedAmount = 0;
  assert.equal(h.client.sendAudio(new Int16Array(2400)), true);
});

test('events: answer audio to the speakers, barge-in silences the answer, finished turns to the thread', () => {
  const h = harness();
  h.client.start();
  const ws = h.socket();
  ws.receive(created());
  const pcm = new Int16Array([100, -200, 300]);
  const audioDelta = (responseId: string) => ({ type: 'response.output_audio.delta', response_id: responseId, item_id: 'item_2', delta: bytesToBase64(pcm16ToBytes(pcm)) });

  ws.receive({ type: 'input_audio_buffer.committed', item_id: 'item_1' });
  ws.receive({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_1', transcript: 'Who can develop it?' });
  ws.receive({ type: 'response.created', response: { id: 'resp_1' } });
  const shown = h.states.length;
  ws.receive(audioDelta('resp_1'));
  assert.deepEqual(h.audio.map((a) => [a.itemId, [...a.pcm]]), [['item_2', [100, -200, 300]]]);
  assert.equal(h.states.length, shown, 'audio changes nothing on screen');

  ws.receive({ type: 'input_audio_buffer.speech_started', item_id: 'item_3' });
  assert.equal(h.speechStarted(), 1);
  ws.receive(audioDelta('resp_1'));
  assert.equal(h.audio.length, 1, 'audio of an answer talked over does not play');

  ws.receive({ type: 'conversation.item.truncated', item_id: 'item_2', lectern_message_id: 'msg_1', lectern_text: 'Anyone' });
  assert.deepEqual(h.truncated, ['msg_1: Anyone']);
  ws.receive({ type: 'input_audio_buffer.committed', item_id: 'item_3' });
  ws.receive({ type: 'response.done', response: { id: 'resp_1', status: 'cancelled', metadata: { lectern_conversation_id: 'conv_7', lectern_message_id: 'msg_1' } } });
  assert.equal(h.turns.length, 1);
  assert.equal(h.turns[0]?.turn.question, 'Who can develop it?');
  assert.equal(h.turns[0]?.turn.reply?.status, 'cancelled');
  assert.equal(h.turns[0]?.conversationId, 'conv_7');
  assert.equal(h.client.state.turns.length, 1, 'only the new utterance is live');

  ws.receive({ type: 'response.created', response: { id: 'resp_2' } });
  ws.receive(audioDelta('resp_2'));
  assert.equal(h.audio.length, 2, 'the next answer plays');
  ws.onmessage?.({ data: 'not json' } as MessageEvent);
  ws.onmessage?.({ data: new ArrayBuffer(4) } as MessageEvent);
});

test('a dropped session comes back with resume=<session id> after the backoff, and the backoff starts over', () => {
  const h = harness();
  h.client.conversationId = 'conv_1';
  h.client.start();
  h.socket().receive(created());
  h.socket().drop();
  assert.equal(h.client.state.connection, 'reconnecting');
  assert.deepEqual(h.clock.pending, [RECONNECT.baseMs]);
  h.clock.advance(RECONNECT.baseMs - 1);
  assert.equal(h.sockets.length, 1);
  h.clock.advance(1);
  assert.equal(h.socket().url, 'wss://lectern.test/v1/realtime?model=kb%3Akb1&resume=sess_1', 'the resumed session keeps its own conversation');
  h.socket().drop();
  return settle().then(() => {
    assert.deepEqual(h.clock.pending, [RECONNECT.baseMs * RECONNECT.factor], 'the second retry waits longer');
    h.clock.advance(RECONNECT.baseMs * RECONNECT.factor);
    h.socket().receive(created());
    h.socket().receive({ type: 'lectern.session.resumed', conversation_id: 'conv_1' });
    assert.equal(h.client.state.connection, 'open');
    h.socket().drop();
    assert.deepEqual(h.clock.pending, [RECONNECT.baseMs], 'a session that opened resets the backoff');
  });
});

test('a socket refused before its session: a deleted knowledge base ends voice at once, no retries', async () => {
  const gone: RefusalLookups = { kb: () => Promise.reject(new ApiError({ status: 404, code: 'not_found', message: 'gone' })), conversation: found.conversation };
  const h = harness(gone);
  h.client.start();
  h.socket().drop();
  await settle();
  assert.equal(h.client.state.connection, 'failed');
  assert.equal(h.client.state.error?.code, 'kb_not_found');
  assert.deepEqual(h.clock.pending, []);
  assert.equal(h.sockets.length, 1);
});

test('retries used up: "busy" when the server answered the look-ups, "lost" when it did not', async () => {
  for (const [lookups, message] of [
    [found, REFUSED],
    [{ kb: () => Promise.reject(new TypeError('Failed to fetch')), conversation: found.conversation }, GAVE_UP],
  ] as const) {
    const h = harness(lookups);
    h.client.start();
    for (let attempt = 0; attempt <= RECONNECT.attempts; attempt++) {
      h.socket().drop();
      await settle();
      h.clock.advance(RECONNECT.maxMs);
    }
    assert.equal(h.sockets.length, RECONNECT.attempts + 1);
    assert.equal(h.client.state.connection, 'failed');
    assert.deepEqual(h.client.state.error, { code: 'realtime_unreachable', message, fatal: true });
  }
});

test('the server ending the session: idle stops with a notice, the day’s quota fails; neither reconnects', () => {
  const idle = harness();
  idle.client.start();
  idle.socket().receive(created());
  idle.socket().drop(1000, 'idle timeout');
  assert.equal(idle.client.state.connection, 'off');
  assert.equal(idle.client.state.notice, IDLE_NOTICE);

  const quota = harness();
  quota.client.start();
  quota.socket().receive(created());
  quota.socket().drop(CLOSE_QUOTA, 'quota');
  assert.equal(quota.client.state.connection, 'failed');
  assert.deepEqual(quota.client.state.error, { code: 'rate_limited', message: QUOTA_NOTICE, fatal: true });
  for (const h of [idle, quota]) {
    assert.deepEqual(h.clock.pending, []);
    assert.equal(h.sockets.length, 1);
  }
});

test('stop closes the socket for good: a look-up still in flight and a pending retry are forgotten', async () => {
  const h = harness();
  h.client.start();
  h.socket().drop();
  h.client.stop();
  await settle();
  assert.deepEqual(h.clock.pending, [], 'the look-up answered after stop schedules nothing');
  assert.equal(h.client.state.connection, 'off');

  h.client.start();
  h.socket().receive(created());
  h.socket().drop();
  assert.equal(h.clock.pending.length, 1);
  h.client.stop('Bye.');
  assert.deepEqual(h.clock.pending, []);
  assert.equal(h.client.state.notice, 'Bye.');

  h.client.start();
  const ws = h.socket();
  h.client.fail('microphone_denied', 'Allow the microphone.');
  assert.deepEqual(ws.closedWith, { code: 1000, reason: 'voice stopped' });
  assert.equal(h.client.state.error?.code, 'microphone_denied');
  assert.equal(h.sockets.length, 3);
});

test('after dispose nothing more reaches the page', () => {
  const h = harness();
  h.client.start();
  const ws = h.socket();
  const shown = h.states.length;
  h.client.dispose();
  assert.deepEqual(ws.closedWith, { code: 1000, reason: 'voice stopped' });
  ws.receive(created());
  assert.equal(h.states.length, shown);
  assert.deepEqual(h.clock.pending, []);
});

test('over a real socket (Node’s WebSocket, the ws server): session, mode, audio, and a resume after the server drops it', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.after(() => wss.close());
  await once(wss, 'listening');
  const urls: string[] = [];
  const received: string[] = [];
  wss.on('connection', (socket, request) => {
    urls.push(request.url ?? '');
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string };
      received.push(event.type);
      // The first audio frame: the link breaks.
      if (event.type === 'input_audio_buffer.append' && urls.length === 1) socket.terminate();
    });
    socket.send(JSON.stringify(created('sess_real')));
  });
  const states: VoiceState[] = [];
  const client = new RealtimeClient(
    'kb1',
    {
      WebSocket: globalThis.WebSocket,
      location: { protocol: 'http:', host: `127.0.0.1:${(wss.address() as AddressInfo).port}` },
      clock: { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
      lookups: found,
      random: () => 1,
    },
    { onState: (s) => states.push(s), onAudio: () => {}, onSpeechStarted: () => {}, onTurn: () => {} },
  );
  t.after(() => client.dispose());
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(check());
  };
  client.start();
  await until(() => client.state.connection === 'open');
  await until(() => received.includes('session.update'));
  assert.equal(client.sendAudio(new Int16Array(2400)), true);
  await until(() => client.state.connection === 'reconnecting');
  await until(() => urls.length === 2 && client.state.connection === 'open');
  assert.match(urls[1] ?? '', /resume=sess_real/);
  assert.deepEqual(
    states.map((s) => s.connection).filter((c, i, all) => c !== all[i - 1]),
    ['connecting', 'open', 'reconnecting', 'open'],
  );
});
