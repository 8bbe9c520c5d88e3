import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Answer, Message, VoiceMetrics } from './api.ts';
import { announcement, applyAskEvent, cutShort, endReply, interruptedByListener, streamingReply, turnsFromMessages, withFeedback, withHeard, type Reply } from './chat-model.ts';

const cite = (n: number): Answer['citations'][number] => ({ n, chunkId: `c${n}`, documentId: 'd1', documentName: 'guide.txt', page: 2, pageLabel: 'ii', quote: `quote ${n}` });
/** A stored message's citation, as GET /conversations/:id sends it. */
const kept = (c: Answer['citations'][number]) => ({ ...c, removed: false as const });
const ANSWER: Answer = {
  conversationId: 'conv1',
  messageId: 'm2',
  answer: 'Wash hands [1].',
  mode: 'generative',
  incomplete: null,
  citations: [cite(1)],
  notCovered: false,
  related: [],
  engine: { name: 'local', kind: 'local', model: 'qwen', reason: 'policy local-only' },
  usage: { promptTokens: 10, completionTokens: 5, cachedPromptTokens: 0, firstTokenMs: 120, totalMs: 900, searches: 1, llmCalls: 2 },
};

const replay = (events: [string, unknown][]): Reply => events.reduce((r, [e, d]) => applyAskEvent(r, e, d), streamingReply());

test('a streamed answer: searches, deltas and citations, then done with the final text', () => {
  const partial = replay([
    ['search', { query: 'hand hygiene', k: 5, hits: 3 }],
    ['delta', { text: 'Wash ' }],
    ['delta', { text: 'hands [1' }],
    ['citation', { citation: cite(2) }],
    ['citation', { citation: cite(1) }],
    ['citation', { citation: cite(1) }],
    ['ping', {}],
  ]);
  assert.equal(partial.status, 'streaming');
  assert.equal(partial.text, 'Wash hands [1');
  assert.deepEqual(partial.searches, [{ query: 'hand hygiene', k: 5, hits: 3 }]);
  assert.deepEqual(
    partial.citations.map((c) => c.n),
    [1, 2],
    'deduplicated and in number order',
  );
  const done = applyAskEvent(partial, 'done', ANSWER);
  assert.equal(done.status, 'complete');
  assert.equal(done.text, 'Wash hands [1].');
  assert.equal(done.messageId, 'm2');
  assert.deepEqual(done.searches, partial.searches, 'the searches seen stay with the answer');
  assert.equal(done.sentToCloud, false);
});

test('an extractive answer arrives whole in done', () => {
  const done = replay([['done', { ...ANSWER, mode: 'extractive', engine: { name: 'extractive', kind: 'extractive', model: null, reason: 'no LLM installed' }, usage: { ...ANSWER.usage, firstTokenMs: null } }]]);
  assert.equal(done.text, 'Wash hands [1].');
  assert.equal(done.mode, 'extractive');
  assert.match(announcement(done), /No language model answered.*1 source\./);
});

test('an answer the documents do not cover keeps its related passages apart from its citations (#13)', () => {
  const done = replay([['delta', { text: "Your documents don't cover that." }], ['done', { ...ANSWER, answer: "Your documents don't cover that.", mode: 'extractive', citations: [], notCovered: true, related: [cite(1), cite(2)] }]]);
  assert.deepEqual([done.notCovered, done.citations, done.related.map((c) => c.n)], [true, [], [1, 2]]);
  assert.equal(announcement(done), "Your documents don't cover that; 2 related passages shown.");
  const [stored] = turnsFromMessages([message({ id: 'q', role: 'user', content: 'Parking?' }), message({ id: 'a', role: 'assistant', content: "Your documents don't cover that.", notCovered: true, related: [cite(3)] })]);
  assert.deepEqual([stored?.reply?.notCovered, stored?.reply?.related.map((c) => c.n)], [true, [3]]);
});

test('an error event fails the reply with its trace id; stop and cut-off streams end it', () => {
  const failed = replay([
    ['delta', { text: 'Partly' }],
    ['error', { error: { code: 'llm_unavailable', message: 'The model crashed.', traceId: 't-1' } }],
  ]);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error?.traceId, 't-1');
  assert.equal(failed.text, 'Partly', 'what was shown stays');
  assert.equal(endReply(failed, true, null), failed, 'an ended reply stays as it ended');

  const stopped = endReply(replay([['delta', { text: 'Half' }]]), true, null);
  assert.equal(stopped.status, 'cancelled');
  assert.equal(announcement(stopped), 'Answer stopped.');
  const cut = endReply(streamingReply(), false, null);
  assert.equal(cut.status, 'failed');
  assert.equal(cut.error?.code, 'stream_ended');
});

const message = (m: Partial<Message> & Pick<Message, 'id' | 'role' | 'content'>): Message => ({
  createdAt: '2025-01-01T00:00:00Z',
  status: 'complete',
  mode: null,
  incomplete: null,
  searches: [],
  citations: [],
  notCovered: false,
  related: [],
  engine: null,
  usage: null,
  shownChunkIds: [],
  sentToCloud: false,
  promptVersion: null,
  feedback: null,
  voice: null,
  ...m,
});

test('stored messages pair each question with the answer after it', () => {
  const turns = turnsFromMessages([
    message({ id: 'u1', role: 'user', content: 'First?' }),
    message({ id: 'a1', role: 'assistant', content: 'Yes [1].', mode: 'generative', citations: [kept(cite(1))], sentToCloud: true }),
    message({ id: 'u2', role: 'user', content: 'Second?' }),
    message({ id: 'a2', role: 'assistant', content: 'Par', status: 'cancelled' }),
    message({ id: 'u3', role: 'user', content: 'Third?' }),
  ]);
  assert.deepEqual(
    turns.map((t) => [t.key, t.question, t.reply?.messageId ?? null, t.reply?.status ?? null]),
    [
      ['u1', 'First?', 'a1', 'complete'],
      ['u2', 'Second?', 'a2', 'cancelled'],
      ['u3', 'Third?', null, null],
    ],
  );
  assert.equal(turns[0]?.reply?.sentToCloud, true);

  const rated = withFeedback(turns, message({ id: 'a1', role: 'assistant', content: '', feedback: { rating: 'down', comment: 'wrong', at: 'now', by: 'u' } }));
  assert.equal(rated[0]?.reply?.feedback?.rating, 'down');
  assert.equal(rated[1], turns[1], 'other turns are untouched');
});

const SPOKEN: VoiceMetrics = {
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
  stt: 'tiny-stt',
  voice: 'espeak-ng:en-us',
};

test('a stored spoken answer keeps its voice timings', () => {
  const [turn] = turnsFromMessages([message({ id: 'u1', role: 'user', content: 'aaa' }), message({ id: 'a1', role: 'assistant', content: 'The chuck key.', voice: SPOKEN })]);
  assert.deepEqual(turn?.reply?.voice, SPOKEN);
  assert.equal(streamingReply().voice, null);
});

test('an answer cut short says why: talked over, stopped, the length limit, or the engine failing', () => {
  const engine = { name: 'local', kind: 'local' as const, model: 'qwen', reason: 'policy local-only' };
  const stored = (m: Partial<Message>) => turnsFromMessages([message({ id: 'u', role: 'user', content: 'q' }), message({ id: 'a', role: 'assistant', content: 'The chuck', ...m })])[0]?.reply as Reply;

  // Spoken and cut to what was heard: whether the text had been written in full (complete) or not (cancelled).
  const heardWhole = stored({ incomplete: 'truncated', voice: SPOKEN, engine });
  assert.ok(interruptedByListener(heardWhole));
  assert.deepEqual(cutShort(heardWhole), { tag: 'Interrupted', text: 'Kept what was heard; you spoke over the rest.' });
  assert.equal(cutShort(stored({ status: 'cancelled', incomplete: 'truncated' }))?.tag, 'Interrupted');

  // The engine failing mid-answer is another mark, typed or spoken.
  const failed = stored({ incomplete: 'interrupted', voice: SPOKEN, engine: { ...engine, reason: 'interrupted: connection reset' } });
  assert.equal(interruptedByListener(failed), false);
  assert.match(cutShort(failed)?.text ?? '', /failed part-way/);

  assert.deepEqual(cutShort(stored({ status: 'cancelled' })), { tag: 'Stopped', text: 'The answer was stopped before it was complete.' });
  assert.match(cutShort(stored({ status: 'cancelled', content: '' }))?.text ?? '', /before it began/);
  assert.match(cutShort(stored({ incomplete: 'length' }))?.text ?? '', /length limit/);
  assert.equal(cutShort(stored({ voice: SPOKEN })), null, 'a whole answer');
});

test('an answer cut to what was heard keeps that text and only the citations it still makes', () => {
  const citation = (n: number) => ({ n, chunkId: `c${n}`, documentId: 'd', documentName: 'd.md', page: null, pageLabel: null, quote: '', removed: false as const });
  const [turn] = turnsFromMessages([
    message({ id: 'u', role: 'user', content: 'q' }),
    message({ id: 'a', role: 'assistant', content: 'Remove the key [1]. Wear goggles [2].', citations: [citation(1), citation(2)] }),
  ]);
  const [cut] = withHeard([turn as never], 'a', 'Remove the key [1].');
  assert.equal(cut?.reply?.text, 'Remove the key [1].');
  assert.equal(cut?.reply?.incomplete, 'truncated');
  assert.deepEqual(cut?.reply?.citations.map((c) => c.n), [1]);
  assert.equal(cutShort(cut?.reply as Reply)?.tag, 'Interrupted');
  assert.deepEqual(withHeard([turn as never], 'other', ''), [turn], 'other answers are left alone');
});
