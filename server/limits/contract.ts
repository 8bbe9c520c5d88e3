// The behaviour every counter store shares (rate-limiter-flexible's memory and Redis stores, as
// `Counters`), as a node:test suite. `peer` opens counters in the same store from another process.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Counters } from './counters.ts';

export interface CountersFixture {
  counters: Counters;
  peer?: Counters;
  close(): Promise<void>;
}

export function countersContract(name: string, open: () => Promise<CountersFixture>): void {
  describe(`Counters contract: ${name}`, () => {
    let fixture: CountersFixture;
    before(async () => void (fixture = await open()));
    after(() => fixture.close());

    it('counts every point of concurrent uses, gives points back, and knows nothing of an unused key', async () => {
      const counter = fixture.counters({ keyPrefix: 'contract_a', duration: 60 });
      await Promise.all(Array.from({ length: 50 }, () => counter.consume('ada', 2)));
      assert.equal((await counter.get('ada'))?.consumedPoints, 100);
      await counter.reward('ada', 30);
      const res = await counter.get('ada');
      assert.equal(res?.consumedPoints, 70);
      assert.ok(res.msBeforeNext > 0 && res.msBeforeNext <= 60_000, `resets in ${res.msBeforeNext} ms`);
      assert.equal(await counter.get('bob'), null);
    });

    it('keeps counters with different prefixes apart, and keeps what is open (duration 0) until given back', async () => {
      const open = fixture.counters({ keyPrefix: 'contract_open', duration: 0 });
      const other = fixture.counters({ keyPrefix: 'contract_other', duration: 0 });
      await open.consume('ada', 3);
      assert.equal(await other.get('ada'), null);
      await open.reward('ada', 1);
      assert.equal((await open.get('ada'))?.consumedPoints, 2);
    });

    it('starts a window afresh once it has passed', async () => {
      const counter = fixture.counters({ keyPrefix: 'contract_window', duration: 1 });
      await counter.consume('ada', 5);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal((await counter.consume('ada', 1)).consumedPoints, 1);
    });

    it('counts the uses of every process against one window', async (t) => {
      if (!fixture.peer) return t.skip('one process only');
      const here = fixture.counters({ keyPrefix: 'contract_shared', duration: 60 });
      const there = fixture.peer({ keyPrefix: 'contract_shared', duration: 60 });
      await Promise.all([...Array.from({ length: 10 }, () => here.consume('org1')), ...Array.from({ length: 10 }, () => there.consume('org1'))]);
      assert.equal((await here.get('org1'))?.consumedPoints, 20);
      assert.equal((await there.get('org1'))?.consumedPoints, 20);
    });
  });
}
