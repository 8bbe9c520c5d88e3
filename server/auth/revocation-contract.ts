// The behaviour every Revocations implementation shares, as a node:test suite run against the
// in-process notices and the Redis fan-out. `peer` is the port as another process sees it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Revocations, Revoked } from './revocation.ts';

export interface RevocationsFixture {
  revocations: Revocations;
  peer?: Revocations;
  close(): Promise<void>;
}

const notice = (id: string): Revoked => ({ scope: 'session', id, reason: 'signed out' });

export function revocationsContract(name: string, open: () => Promise<RevocationsFixture>): void {
  describe(`Revocations contract: ${name}`, () => {
    let fixture: RevocationsFixture;
    before(async () => void (fixture = await open()));
    after(() => fixture.close());

    it('has reached this process\'s listeners when publish resolves, a failing one not keeping it from the others', async () => {
      const heard: Revoked[] = [];
      const stops = [
        fixture.revocations.subscribe(() => {
          throw new Error('listener broke');
        }),
        fixture.revocations.subscribe((n) => heard.push(n)),
      ];
      await fixture.revocations.publish(notice('s1'));
      assert.deepEqual(heard, [notice('s1')]);
      for (const stop of stops) stop();
      await fixture.revocations.publish(notice('s2'));
      assert.deepEqual(heard, [notice('s1')], 'nothing after unsubscribing');
    });

    it('reaches every other process\'s listeners within a second, once each', async (t) => {
      const peer = fixture.peer;
      if (!peer) return t.skip('one process only');
      const here: Revoked[] = [];
      const there: Revoked[] = [];
      // A notice of an earlier test may still be on its way from Redis: count only this test's.
      const ours = (n: Revoked) => n.id === 's3' || n.id === 'k1';
      const stops = [fixture.revocations.subscribe((n) => void (ours(n) && here.push(n))), peer.subscribe((n) => void (ours(n) && there.push(n)))];
      const started = Date.now();
      await fixture.revocations.publish(notice('s3'));
      await peer.publish({ scope: 'apiKey', id: 'k1', reason: 'key revoked' });
      while (there.length < 2 || here.length < 2) {
        assert.ok(Date.now() - started < 1_000, `heard here ${here.length}, there ${there.length} after 1 s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(here, [notice('s3'), { scope: 'apiKey', id: 'k1', reason: 'key revoked' }]);
      assert.deepEqual(there.toSorted((a, b) => a.id.localeCompare(b.id)), [{ scope: 'apiKey', id: 'k1', reason: 'key revoked' }, notice('s3')]);
      for (const stop of stops) stop();
    });
  });
}
