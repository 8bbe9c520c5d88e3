// The behaviour every EventBus implementation shares, as a node:test suite run against the local
// bus and the Redis one. `peer` is the same bus as another process sees it (another instance on
// the same Redis), where the implementation has one.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventBus } from './bus.ts';

export interface BusFixture {
  bus: EventBus;
  peer?: EventBus;
  close(): Promise<void>;
}

type Heard = Array<[topic: string, event: string, data: unknown]>;

function listen(bus: EventBus, topic: string, heard: Heard): () => void {
  return bus.subscribe(topic, (event, data) => heard.push([topic, event, data]));
}

async function until(condition: () => boolean, ms = 1_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function eventBusContract(name: string, open: () => Promise<BusFixture>): void {
  describe(`EventBus contract: ${name}`, () => {
    let fixture: BusFixture;
    before(async () => void (fixture = await open()));
    after(() => fixture.close());

    it('hands an event to this process\'s subscribers of its topic at once, in order, and to no other topic', () => {
      const heard: Heard = [];
      const stops = [listen(fixture.bus, 'kb:a', heard), listen(fixture.bus, 'kb:b', heard)];
      fixture.bus.publish('kb:a', 'document', { id: 'd1', status: 'parsing', progress: 0.5 });
      fixture.bus.publish('kb:a', 'document', { id: 'd1', status: 'ready' });
      assert.deepEqual(heard, [
        ['kb:a', 'document', { id: 'd1', status: 'parsing', progress: 0.5 }],
        ['kb:a', 'document', { id: 'd1', status: 'ready' }],
      ]);
      for (const stop of stops) stop();
    });

    it('stops handing events to a listener once it unsubscribes, and only to that one', () => {
      const first: Heard = [];
      const second: Heard = [];
      const stopFirst = listen(fixture.bus, 'kb:c', first);
      const stopSecond = listen(fixture.bus, 'kb:c', second);
      stopFirst();
      fixture.bus.publish('kb:c', 'document', { n: 1 });
      assert.deepEqual(first, []);
      assert.deepEqual(second, [['kb:c', 'document', { n: 1 }]]);
      stopSecond();
      fixture.bus.publish('kb:c', 'document', { n: 2 });
      assert.equal(second.length, 1);
    });

    it('carries events between processes both ways, in order, and each only once', async (t) => {
      const peer = fixture.peer;
      if (!peer) return t.skip('one process only');
      const here: Heard = [];
      const there: Heard = [];
      const stops = [listen(fixture.bus, 'kb:d', here), listen(peer, 'kb:d', there)];
      for (let n = 0; n < 20; n++) fixture.bus.publish('kb:d', 'document', { n });
      peer.publish('kb:d', 'document', { n: 'back' });
      await until(() => there.length >= 21 && here.length >= 21);
      // Anything delivered twice (a process hearing its own event again) arrives in this time.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const numbered = Array.from({ length: 20 }, (_, n) => ['kb:d', 'document', { n }]);
      const back = ['kb:d', 'document', { n: 'back' }];
      assert.deepEqual(here, [...numbered, back]);
      // The peer hears its own event at once, the others as they arrive: the same order among those.
      assert.deepEqual(there.filter(([, , data]) => (data as { n: unknown }).n !== 'back'), numbered);
      assert.equal(there.length, 21);
      for (const stop of stops) stop();
    });
  });
}
