import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from './principal.ts';
import { revocationsContract } from './revocation-contract.ts';
import { LocalRevocations, revokes, type Revoked } from './revocation.ts';

const viaSession: Principal = {
  via: 'session',
  organisationId: 'o1',
  role: 'viewer',
  instanceOwner: false,
  userId: 'u1',
  sessionId: 's1',
  apiKeyId: null,
  actor: { type: 'user', id: 'u1', name: 'u1@example.test' },
};
const viaKey: Principal = { ...viaSession, via: 'apiKey', userId: null, sessionId: null, apiKeyId: 'k1', actor: { type: 'apiKey', id: 'k1', name: 'tools' } };
const notice = (scope: Revoked['scope'], id: string): Revoked => ({ scope, id, reason: 'test' });

describe('revocation notices', () => {
  it('reach the principals in their scope and no others', () => {
    assert.ok(revokes(notice('session', 's1'), viaSession));
    assert.ok(revokes(notice('user', 'u1'), viaSession));
    assert.ok(revokes(notice('organisation', 'o1'), viaSession));
    assert.ok(revokes(notice('organisation', 'o1'), viaKey));
    assert.ok(revokes(notice('apiKey', 'k1'), viaKey));
    assert.ok(!revokes(notice('session', 's2'), viaSession));
    assert.ok(!revokes(notice('user', 'u2'), viaSession));
    assert.ok(!revokes(notice('apiKey', 'k1'), viaSession));
    assert.ok(!revokes(notice('user', 'u1'), viaKey), 'a user notice leaves the organisation’s keys alone');
    assert.ok(!revokes(notice('organisation', 'o2'), viaKey));
  });

  it('are delivered to every listener before publish resolves, even when one throws; unsubscribing stops them', async () => {
    const failures: unknown[] = [];
    const revocations = new LocalRevocations({ onListenerError: (err) => failures.push(err) });
    const seen: string[] = [];
    const listener = (n: Revoked) => seen.push(`a:${n.id}`);
    const stopA = revocations.subscribe(listener);
    const stopTwice = revocations.subscribe(listener);
    revocations.subscribe(() => {
      throw new Error('listener bug');
    });
    revocations.subscribe((n) => seen.push(`b:${n.id}`));
    await revocations.publish(notice('apiKey', 'k1'));
    assert.deepEqual(seen, ['a:k1', 'a:k1', 'b:k1']);
    assert.equal(failures.length, 1);
    stopA();
    stopTwice();
    await revocations.publish(notice('apiKey', 'k2'));
    assert.deepEqual(seen.slice(3), ['b:k2']);
  });
});

revocationsContract('local', async () => ({ revocations: new LocalRevocations({ onListenerError: () => {} }), close: async () => {} }));
