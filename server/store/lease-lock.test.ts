import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ferretdbMissing, startFerretDB, type FerretDB } from '../../test/helpers/ferretdb.ts';
import { systemClock } from '../clock.ts';
import { openMongoStore } from '../mongo/mongo.ts';
import { openEmbeddedStore } from './embedded.ts';
import { LOCKS_COLLECTION, withLeaseLock, type LeaseDoc } from './lease-lock.ts';
import type { Store } from './store.ts';

const clock = systemClock;
const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();
let names = 0;
const lockName = () => `lock${process.pid}_${++names}`;

/** The lock's behaviour on two stores that share their data, as two processes would. */
function leaseLockSuite(name: string, open: () => Promise<[Store, Store]>, close: () => Promise<void>): void {
  describe(`lease lock: ${name}`, () => {
    let one: Store;
    let two: Store;
    before(async () => {
      [one, two] = await open();
    });
    after(close);
    const locks = (store: Store) => store.collection<LeaseDoc>(LOCKS_COLLECTION);

    it('lets one holder in at a time, and removes the lock at the end', async () => {
      const lock = lockName();
      let active = 0;
      let most = 0;
      const ran: number[] = [];
      await Promise.all(
        [one, two, one, two].map((store, i) =>
          withLeaseLock(store, lock, { clock, pollMs: 10 }, async () => {
            most = Math.max(most, ++active);
            await sleep(40);
            active--;
            ran.push(i);
          }),
        ),
      );
      assert.equal(most, 1);
      assert.deepEqual(ran.sort(), [0, 1, 2, 3]);
      assert.equal(await locks(one).findOne({ _id: lock }), null);
    });

    it('waits while another holds a live lease, and goes in once it is released', async () => {
      const lock = lockName();
      await locks(one).insertOne({ _id: lock, owner: 'other', expiresAt: inOneHour() });
      let entered = false;
      const waiting = withLeaseLock(two, lock, { clock, pollMs: 10 }, async () => {
        entered = true;
      });
      await sleep(200);
      assert.equal(entered, false);
      await locks(one).deleteOne({ _id: lock, owner: 'other' });
      await waiting;
      assert.equal(entered, true);
    });

    it('takes over a lease its holder let expire', async () => {
      const lock = lockName();
      await locks(one).insertOne({ _id: lock, owner: 'crashed', expiresAt: new Date(Date.now() - 1).toISOString() });
      const holder = await withLeaseLock(two, lock, { clock, owner: 'successor' }, async () => (await locks(one).findOne({ _id: lock }))?.owner);
      assert.equal(holder, 'successor');
      assert.equal(await locks(one).findOne({ _id: lock }), null);
    });

    it('renews the lease while working, so a waiter does not take over', async () => {
      const lock = lockName();
      const spans: Array<[start: number, end: number]> = [];
      const work = async () => {
        const start = Date.now();
        await sleep(600);
        spans.push([start, Date.now()]);
      };
      const first = withLeaseLock(one, lock, { clock, leaseMs: 150 }, work);
      await sleep(20);
      await Promise.all([first, withLeaseLock(two, lock, { clock, leaseMs: 150, pollMs: 10 }, work)]);
      const [a, b] = spans.sort((x, y) => x[0] - y[0]);
      assert.ok(a && b && b[0] >= a[1], `the second holder started ${a && b ? a[1] - b[0] : '?'} ms before the first finished`);
    });

    it('aborts the signal when the lease is lost, and leaves the new holder its lock', async () => {
      const lock = lockName();
      const reason = await withLeaseLock(one, lock, { clock, leaseMs: 90 }, async (signal) => {
        await locks(two).replaceOne({ _id: lock }, { _id: lock, owner: 'thief', expiresAt: inOneHour() });
        await sleep(200);
        return signal.aborted ? String(signal.reason) : 'not aborted';
      });
      assert.match(reason, /lost the lease/);
      assert.equal((await locks(two).findOne({ _id: lock }))?.owner, 'thief');
    });

    it('releases the lock when the work fails', async () => {
      const lock = lockName();
      await assert.rejects(
        withLeaseLock(one, lock, { clock }, async () => {
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await locks(two).findOne({ _id: lock }), null);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'lectern-lease-'));
const embedded: Store[] = [];
leaseLockSuite(
  'embedded (two stores on one file)',
  async () => {
    embedded.push(openEmbeddedStore({ dir }), openEmbeddedStore({ dir }));
    return [embedded[0]!, embedded[1]!];
  },
  async () => {
    await Promise.all(embedded.map((store) => store.close()));
    rmSync(dir, { recursive: true, force: true });
  },
);

const missing = ferretdbMissing();
describe('on FerretDB', { skip: missing }, () => {
  let ferret: FerretDB;
  const clients: Store[] = [];
  leaseLockSuite(
    'mongodb (FerretDB, two clients)',
    async () => {
      ferret = await startFerretDB();
      clients.push(await openMongoStore(ferret.url), await openMongoStore(ferret.url));
      return [clients[0]!, clients[1]!];
    },
    async () => {
      await Promise.all(clients.map((store) => store.close()));
      await ferret?.stop();
    },
  );
});
