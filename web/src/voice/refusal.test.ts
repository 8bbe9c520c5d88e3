import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../api.ts';
import { CONVERSATION_GONE, diagnoseRefusal, explainRefusal, KB_GONE, SESSION_ENDED, type Lookup, type RefusalLookups } from './refusal.ts';

const ok: Lookup = { ok: true };
const failed = (status: number, code: string): Lookup => ({ ok: false, error: { status, code } });

test('a signed-out session, a missing knowledge base or conversation stop the retries, each with its reason', () => {
  assert.deepEqual(explainRefusal('kb1', { kb: failed(401, 'unauthenticated') }), { retry: false, code: 'unauthenticated', message: SESSION_ENDED });
  assert.equal(SESSION_ENDED, 'Your session has ended: sign in again.');
  assert.deepEqual(explainRefusal('kb1', { kb: failed(404, 'not_found') }), { retry: false, code: 'kb_not_found', message: KB_GONE });
  assert.deepEqual(explainRefusal('kb1', { kb: ok, conversation: failed(404, 'not_found') }), { retry: false, code: 'conversation_not_found', message: CONVERSATION_GONE });
  assert.equal(explainRefusal('kb1', { kb: ok, conversation: { ok: true, kbId: 'kb2' } }).retry, false, 'a conversation on another knowledge base is refused as missing');
  assert.equal(explainRefusal('kb1', { kb: ok, conversation: failed(401, 'unauthenticated') }).retry, false);
});

test('anything else keeps the backoff, noting whether the server answered at all', () => {
  // At REALTIME_MAX_SESSIONS or shutting down: the REST API is fine, only the upgrade was refused.
  assert.deepEqual(explainRefusal('kb1', { kb: ok }), { retry: true, serverAnswered: true });
  assert.deepEqual(explainRefusal('kb1', { kb: ok, conversation: { ok: true, kbId: 'kb1' } }), { retry: true, serverAnswered: true });
  // Unreachable, or the server is failing too.
  assert.deepEqual(explainRefusal('kb1', { kb: failed(0, 'network') }), { retry: true, serverAnswered: false });
  assert.deepEqual(explainRefusal('kb1', { kb: failed(503, 'unavailable') }), { retry: true, serverAnswered: false });
  assert.deepEqual(explainRefusal('kb1', { kb: ok, conversation: failed(500, 'internal') }), { retry: true, serverAnswered: false });
  assert.equal(explainRefusal('kb1', { kb: failed(403, 'forbidden') }).retry, true, 'voice is for every role: a 403 is not what the upgrade said');
});

/** Look-ups that answer from a table and record what was asked, as the REST API would. */
function rest(answers: { kb: Lookup; conversations?: Record<string, Lookup & { kbId?: string }> }): RefusalLookups & { asked: string[] } {
  const asked: string[] = [];
  const reply = <T>(l: Lookup, value: T): Promise<T> => (l.ok ? Promise.resolve(value) : Promise.reject(new ApiError({ status: l.error.status, code: l.error.code, message: 'no' })));
  return {
    asked,
    kb: (id) => {
      asked.push(`kb ${id}`);
      return reply(answers.kb, { id });
    },
    conversation: (id) => {
      asked.push(`conversation ${id}`);
      const l = answers.conversations?.[id] ?? failed(404, 'not_found');
      return reply(l, { kbId: (l.ok && l.kbId) || 'kb1' });
    },
  };
}

test('the knowledge base is asked about first; the conversation only when the socket named one and the knowledge base is there', async () => {
  const signedOut = rest({ kb: failed(401, 'unauthenticated') });
  assert.equal((await diagnoseRefusal('kb1', 'c1', signedOut)).retry, false);
  assert.deepEqual(signedOut.asked, ['kb kb1'], 'one signed-out answer is enough');

  const plain = rest({ kb: ok });
  assert.deepEqual(await diagnoseRefusal('kb1', null, plain), { retry: true, serverAnswered: true });
  assert.deepEqual(plain.asked, ['kb kb1']);

  const gone = rest({ kb: ok });
  assert.deepEqual(await diagnoseRefusal('kb1', 'c1', gone), { retry: false, code: 'conversation_not_found', message: CONVERSATION_GONE });
  assert.deepEqual(gone.asked, ['kb kb1', 'conversation c1']);

  assert.equal((await diagnoseRefusal('kb1', 'c1', rest({ kb: ok, conversations: { c1: { ok: true, kbId: 'kb9' } } }))).retry, false, 'moved to another knowledge base');
  assert.deepEqual(await diagnoseRefusal('kb1', 'c1', rest({ kb: ok, conversations: { c1: { ok: true, kbId: 'kb1' } } })), { retry: true, serverAnswered: true });

  // A look-up that throws something other than an ApiError (the network) is not an answer.
  const offline: RefusalLookups = { kb: () => Promise.reject(new TypeError('Failed to fetch')), conversation: () => Promise.reject(new TypeError('Failed to fetch')) };
  assert.deepEqual(await diagnoseRefusal('kb1', 'c1', offline), { retry: true, serverAnswered: false });
});
