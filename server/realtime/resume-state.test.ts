import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ada, detachedSessionsContract, droppedSession } from './resume-state-contract.ts';
import { MemoryDetachedSessions, ownerOf } from './resume-state.ts';

detachedSessionsContract('memory', async () => {
  const sessions = new MemoryDetachedSessions();
  return { sessions, close: async () => sessions.clear() };
});

describe('MemoryDetachedSessions', () => {
  it('lets the oldest dropped session go first past its limit', async () => {
    const sessions = new MemoryDetachedSessions({ max: 2 });
    const [first, second, third] = [droppedSession(), droppedSession(), droppedSession()];
    for (const s of [first, second, third]) await sessions.detach(s, ada, 60_000);
    assert.equal(sessions.size, 2);
    assert.equal(await sessions.reclaim(first.config.id, ada), null);
    assert.deepEqual(await sessions.reclaim(third.config.id, ada), third);
    sessions.clear();
    assert.equal(await sessions.reclaim(second.config.id, ada), null);
  });

  it('tells a user from an API key of the same id, and organisations apart', () => {
    assert.equal(ownerOf({ organisationId: 'o1', userId: 'u1', apiKeyId: null }), 'o1:u1');
    assert.equal(ownerOf({ organisationId: 'o1', userId: null, apiKeyId: 'u1' }), 'o1:key:u1');
    assert.equal(ownerOf({ organisationId: 'o2', userId: 'u1', apiKeyId: null }), 'o2:u1');
  });
});
