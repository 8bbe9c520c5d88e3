import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { storeContract } from './contract.ts';
import { openEmbeddedStore, type EmbeddedStore } from './embedded.ts';
import { DuplicateKeyError, UnsupportedQueryError, type Collection, type JsonValue } from './store.ts';

type Item = { _id: string; [field: string]: JsonValue };

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'lectern-store-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

storeContract('embedded (memory)', () => openEmbeddedStore({ path: ':memory:' }));
storeContract('embedded (file)', () => openEmbeddedStore({ dir: join(tempDir(), 'nested', 'data') }));

let sequence = 0;
const withStore = async (test: (store: EmbeddedStore, collection: Collection<Item>) => Promise<void>): Promise<void> => {
  const store = openEmbeddedStore({ path: ':memory:' });
  try {
    await test(store, store.collection<Item>(`e${++sequence}`));
  } finally {
    await store.close();
  }
};

describe('embedded store', () => {
  it('is the embedded kind and keeps its file in the data directory', async () => {
    const dir = join(tempDir(), 'a', 'b');
    const store = openEmbeddedStore({ dir });
    assert.equal(store.kind, 'embedded');
    await store.collection<Item>('things').insertOne({ _id: 'x' });
    assert.ok(existsSync(join(dir, 'lectern.sqlite')));
    await store.close();
  });

  it('keeps documents and unique indexes across close and reopen', async () => {
    const dir = tempDir();
    const first = openEmbeddedStore({ dir });
    const users = first.collection<Item>('users');
    await users.createIndex({ email: 1 }, { unique: true });
    await users.insertMany([{ _id: 'u1', email: 'a@x', profile: { name: 'Ada' } }, { _id: 'u2', email: 'b@x' }]);
    await users.updateOne({ _id: 'u2' }, { $set: { 'profile.name': 'Bob' } });
    await first.close();

    const second = openEmbeddedStore({ dir });
    const reopened = second.collection<Item>('users');
    assert.deepEqual(await reopened.find({}, { sort: { _id: 1 } }).toArray(), [
      { _id: 'u1', email: 'a@x', profile: { name: 'Ada' } },
      { _id: 'u2', email: 'b@x', profile: { name: 'Bob' } },
    ]);
    await assert.rejects(reopened.insertOne({ _id: 'u3', email: 'a@x' }), DuplicateKeyError);
    assert.equal(await reopened.createIndex({ email: 1 }, { unique: true }), 'email_1');
    await second.close();
  });

  it('keeps a resolved write when the process is killed with SIGKILL', async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { openEmbeddedStore } from ${JSON.stringify(new URL('./embedded.ts', import.meta.url).href)};
         const store = openEmbeddedStore({ dir: process.env.STORE_DIR });
         const notes = store.collection('notes');
         await notes.insertOne({ _id: 'n1', text: 'survives', n: 0 });
         await notes.updateOne({ _id: 'n1' }, { $inc: { n: 1 } });
         process.stdout.write('ok\\n');
         setInterval(() => {}, 60_000);`,
      ],
      { env: { ...process.env, STORE_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let output = '';
    for await (const chunk of child.stdout) {
      output += String(chunk);
      if (output.includes('ok')) break;
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.equal(output, 'ok\n');

    const store = openEmbeddedStore({ dir });
    assert.deepEqual(await store.collection<Item>('notes').findOne({ _id: 'n1' }), { _id: 'n1', text: 'survives', n: 1 });
    await store.close();
  });

  it('rejects every call after close, and closes idempotently', async () => {
    const store = openEmbeddedStore({ path: ':memory:' });
    const collection = store.collection<Item>('things');
    await collection.insertOne({ _id: 'a' });
    await store.close();
    await store.close();
    const closed = /closed/;
    await assert.rejects(store.ping(), closed);
    await assert.rejects(collection.findOne({ _id: 'a' }), closed);
    await assert.rejects(collection.find({}).toArray(), closed);
    await assert.rejects(collection.insertOne({ _id: 'b' }), closed);
    await assert.rejects(collection.updateOne({ _id: 'a' }, { $set: { n: 1 } }), closed);
    await assert.rejects(collection.deleteMany({}), closed);
    await assert.rejects(collection.createIndex({ n: 1 }), closed);
    await assert.rejects(store.collection<Item>('others').countDocuments(), closed);
  });

  it('refuses invalid collection names', () => {
    const store = openEmbeddedStore({ path: ':memory:' });
    for (const name of ['', '1abc', 'with space', 'a-b', 'x"; DROP TABLE users; --', 'sqlite_master', 'a'.repeat(64)]) {
      assert.throws(() => store.collection(name), TypeError, name);
    }
    assert.equal(store.collection('a'.repeat(63)).collectionName.length, 63);
  });

  it('inserts all of insertMany or nothing', () =>
    withStore(async (_store, collection) => {
      await collection.insertOne({ _id: 'b' });
      await assert.rejects(collection.insertMany([{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]), DuplicateKeyError);
      await assert.rejects(collection.insertMany([{ _id: 'a' }, { _id: 'c', at: new Date() as never }]), TypeError);
      assert.deepEqual(await collection.find({}).toArray(), [{ _id: 'b' }]);
    }));

  it('rolls back the whole updateMany when one document violates a unique index', () =>
    withStore(async (_store, collection) => {
      await collection.createIndex({ slot: 1 }, { unique: true });
      await collection.insertMany([{ _id: 'a', slot: 1, g: 1 }, { _id: 'b', slot: 2, g: 1 }]);
      await assert.rejects(collection.updateMany({ g: 1 }, { $set: { slot: 3 } }), DuplicateKeyError);
      assert.deepEqual(await collection.find({}, { sort: { _id: 1 } }).toArray(), [
        { _id: 'a', slot: 1, g: 1 },
        { _id: 'b', slot: 2, g: 1 },
      ]);
    }));

  it('reports the violated index by its MongoDB name', () =>
    withStore(async (_store, collection) => {
      await collection.createIndex({ organisationId: 1, email: 1 }, { unique: true });
      await collection.insertOne({ _id: 'a', organisationId: 'o', email: 'e' });
      const violation = (index: string) => (err: unknown) =>
        err instanceof DuplicateKeyError && err.index === index && err.code === 11000 && err.message.includes(collection.collectionName);
      await assert.rejects(collection.insertOne({ _id: 'a' }), violation('_id_'));
      await assert.rejects(collection.insertOne({ _id: 'b', organisationId: 'o', email: 'e' }), violation('organisationId_1_email_1'));
    }));

  it('lets documents missing a uniquely indexed field coexist, as SQLite treats NULLs as distinct', () =>
    withStore(async (_store, collection) => {
      await collection.createIndex({ email: 1 }, { unique: true });
      await collection.insertMany([{ _id: 'a' }, { _id: 'b' }, { _id: 'c', email: null }, { _id: 'd', email: null }]);
      assert.equal(await collection.countDocuments({ email: null }), 4);
    }));

  it('refuses an index whose keys already exist under another name', () =>
    withStore(async (_store, collection) => {
      await collection.createIndex({ email: 1 });
      await assert.rejects(collection.createIndex({ email: 1 }, { name: 'other' }), /conflicts with the existing index 'email_1'/);
    }));

  it('uses indexes for equality, $in, tenant-confined filters and sorted pages', () =>
    withStore(async (store, collection) => {
      const name = collection.collectionName;
      await collection.createIndex({ email: 1 }, { unique: true });
      await collection.createIndex({ organisationId: 1, at: -1 });
      const plan = (filter: object, options = {}) => store.explain(name, filter, options).join('\n');
      assert.match(plan({ email: 'a@x' }), new RegExp(`USING INDEX ${name}\\.email_1`));
      assert.match(plan({ email: { $in: ['a@x', 'b@x'] } }), /USING INDEX .*email_1/);
      assert.match(plan({ $and: [{ email: 'a@x' }, { organisationId: 'o1' }] }), /USING INDEX/);
      assert.match(plan({ _id: 'a' }), /USING (INDEX sqlite_autoindex|PRIMARY KEY)/);
      const page = plan({ organisationId: 'o1' }, { sort: { at: -1 }, limit: 20 });
      assert.match(page, /USING INDEX .*organisationId_1_at_-1/);
      assert.doesNotMatch(page, /TEMP B-TREE/);
      assert.doesNotMatch(plan({ title: 'x' }), /USING INDEX/);
    }));

  it('treats SQL in values, field names, index names and paths as data or rejects it', () =>
    withStore(async (store, collection) => {
      const evil = `x' OR 1=1; DROP TABLE ${collection.collectionName}; --`;
      await collection.insertMany([{ _id: evil, title: evil }, { _id: 'plain', title: 'plain' }]);
      assert.deepEqual(await collection.find({ title: evil }).toArray(), [{ _id: evil, title: evil }]);
      assert.equal(await collection.countDocuments({ title: `' OR '1'='1` }), 0);
      assert.equal(await collection.countDocuments({ _id: { $in: [evil, `') OR 1=1 --`] } }), 1);
      for (const path of [`title') OR 1=1 --`, "a'", 'a"b', 'a b', 'a[0]', '$.a', 'a.*']) {
        await assert.rejects(collection.find({ [path]: 1 }).toArray(), UnsupportedQueryError, path);
        await assert.rejects(collection.find({}, { sort: { [path]: 1 } }).toArray(), UnsupportedQueryError, path);
        await assert.rejects(collection.updateOne({ _id: 'plain' }, { $set: { [path]: 1 } }), UnsupportedQueryError, path);
        await assert.rejects(collection.createIndex({ [path]: 1 }), UnsupportedQueryError, path);
      }
      const indexName = `x"; DROP TABLE ${collection.collectionName}; --`;
      assert.equal(await collection.createIndex({ title: 1 }, { name: indexName, unique: true }), indexName);
      await assert.rejects(collection.insertOne({ _id: 'again', title: 'plain' }), (err) => err instanceof DuplicateKeyError && err.index === indexName);
      assert.equal(await collection.countDocuments(), 2);
      assert.match(store.explain(collection.collectionName, { title: 'plain' }).join('\n'), /USING INDEX/);
    }));

  it('throws UnsupportedQueryError for filters outside the port subset', () =>
    withStore(async (_store, collection) => {
      await collection.insertOne({ _id: 'a', v: 1, list: [1, 2] });
      const filters: unknown[] = [
        { v: /1/ },
        { v: { $regex: '1' } },
        { v: { $not: { $eq: 1 } } },
        { v: { $type: 'number' } },
        { list: { $elemMatch: { $gt: 1 } } },
        { list: { $size: 2 } },
        { $nor: [{ v: 1 }] },
        { $where: 'true' },
        { $expr: { $eq: ['$v', 1] } },
        { $text: { $search: 'x' } },
        { list: [1, 2] },
        { v: { a: 1 } },
        { v: {} },
        { v: { $eq: 1, other: 1 } },
        { v: { $in: [[1]] } },
        { v: { $in: [{ a: 1 }] } },
        { v: undefined },
        { v: Number.NaN },
        { v: Number.POSITIVE_INFINITY },
        { v: new Date() },
        { v: 1n },
        { v: { $gt: null } },
        { v: { $gt: [1] } },
        { v: { $exists: 1 } },
        { 'list.0': 1 },
        { '1v': 1 },
        { 'a..b': 1 },
        { '__proto__.x': 1 },
        { $and: [1] },
        { $or: [[]] },
        [],
        null,
      ];
      for (const filter of filters) {
        await assert.rejects(collection.find(filter as never).toArray(), UnsupportedQueryError, inspect(filter));
      }
      const options: unknown[] = [{ sort: { v: 0 } }, { sort: { 'a.0': 1 } }, { skip: -1 }, { limit: 1.5 }, { projection: { 'a.b': 1 } }, { projection: { v: 2 } }];
      for (const option of options) {
        await assert.rejects(collection.find({}, option as never).toArray(), UnsupportedQueryError, inspect(option));
      }
      for (const update of [{ $push: { list: 3 } }, { $rename: { v: 'w' } }, { $set: { 'list.0': 5 } }, { $set: { 'list.x': 5 } }]) {
        await assert.rejects(collection.updateOne({ _id: 'a' }, update as never), UnsupportedQueryError, inspect(update));
      }
      await assert.rejects(collection.createIndex({ v: 'text' } as never), UnsupportedQueryError);
      await assert.rejects(collection.createIndex({}), UnsupportedQueryError);
    }));

  it('rejects documents that are not plain JSON with a TypeError', () =>
    withStore(async (_store, collection) => {
      class Thing {
        x = 1;
      }
      const invalid: unknown[] = [
        { _id: 'a', at: new Date() },
        { _id: 'a', n: Number.NaN },
        { _id: 'a', n: Number.NEGATIVE_INFINITY },
        { _id: 'a', f: () => 1 },
        { _id: 'a', big: 1n },
        { _id: 'a', list: [1, undefined] },
        { _id: 'a', map: new Map() },
        { _id: 'a', thing: new Thing() },
        { _id: 'a', $bad: 1 },
        { _id: 'a', 'dotted.key': 1 },
        { _id: 'a', nested: { deep: { $op: 1 } } },
        { _id: 'a', list: [{ 'a.b': 1 }] },
        JSON.parse('{"_id": "a", "__proto__": {"polluted": true}}'),
        { _id: 1 },
        'a string',
        ['a'],
      ];
      for (const doc of invalid) {
        await assert.rejects(collection.insertOne(doc as never), TypeError, inspect(doc));
        await assert.rejects(collection.replaceOne({ _id: 'a' }, doc as never, { upsert: true }), TypeError, inspect(doc));
      }
      await assert.rejects(collection.insertOne({ name: 'no id' } as never), TypeError);
      let deep: JsonValue = 'bottom';
      for (let i = 0; i < 200; i++) deep = { d: deep };
      await assert.rejects(collection.insertOne({ _id: 'deep', deep }), TypeError);
      await assert.rejects(collection.updateOne({ _id: 'a' }, { $set: { at: new Date() } } as never, { upsert: true }), TypeError);
      await assert.rejects(collection.updateOne({ _id: 'a' }, { $inc: { n: Number.NaN } }, { upsert: true }), TypeError);
      assert.equal(await collection.countDocuments(), 0);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }));

  it('drops undefined properties of documents and update operands', () =>
    withStore(async (_store, collection) => {
      await collection.insertOne({ _id: 'a', gone: undefined as never, nested: { gone: undefined as never, kept: 1 } });
      assert.deepEqual(await collection.findOne({ _id: 'a' }), { _id: 'a', nested: { kept: 1 } });
      assert.deepEqual(await collection.updateOne({ _id: 'a' }, { $set: { 'nested.kept': undefined, added: 2 } }), {
        acknowledged: true,
        matchedCount: 1,
        modifiedCount: 1,
        upsertedCount: 0,
        upsertedId: null,
      });
      assert.deepEqual(await collection.findOne({ _id: 'a' }), { _id: 'a', nested: { kept: 1 }, added: 2 });
    }));

  it('needs an _id for an upsert from the filter or $setOnInsert', () =>
    withStore(async (_store, collection) => {
      await assert.rejects(collection.updateOne({ email: 'a@x' }, { $set: { n: 1 } }, { upsert: true }), TypeError);
      await assert.rejects(collection.findOneAndUpdate({ email: 'a@x' }, { $set: { n: 1 } }, { upsert: true }), TypeError);
      await assert.rejects(collection.replaceOne({ email: 'a@x' }, { email: 'a@x' } as never, { upsert: true }), TypeError);
      assert.equal(await collection.countDocuments(), 0);
    }));

  it('keeps separate store instances on the same file in step', async () => {
    const dir = tempDir();
    const [one, two] = [openEmbeddedStore({ dir }), openEmbeddedStore({ dir })];
    await one.collection<Item>('shared').insertOne({ _id: 'a', n: 0 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).collection<Item>('shared').updateOne({ _id: 'a' }, { $inc: { n: 1 } })));
    assert.deepEqual(await two.collection<Item>('shared').findOne({ _id: 'a' }), { _id: 'a', n: 20 });
    await Promise.all([one.close(), two.close()]);
  });
});
