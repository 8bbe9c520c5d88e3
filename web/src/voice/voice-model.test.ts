import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Citation } from '../api.ts';
import { initialVoiceState, microphoneProblem, phaseText, responding, takeFinished, voicePhase, voiceReducer, type ServerEvent, type VoiceAction, type VoiceState } from './voice-model.ts';

const cite = (n: number): Citation => ({ n, chunkId: `c${n}`, documentId: 'd1', documentName: 'safety.md', page: 1, pageLabel: null, quote: `quote ${n}` });
const server = (type: string, fields: Record<string, unknown> = {}): VoiceAction => ({ type: 'server', event: { type, ...fields } as ServerEvent });
const run = (actions: VoiceAction[], from: VoiceState = initialVoiceState): VoiceState => actions.reduce(voiceReducer, from);

const open = run([{ type: 'connect' }, server('session.created', { session: { id: 'sess_1' } })]);

const spokenTurn: VoiceAction[] = [
  server('input_audio_buffer.speech_started', { item_id: 'item_1', audio_start_ms: 1000 }),
  server('conversation.item.input_audio_transcription.delta', { item_id: 'item_1', content_index: 0, delta: 'What must ' }),
  server('conversation.item.input_audio_transcription.delta', { item_id: 'item_1', content_index: 0, delta: 'be removed' }),
  server('input_audio_buffer.speech_stopped', { item_id: 'item_1', audio_end_ms: 3000 }),
  server('input_audio_buffer.committed', { item_id: 'item_1', previous_item_id: null }),
  server('conversation.item.input_audio_transcription.completed', { item_id: 'item_1', content_index: 0, transcript: ' What must be removed? ' }),
  server('response.created', { response: { id: 'resp_1', status: 'in_progress' } }),
  server('response.output_text.delta', { response_id: 'resp_1', item_id: 'item_2', delta: 'The chuck key ' }),
  server('lectern.citation', { response_id: 'resp_1', citation: cite(2) }),
  server('lectern.citation', { response_id: 'resp_1', citation: cite(1) }),
  server('response.output_text.delta', { response_id: 'resp_1', item_id: 'item_2', delta: '[1].' }),
];

test('connecting, then a session: its id is kept for resuming', () => {
  const connecting = voiceReducer(initialVoiceState, { type: 'connect' });
  assert.equal(voicePhase(connecting, false), 'connecting');
  assert.equal(open.connection, 'open');
  assert.equal(open.sessionId, 'sess_1');
  assert.equal(voicePhase(open, false), 'listening');
  assert.equal(phaseText('listening', open, 'hands-free'), 'Listening…');
  assert.match(phaseText('listening', open, 'push-to-talk'), /Hold the talk button/);
});

test('a spoken turn: partial words, the final transcript, the streamed answer and its citations, then done', () => {
  const speaking = run(spokenTurn.slice(0, 3), open);
  assert.equal(voicePhase(speaking, false), 'user-speaking');
  assert.deepEqual(speaking.transcript, { itemId: 'item_1', text: 'What must be removed', final: false });

  const stopped = run(spokenTurn.slice(3, 4), speaking);
  assert.equal(voicePhase(stopped, false), 'thinking', 'from speaking straight to thinking: the commit follows');
  const committed = voiceReducer(stopped, spokenTurn[4] as VoiceAction);
  assert.equal(committed.turns.length, 1, 'the commit does not make a second turn');
  assert.equal(voicePhase(committed, false), 'thinking');
  assert.equal(committed.turns[0]?.question, 'What must be removed', 'the partial words stand in until the transcript');

  const answering = run(spokenTurn.slice(5), committed);
  assert.deepEqual(answering.transcript, { itemId: 'item_1', text: 'What must be removed?', final: true });
  const turn = answering.turns[0];
  assert.equal(turn?.question, 'What must be removed?');
  assert.equal(turn?.reply?.text, 'The chuck key [1].');
  assert.deepEqual(turn?.reply?.citations.map((c) => c.n), [1, 2], 'in number order');
  assert.equal(turn?.reply?.status, 'streaming');
  assert.ok(responding(answering));
  assert.equal(voicePhase(answering, true), 'speaking');
  assert.equal(voicePhase(answering, false), 'thinking');

  const done = run(
    [
      server('response.output_text.done', { response_id: 'resp_1', item_id: 'item_2', text: 'The chuck key [1]. Always.' }),
      server('response.done', { response: { id: 'resp_1', status: 'completed', metadata: { lectern_conversation_id: 'conv_1' } } }),
    ],
    answering,
  );
  assert.equal(done.conversationId, 'conv_1');
  const { finished, state } = takeFinished(done);
  assert.equal(finished.length, 1);
  assert.equal(finished[0]?.reply?.status, 'complete');
  assert.equal(finished[0]?.reply?.text, 'The chuck key [1]. Always.', 'the done text is authoritative');
  assert.equal(state.turns.length, 0);
  assert.equal(voicePhase(state, false), 'listening');
  assert.equal(takeFinished(state).state, state, 'nothing finished: the same state');
});

test('response.done names the stored answer (for feedback) and carries the turn’s timings, in the voice the session speaks', () => {
  const session = run([{ type: 'connect' }, server('session.created', { session: { id: 'sess_1', audio: { output: { voice: 'espeak-ng:en-us' } } } })]);
  assert.equal(session.voice, 'espeak-ng:en-us');
  const metrics = { speech_end_to_transcript_ms: 3, speech_end_to_first_token_ms: 14, speech_end_to_first_audio_ms: 119, stt_ms: 2, first_token_ms: 11, tts_first_sentence_ms: 40, tts_ms: 133, audio_in_seconds: 3.33, audio_out_seconds: 15.89, characters_synthesised: 254, speculative_prompt_tokens: 0 };
  const done = run(
    [...spokenTurn, server('response.done', { response: { id: 'resp_1', status: 'completed', metadata: { lectern_conversation_id: 'conv_1', lectern_message_id: 'msg_1', lectern_metrics: metrics } } })],
    session,
  );
  const reply = takeFinished(done).finished[0]?.reply;
  assert.equal(reply?.messageId, 'msg_1');
  assert.equal(reply?.voice?.speechEndToFirstAudioMs, 119);
  assert.equal(reply?.voice?.audioInSeconds, 3.33);
  assert.equal(reply?.voice?.voice, 'espeak-ng:en-us');

  // Talked over: the stored answer is still known (it is kept as heard), and so are its timings.
  const cut = run([...spokenTurn, server('response.done', { response: { id: 'resp_1', status: 'cancelled', metadata: { lectern_conversation_id: 'conv_1', lectern_message_id: 'msg_1', lectern_metrics: metrics } } })], session);
  const stopped = takeFinished(cut).finished[0]?.reply;
  assert.deepEqual([stopped?.status, stopped?.messageId, stopped?.voice?.ttsMs], ['cancelled', 'msg_1', 133]);

  // A server that predates them: no id, no timings, nothing breaks.
  const old = takeFinished(run([...spokenTurn, server('response.done', { response: { id: 'resp_1', status: 'completed', metadata: null } })], open)).finished[0]?.reply;
  assert.deepEqual([old?.status, old?.messageId, old?.voice], ['complete', null, null]);
});

test('barge-in: the next utterance starts while the interrupted answer waits for its cancelled response.done', () => {
  const answering = run(spokenTurn, open);
  const interrupted = run(
    [
      server('input_audio_buffer.speech_started', { item_id: 'item_3', audio_start_ms: 9000 }),
      server('response.done', { response: { id: 'resp_1', status: 'cancelled', metadata: { lectern_conversation_id: 'conv_1' } } }),
    ],
    answering,
  );
  assert.equal(voicePhase(interrupted, false), 'user-speaking');
  const { finished, state } = takeFinished(interrupted);
  assert.equal(finished[0]?.reply?.status, 'cancelled');
  assert.equal(finished[0]?.reply?.text, 'The chuck key [1].', 'what was shown stays');
  assert.equal(state.transcript?.itemId, 'item_3');

  const next = run(
    [
      server('input_audio_buffer.speech_stopped', { item_id: 'item_3' }),
      server('input_audio_buffer.committed', { item_id: 'item_3' }),
      server('conversation.item.input_audio_transcription.completed', { item_id: 'item_3', transcript: 'and the guard?' }),
      server('response.created', { response: { id: 'resp_2' } }),
    ],
    state,
  );
  assert.deepEqual(next.turns.map((t) => [t.question, t.responseId]), [['and the guard?', 'resp_2']]);
});

test('the server’s errors are shown with its message; the unanswerable turn goes; speaking again clears it', () => {
  const failed = run(
    [
      server('input_audio_buffer.speech_started', { item_id: 'item_1' }),
      server('input_audio_buffer.speech_stopped', { item_id: 'item_1' }),
      server('input_audio_buffer.committed', { item_id: 'item_1' }),
      server('error', { error: { code: 'stt_unavailable', message: 'Speech recognition is not available: run npm run models.', traceId: 't1' } }),
    ],
    open,
  );
  assert.equal(failed.turns.length, 0);
  assert.equal(voicePhase(failed, false), 'error');
  assert.equal(phaseText('error', failed, 'hands-free'), 'Error: Speech recognition is not available: run npm run models.');
  const again = voiceReducer(failed, server('input_audio_buffer.speech_started', { item_id: 'item_2' }));
  assert.equal(again.error, null);
  assert.equal(voicePhase(again, false), 'user-speaking');
});

test('noise that transcribes to nothing makes no turn; errors about optional features are not shown', () => {
  const silent = run(
    [
      server('input_audio_buffer.committed', { item_id: 'item_1' }),
      server('conversation.item.input_audio_transcription.completed', { item_id: 'item_1', transcript: '  ' }),
      server('error', { error: { code: 'response_cancel_not_active', message: 'There is no response in progress to cancel.' } }),
      server('error', { error: { code: 'unknown_event', message: 'Unsupported event type "conversation.item.truncate"; supported: …' } }),
      server('conversation.item.truncated', { item_id: 'item_2', content_index: 0, audio_end_ms: 1200 }),
      server('some.future.event', {}),
    ],
    open,
  );
  assert.equal(silent.turns.length, 0);
  assert.equal(silent.error, null);
  assert.equal(voicePhase(silent, false), 'listening');
});

test('a failed response carries the error that preceded it', () => {
  const failed = run(
    [
      ...spokenTurn.slice(4, 7),
      server('error', { error: { code: 'llm_unavailable', message: 'The model crashed.' } }),
      server('response.done', { response: { id: 'resp_1', status: 'failed' } }),
    ],
    open,
  );
  const turn = takeFinished(failed).finished[0];
  assert.equal(turn?.reply?.status, 'failed');
  assert.equal(turn?.reply?.error?.message, 'The model crashed.');
});

test('a dropped socket ends live answers and reconnects; resumed keeps the conversation, a new session starts over', () => {
  const answering = run([...spokenTurn, server('response.done', { response: { id: 'resp_1', status: 'completed', metadata: { lectern_conversation_id: 'conv_1' } } })], open);
  const base = takeFinished(answering).state;
  const live = run(spokenTurn.map((a) => (a.type === 'server' ? server(a.event.type, JSON.parse(JSON.stringify(a.event).replaceAll('resp_1', 'resp_9').replaceAll('item_1', 'item_9'))) : a)), base);
  const dropped = voiceReducer(live, { type: 'dropped' });
  assert.equal(dropped.connection, 'reconnecting');
  assert.equal(voicePhase(dropped, true), 'reconnecting');
  assert.match(phaseText('reconnecting', dropped, 'hands-free'), /Reconnecting/);
  const ended = takeFinished(dropped).finished[0];
  assert.equal(ended?.reply?.status, 'failed');
  assert.equal(ended?.reply?.error?.code, 'stream_ended');

  const resumed = run([server('session.created', { session: { id: 'sess_1' } }), server('lectern.session.resumed', { session_id: 'sess_1', conversation_id: 'conv_1' })], takeFinished(dropped).state);
  assert.equal(resumed.connection, 'open');
  assert.equal(resumed.conversationId, 'conv_1');
  assert.equal(resumed.notice, null);

  const fresh = run([server('error', { error: { code: 'resume_unavailable', message: 'gone' } }), server('session.created', { session: { id: 'sess_2' } })], takeFinished(dropped).state);
  assert.equal(fresh.sessionId, 'sess_2');
  assert.equal(fresh.conversationId, null, 'the next answer starts a new conversation');
  assert.match(fresh.notice ?? '', /new one/);
  assert.equal(fresh.error, null, 'not an error: voice goes on');
});

test('a drop before any session is still connecting; giving up is a fatal error', () => {
  const connecting = run([{ type: 'connect' }, { type: 'dropped' }]);
  assert.equal(connecting.connection, 'connecting');
  const failed = voiceReducer(connecting, { type: 'failed', code: 'realtime_unreachable', message: 'The voice service could not be reached.' });
  assert.equal(voicePhase(failed, false), 'error');
  assert.equal(phaseText('error', failed, 'hands-free'), 'Error: The voice service could not be reached.');
  const stopped = voiceReducer(failed, { type: 'stop' });
  assert.equal(stopped.connection, 'off');
  assert.equal(voicePhase(stopped, false), 'error', 'a fatal error stays on screen after voice went off');
  assert.equal(voicePhase(voiceReducer(stopped, { type: 'connect' }), false), 'connecting', 'starting again clears it');
});

test('push-to-talk: holding is speaking; stopping cancels a live answer and keeps the conversation', () => {
  const held = voiceReducer(open, { type: 'hold', held: true });
  assert.equal(voicePhase(held, false), 'user-speaking');
  assert.equal(voicePhase(voiceReducer(held, { type: 'hold', held: false }), false), 'listening');
  const answering = run(spokenTurn.slice(4), { ...open, conversationId: 'conv_1' });
  const stopped = voiceReducer(answering, { type: 'stop', notice: 'Voice ended.' });
  assert.equal(stopped.connection, 'off');
  assert.equal(stopped.conversationId, 'conv_1');
  assert.equal(stopped.notice, 'Voice ended.');
  assert.equal(takeFinished(stopped).finished[0]?.reply?.status, 'cancelled');
  assert.equal(voicePhase(takeFinished(stopped).state, false), 'off');
});

test('microphone failures become sentences a person can act on', () => {
  const named = (name: string) => Object.assign(new Error('x'), { name });
  assert.equal(microphoneProblem(named('NotAllowedError')).code, 'microphone_denied');
  assert.match(microphoneProblem(named('NotFoundError')).message, /No microphone/);
  assert.equal(microphoneProblem(named('OverconstrainedError')).code, 'microphone_unavailable');
  assert.equal(microphoneProblem(named('NotReadableError')).code, 'microphone_busy');
  assert.match(microphoneProblem(new Error('boom')).message, /boom/);
});
