// The behaviour every DetachedSessions implementation shares, as a node:test suite run against the
// in-memory one and Redis. `peer` is the port as another process sees it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DetachedSessions, SessionHolder } from './resume-state.ts';
import type { SessionSnapshot } from './session.ts';

export interface DetachedSessionsFixture {
  sessions: DetachedSessions;
  peer?: DetachedSessions;
  close(): Promise<void>;
}

let sessionCount = 0;

/** A session as it is dropped after a spoken answer: settings changed by the client, one item it may truncate. */
export function droppedSession(): SessionSnapshot {
  return {
    config: {
      id: `sess_contract${++sessionCount}_${process.pid}`,
      object: 'realtime.session',
      type: 'realtime',
      model: 'kb:kb1',
      output_modalities: ['text'],
      audio: {
        input: { format: { type: 'audio/pcm', rate: 16_000 }, turn_detection: null },
        output: { format: { type: 'audio/pcm', rate: 24_000 }, voice: 'tiny-voice' },
      },
    },
    conversationId: 'conv1',
    lastItem: 'item_2',
    items: [
      ['item_2', { messageId: 'msg1', sentences: [{ text: 'Always remove the chuck key [1].', startMs: 0, endMs: 1_850.5 }, { text: 'Wear eye protection.', startMs: 1_850.5, endMs: 3_000 }], audioMs: 3_100 }],
      ['item_4', { messageId: null, sentences: [], audioMs: 0 }],
    ],
  };
}

export const ada: SessionHolder = { owner: 'org1:user1', kbId: 'kb1' };

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function detachedSessionsContract(name: string, open: () => Promise<DetachedSessionsFixture>): void {
  describe(`DetachedSessions contract: ${name}`, () => {
    let fixture: DetachedSessionsFixture;
    before(async () => void (fixture = await open()));
    after(() => fixture.close());

    it('gives a dropped session back whole, once', async () => {
      const snapshot = droppedSession();
      await fixture.sessions.detach(snapshot, ada, 60_000);
      assert.deepEqual(await fixture.sessions.reclaim(snapshot.config.id, ada), snapshot);
      assert.equal(await fixture.sessions.reclaim(snapshot.config.id, ada), null, 'a resume consumes it');
      assert.equal(await fixture.sessions.reclaim('sess_neverdropped', ada), null);
    });

    it('forgets a session once its time is up', async () => {
      const snapshot = droppedSession();
      await fixture.sessions.detach(snapshot, ada, 150);
      await wait(400);
      assert.equal(await fixture.sessions.reclaim(snapshot.config.id, ada), null);
    });

    it('keeps a session from another user, organisation or knowledge base, without giving it up', async () => {
      const snapshot = droppedSession();
      await fixture.sessions.detach(snapshot, ada, 60_000);
      for (const other of [{ ...ada, owner: 'org1:user2' }, { ...ada, owner: 'org2:user1' }, { ...ada, owner: 'org1:key:user1' }, { ...ada, kbId: 'kb2' }]) {
        assert.equal(await fixture.sessions.reclaim(snapshot.config.id, other), null, `${other.owner} on ${other.kbId}`);
      }
      assert.deepEqual(await fixture.sessions.reclaim(snapshot.config.id, ada), snapshot);
    });

    it('replaces a session detached again under its id, with the new time limit', async () => {
      const first = droppedSession();
      await fixture.sessions.detach(first, ada, 60_000);
      const again: SessionSnapshot = { ...structuredClone(first), lastItem: 'item_6' };
      await fixture.sessions.detach(again, ada, 150);
      await wait(400);
      assert.equal(await fixture.sessions.reclaim(first.config.id, ada), null);
    });

    it('gives a session to exactly one of many racing resumes, on every process', async () => {
      const all = [fixture.sessions, fixture.peer ?? fixture.sessions];
      for (let round = 0; round < 5; round++) {
        const snapshot = droppedSession();
        await fixture.sessions.detach(snapshot, ada, 60_000);
        const got = await Promise.all(Array.from({ length: 20 }, (_, i) => all[i % 2]!.reclaim(snapshot.config.id, ada)));
        assert.equal(got.filter((s) => s !== null).length, 1, `round ${round}`);
      }
    });

    it('hands a session dropped on one process to another', async (t) => {
      const peer = fixture.peer;
      if (!peer) return t.skip('one process only');
      const snapshot = droppedSession();
      await fixture.sessions.detach(snapshot, ada, 60_000);
      assert.equal(await peer.reclaim(snapshot.config.id, { ...ada, kbId: 'kb2' }), null);
      assert.deepEqual(await peer.reclaim(snapshot.config.id, ada), snapshot);
      assert.equal(await fixture.sessions.reclaim(snapshot.config.id, ada), null, 'gone on the first process too');
    });
  });
}
