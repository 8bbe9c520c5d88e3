import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ferretdbMissing, startFerretDB, type FerretDB } from '../test/helpers/ferretdb.ts';
import { systemClock } from './clock.ts';
import { collections } from './db.ts';
import { createLogger } from './logger.ts';
import { migrate, migrations, type Migration } from './migrations.ts';
import { openMongoStore } from './mongo/mongo.ts';
import { openEmbeddedStore } from './store/embedded.ts';
import { isDuplicateKeyError, type Store } from './store/store.ts';

const log = createLogger({ level: 'silent' });
const run = (store: Store, list?: Migration[]) => migrate(store, collections(store, null), systemClock, log, list, { pollMs: 10 });

/** Two slow migrations that count how often their `up` ran. */
function counted(): { list: Migration[]; ups: Record<string, number> } {
  const ups: Record<string, number> = { '0001-a': 0, '0002-b': 0 };
  const list = Object.keys(ups).map((id) => ({
    id,
    async up() {
      ups[id]!++;
      await sleep(50);
    },
  }));
  return { list, ups };
}

/** Migrations on two stores over the same data, as two processes starting at once would run them. */
function concurrentMigrations(name: string, open: () => Promise<[Store, Store]>, close: () => Promise<void>): void {
  describe(`migrations started twice at once: ${name}`, () => {
    let one: Store;
    let two: Store;
    before(async () => {
      [one, two] = await open();
    });
    after(close);

    it('runs each up once; the process that waited finds them recorded and skips them', async () => {
      const { list, ups } = counted();
      const ran = await Promise.all([run(one, list), run(two, list)]);
      assert.deepEqual(ups, { '0001-a': 1, '0002-b': 1 });
      assert.deepEqual(ran.map((ids) => ids.length).sort(), [0, 2]);
      assert.deepEqual((await one.collection('migrations').find({}, { sort: { _id: 1 } }).toArray()).map((m) => m._id), ['0001-a', '0002-b']);
      assert.deepEqual(await run(two, list), []);
      assert.deepEqual(ups, { '0001-a': 1, '0002-b': 1 });
      assert.equal(await one.collection('locks').countDocuments(), 0);
    });

    it('applies a migration added later once, after those already recorded', async () => {
      const { list, ups } = counted();
      const later = [...list, { id: '0003-c', up: async () => void (ups['0003-c'] = (ups['0003-c'] ?? 0) + 1) }];
      const ran = await Promise.all([run(one, later), run(two, later), run(one, later)]);
      assert.deepEqual(ran.flat(), ['0003-c']);
      assert.deepEqual(ups, { '0001-a': 0, '0002-b': 0, '0003-c': 1 });
    });
  });
}

describe('the project migrations', () => {
  it('run concurrently on one embedded store, each once', async () => {
    const store = openEmbeddedStore({ path: ':memory:' });
    try {
      const ran = await Promise.all([run(store), run(store)]);
      assert.deepEqual(ran.flat().sort(), migrations.map((m) => m.id).sort());
    } finally {
      await store.close();
    }
  });
});

const embedded = openEmbeddedStore({ path: ':memory:' });
concurrentMigrations('embedded (one store, one process)', async () => [embedded, embedded], () => embedded.close());

const missing = ferretdbMissing();
describe('on FerretDB', { skip: missing }, () => {
  let ferret: FerretDB;
  before(async () => {
    ferret = await startFerretDB();
  });
  after(() => ferret?.stop());

  const clients: Store[] = [];
  concurrentMigrations(
    'mongodb (FerretDB, two clients)',
    async () => {
      clients.push(await openMongoStore(ferret.url), await openMongoStore(ferret.url));
      return [clients[0]!, clients[1]!];
    },
    async () => {
      await Promise.all(clients.map((store) => store.close()));
    },
  );

  it('the project migrations run from two clients at once, each once, and their unique indexes hold', async () => {
    const url = ferret.urlFor(`lectern_test_${process.pid}_project`);
    const [one, two] = [await openMongoStore(url), await openMongoStore(url)];
    try {
      const ran = await Promise.all([run(one), run(two)]);
      assert.deepEqual(ran.flat().sort(), migrations.map((m) => m.id).sort());
      const users = one.collection<{ _id: string; organisationId: string; email: string }>('users');
      await users.insertOne({ _id: 'u1', organisationId: 'o1', email: 'a@x' });
      await users.insertOne({ _id: 'u2', organisationId: 'o2', email: 'a@x' });
      await assert.rejects(users.insertOne({ _id: 'u3', organisationId: 'o1', email: 'a@x' }), isDuplicateKeyError);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
