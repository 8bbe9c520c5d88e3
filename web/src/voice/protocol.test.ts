import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realtimeUrl, sessionUpdate, truncateEvent } from './protocol.ts';

test('the socket follows the page’s scheme and host, and resumes by session id', () => {
  assert.equal(realtimeUrl('kb1', null, { protocol: 'http:', host: 'localhost:8080' }), 'ws://localhost:8080/v1/realtime?model=kb%3Akb1');
  assert.equal(realtimeUrl('kb1', 'sess_abc', { protocol: 'https:', host: 'lectern.example.org' }), 'wss://lectern.example.org/v1/realtime?model=kb%3Akb1&resume=sess_abc');
  assert.equal(realtimeUrl('kb1', null, { protocol: 'http:', host: 'h' }, 'conv1'), 'ws://h/v1/realtime?model=kb%3Akb1&conversation=conv1');
  assert.equal(realtimeUrl('kb1', 'sess_abc', { protocol: 'http:', host: 'h' }, 'conv1'), 'ws://h/v1/realtime?model=kb%3Akb1&resume=sess_abc', 'a resumed session has its own conversation');
});

test('session.update asks for 24 kHz pcm both ways; push-to-talk turns the server’s turn detection off', () => {
  const handsFree = sessionUpdate('hands-free') as { session: { audio: { input: Record<string, unknown>; output: Record<string, unknown> } } };
  assert.deepEqual(handsFree.session.audio.input, { format: { type: 'audio/pcm', rate: 24_000 }, turn_detection: { type: 'semantic_vad' } });
  assert.deepEqual(handsFree.session.audio.output, { format: { type: 'audio/pcm', rate: 24_000 } });
  const ptt = sessionUpdate('push-to-talk') as typeof handsFree;
  assert.equal(ptt.session.audio.input['turn_detection'], null);
});

test('truncate says where the listener stopped, in whole non-negative ms', () => {
  assert.deepEqual(truncateEvent('item_1', 1234.6), { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: 1235 });
  assert.equal(truncateEvent('item_1', -3)['audio_end_ms'], 0);
});
