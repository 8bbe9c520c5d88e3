// The behaviour every Store implementation must share, written as a node:test suite so the same
// assertions run against the embedded store and against MongoDB. It asserts only what MongoDB itself
// does: anything MongoDB would accept but the port refuses (RegExp, array equality, documents that are
// not plain JSON, ...) is tested per implementation instead.

import assert from 'node:assert/strict';
import { after, before, describe, it as test } from 'node:test';
import { isDuplicateKeyError, isIndexNotFoundError, type Collection, type Filter, type FindOptions, type JsonValue, type Store } from './store.ts';

type Item = { _id: string; [field: string]: JsonValue };
type Case = [title: string, filter: Filter<Item>, ids: string[]];

/** One value of each type MongoDB keeps apart, plus null and a missing field. */
const VALUES: Item[] = [
  { _id: 'int1', v: 1 },
  { _id: 'real', v: 2.5 },
  { _id: 'int10', v: 10 },
  { _id: 'zero', v: 0 },
  { _id: 'neg', v: -3 },
  { _id: 'str1', v: '1' },
  { _id: 'str10', v: '10' },
  { _id: 'strA', v: 'apple' },
  { _id: 'empty', v: '' },
  { _id: 'true', v: true },
  { _id: 'false', v: false },
  { _id: 'null', v: null },
  { _id: 'missing' },
];
const ALL = VALUES.map((doc) => doc._id);
const except = (...ids: string[]): string[] => ALL.filter((id) => !ids.includes(id));

const VALUE_CASES: Case[] = [
  ['equality on a number matches neither the string nor true', { v: 1 }, ['int1']],
  ['equality on a real number', { v: 2.5 }, ['real']],
  ['equality on a string matches neither the number nor true', { v: '1' }, ['str1']],
  ['equality on the empty string', { v: '' }, ['empty']],
  ['equality on true', { v: true }, ['true']],
  ['equality on false does not match 0', { v: false }, ['false']],
  ['equality on 0 does not match false', { v: 0 }, ['zero']],
  ['equality on null matches null and missing', { v: null }, ['null', 'missing']],
  ['$eq', { v: { $eq: 10 } }, ['int10']],
  ['$eq null', { v: { $eq: null } }, ['null', 'missing']],
  ['$ne matches missing', { v: { $ne: 1 } }, except('int1')],
  ['$ne on a string', { v: { $ne: '1' } }, except('str1')],
  ['$ne false', { v: { $ne: false } }, except('false')],
  ['$ne null', { v: { $ne: null } }, except('null', 'missing')],
  ['$gt on numbers', { v: { $gt: 1 } }, ['real', 'int10']],
  ['$gte on numbers', { v: { $gte: 1 } }, ['int1', 'real', 'int10']],
  ['$lt on numbers', { v: { $lt: 1 } }, ['zero', 'neg']],
  ['$lte on numbers', { v: { $lte: 0 } }, ['zero', 'neg']],
  ['a range', { v: { $gt: -100, $lt: 5 } }, ['int1', 'real', 'zero', 'neg']],
  ['$gt on strings', { v: { $gt: '1' } }, ['str10', 'strA']],
  ['$gte the empty string matches every string', { v: { $gte: '' } }, ['str1', 'str10', 'strA', 'empty']],
  ['$lt on strings', { v: { $lt: 'b' } }, ['str1', 'str10', 'strA', 'empty']],
  ['$gt false', { v: { $gt: false } }, ['true']],
  ['$lte true', { v: { $lte: true } }, ['true', 'false']],
  ['$in mixes types without conflating them', { v: { $in: [1, '10', true] } }, ['int1', 'str10', 'true']],
  ['$in with null', { v: { $in: [null, 0] } }, ['zero', 'null', 'missing']],
  ['$in empty', { v: { $in: [] } }, []],
  ['$nin', { v: { $nin: [1, null] } }, except('int1', 'null', 'missing')],
  ['$nin empty', { v: { $nin: [] } }, ALL],
  ['$exists true matches null', { v: { $exists: true } }, except('missing')],
  ['$exists false', { v: { $exists: false } }, ['missing']],
  ['$exists with $ne null', { v: { $exists: true, $ne: null } }, except('null', 'missing')],
  ['$or', { $or: [{ v: 1 }, { v: 'apple' }] }, ['int1', 'strA']],
  ['$and', { $and: [{ v: { $gte: 0 } }, { v: { $lt: 2 } }] }, ['zero', 'int1']],
  ['nested $or and $and', { $or: [{ v: { $lt: 0 } }, { $and: [{ v: { $gt: 'a' } }, { v: { $lt: 'b' } }] }] }, ['neg', 'strA']],
  ['an empty filter', {}, ALL],
  ['_id equality', { _id: 'strA' }, ['strA']],
  ['_id $in', { _id: { $in: ['int1', 'nope', 'true'] } }, ['int1', 'true']],
  ['_id $gt', { _id: { $gt: 'str' } }, ['str1', 'str10', 'strA', 'true', 'zero']],
  ['several fields', { _id: 'int1', v: 1 }, ['int1']],
  ['several fields, one failing', { _id: 'int1', v: 2 }, []],
];

const NESTED: Item[] = [
  { _id: 'full', profile: { name: 'Ada', age: 36, address: { city: 'London' } } },
  { _id: 'partial', profile: { name: 'Bob', address: null } },
  { _id: 'flat', profile: 'not an object' },
  { _id: 'none' },
];

const NESTED_CASES: Case[] = [
  ['equality on a nested field', { 'profile.name': 'Ada' }, ['full']],
  ['equality two levels down', { 'profile.address.city': 'London' }, ['full']],
  ['null through null, a string and a missing parent', { 'profile.address.city': null }, ['partial', 'flat', 'none']],
  ['null on a nested field', { 'profile.address': null }, ['partial', 'flat', 'none']],
  ['comparison on a nested field', { 'profile.age': { $gte: 30 } }, ['full']],
  ['$exists on a nested field', { 'profile.name': { $exists: true } }, ['full', 'partial']],
  ['$ne on a nested field', { 'profile.name': { $ne: 'Ada' } }, ['partial', 'flat', 'none']],
  ['$in on a nested field', { 'profile.name': { $in: ['Bob', 'Cy'] } }, ['partial']],
  ['$exists on an object field', { profile: { $exists: true } }, ['full', 'partial', 'flat']],
  ['several nested fields', { 'profile.name': 'Ada', 'profile.age': 36 }, ['full']],
];

const SORTABLE: Item[] = [
  { _id: 'a', n: 3, group: 'x', at: '2024-01-02T00:00:00.000Z', p: { rank: 2 } },
  { _id: 'b', n: 1, group: 'y', at: '2024-01-01T00:00:00.000Z', p: { rank: 3 } },
  { _id: 'c', n: 2, group: 'x', at: '2023-12-31T23:59:59.999Z', p: { rank: 1 } },
  { _id: 'd', n: null, group: 'y' },
  { _id: 'e', group: 'x' },
];

const SORT_CASES: Array<[title: string, options: FindOptions, ids: string[]]> = [
  ['descending puts null and missing last', { sort: { n: -1 } }, ['a', 'c', 'b', 'd|e', 'd|e']],
  ['ascending puts null and missing first', { sort: { n: 1 } }, ['d|e', 'd|e', 'b', 'c', 'a']],
  ['several keys', { sort: { group: 1, n: -1 } }, ['a', 'c', 'e', 'b', 'd']],
  ['several keys, the other way', { sort: { group: -1, n: 1 } }, ['d', 'b', 'e', 'c', 'a']],
  ['ISO timestamps', { sort: { at: -1 } }, ['a', 'b', 'c', 'd|e', 'd|e']],
  ['a nested field', { sort: { 'p.rank': 1 } }, ['d|e', 'd|e', 'c', 'a', 'b']],
  ['_id', { sort: { _id: -1 } }, ['e', 'd', 'c', 'b', 'a']],
  ['skip and limit', { sort: { _id: 1 }, skip: 1, limit: 2 }, ['b', 'c']],
  ['limit alone', { sort: { _id: 1 }, limit: 2 }, ['a', 'b']],
  ['limit 0 means no limit', { sort: { _id: 1 }, limit: 0 }, ['a', 'b', 'c', 'd', 'e']],
  ['skip alone', { sort: { _id: 1 }, skip: 3 }, ['d', 'e']],
  ['skip past the end', { sort: { _id: 1 }, skip: 10 }, []],
];

const PROJECTION_CASES: Array<[title: string, projection: Record<string, 0 | 1>, expected: Record<string, JsonValue>]> = [
  ['inclusion keeps _id', { name: 1, missing: 1 }, { _id: 'p', name: 'Ada' }],
  ['inclusion without _id', { _id: 0, name: 1, role: 1 }, { name: 'Ada', role: 'admin' }],
  ['exclusion', { secret: 0, role: 0 }, { _id: 'p', name: 'Ada', nested: { a: 1 } }],
  ['excluding only _id', { _id: 0 }, { name: 'Ada', role: 'admin', secret: 's3cret', nested: { a: 1 } }],
  ['only _id', { _id: 1 }, { _id: 'p' }],
];

/** Filters MongoDB itself refuses; the port's stricter subset is tested per implementation. */
const INVALID_FILTERS: Array<[title: string, filter: unknown]> = [
  ['an unknown field operator', { v: { $foo: 1 } }],
  ['an unknown top-level operator', { $foo: [{ v: 1 }] }],
  ['an empty $and', { $and: [] }],
  ['$or that is not an array', { $or: { v: 1 } }],
  ['$in that is not an array', { v: { $in: 1 } }],
];

const INVALID_UPDATES: Array<[title: string, update: unknown]> = [
  ['an empty update', {}],
  ['a replacement document', { name: 'x' }],
  ['an unknown update operator', { $foo: { name: 'x' } }],
  ['$inc by a string', { $inc: { n: 'x' } }],
  ['$inc of a string field', { $inc: { name: 1 } }],
  ['a path touched twice', { $set: { n: 1 }, $inc: { n: 1 } }],
  ['a path and its parent', { $set: { nested: {}, 'nested.a': 2 } }],
  ['a field inside a string', { $set: { 'name.first': 'x' } }],
  ['changing _id', { $set: { _id: 'other' } }],
];

const ok = { acknowledged: true } as const;
const updated = (matchedCount: number, modifiedCount: number, upsertedId: string | null = null) => ({
  ...ok,
  matchedCount,
  modifiedCount,
  upsertedCount: upsertedId === null ? 0 : 1,
  upsertedId,
});

/** Asserts a rejection, whether the implementation throws synchronously or returns a rejected promise. */
const rejects = (attempt: () => unknown, error: (err: unknown) => boolean = () => true) => assert.rejects(async () => attempt(), error);
const duplicate = (index: string) => (err: unknown) => isDuplicateKeyError(err) && err instanceof Error && err.message.includes(index);

/**
 * Registers the suite. Every test works in a fresh, uniquely named collection of one store from `open`;
 * `cleanup` runs before that store is closed (to drop a MongoDB test database, say). `differences`
 * skips the named tests, each with the reason: for a MongoDB-compatible server that is known to
 * behave otherwise (FerretDB), never for the port's own implementations. A name matching no test throws.
 */
export function storeContract(
  name: string,
  open: () => Promise<Store> | Store,
  cleanup?: (store: Store) => Promise<void>,
  differences: Readonly<Record<string, string>> = {},
): void {
  const unmatched = new Set(Object.keys(differences));
  const it = (title: string, fn: () => unknown) => {
    unmatched.delete(title);
    test(title, { skip: differences[title] ?? false }, fn as () => Promise<void>);
  };
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let sequence = 0;
    const run = `${Date.now().toString(36)}${process.pid}`;

    before(async () => {
      store = await open();
    });
    after(async () => {
      await cleanup?.(store);
      await store.close();
    });

    const fresh = (): Collection<Item> => store.collection<Item>(`t_${run}_${++sequence}`);
    const seeded = async (docs: readonly Item[]): Promise<Collection<Item>> => {
      const collection = fresh();
      await collection.insertMany(docs.map((doc) => structuredClone(doc)));
      return collection;
    };
    const ids = async (collection: Collection<Item>, filter: Filter<Item> = {}, options?: FindOptions) =>
      (await collection.find(filter, options).toArray()).map((doc) => doc._id);
    const all = (collection: Collection<Item>) => collection.find({}, { sort: { _id: 1 } }).toArray();

    describe('store', () => {
      it('names its kind and answers ping', async () => {
        assert.equal(typeof store.kind, 'string');
        assert.ok(store.kind.length > 0);
        await store.ping();
      });

      it('gives collections their name', () => {
        assert.match(fresh().collectionName, /^t_/);
      });
    });

    describe('insert and read', () => {
      it('inserts one document and reads it back', async () => {
        const collection = fresh();
        const doc = { _id: 'x', title: 'Hello', tags: ['a', 'b'], meta: { n: 1.5, ok: true, none: null } };
        assert.deepEqual(await collection.insertOne(doc), { ...ok, insertedId: 'x' });
        assert.deepEqual(await collection.findOne({ _id: 'x' }), doc);
        assert.deepEqual(await collection.find({}).toArray(), [doc]);
      });

      it('returns null when findOne matches nothing', async () => {
        const collection = await seeded([{ _id: 'a' }]);
        assert.equal(await collection.findOne({ _id: 'b' }), null);
      });

      it('inserts many documents', async () => {
        const collection = fresh();
        const result = await collection.insertMany([{ _id: 'a', n: 1 }, { _id: 'b', n: 2 }]);
        assert.deepEqual(result, { ...ok, insertedCount: 2, insertedIds: { 0: 'a', 1: 'b' } });
        assert.deepEqual(await all(collection), [{ _id: 'a', n: 1 }, { _id: 'b', n: 2 }]);
      });

      it('refuses a duplicate _id', async () => {
        const collection = await seeded([{ _id: 'a', n: 1 }]);
        await rejects(() => collection.insertOne({ _id: 'a', n: 2 }), duplicate('_id_'));
        assert.deepEqual(await all(collection), [{ _id: 'a', n: 1 }]);
      });

      it('stops insertMany at a duplicate', async () => {
        const collection = await seeded([{ _id: 'b', n: 1 }]);
        await rejects(() => collection.insertMany([{ _id: 'a' }, { _id: 'b', n: 2 }, { _id: 'c' }]), duplicate('_id_'));
        assert.deepEqual(await collection.findOne({ _id: 'b' }), { _id: 'b', n: 1 });
        assert.equal(await collection.findOne({ _id: 'c' }), null);
      });

      it('iterates a cursor asynchronously', async () => {
        const collection = await seeded([{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]);
        const seen: string[] = [];
        for await (const doc of collection.find({ _id: { $ne: 'b' } }, { sort: { _id: 1 } })) seen.push(doc._id);
        assert.deepEqual(seen, ['a', 'c']);
      });

      it('returns copies that callers may mutate', async () => {
        const collection = fresh();
        const doc = { _id: 'a', nested: { list: [1, 2] } };
        await collection.insertOne(doc);
        doc.nested.list.push(3);
        const found = await collection.findOne({ _id: 'a' });
        assert.ok(found);
        (found.nested as { list: number[] }).list.push(4);
        const [listed] = await collection.find({}).toArray();
        assert.ok(listed);
        listed.nested = null;
        assert.deepEqual(await collection.findOne({ _id: 'a' }), { _id: 'a', nested: { list: [1, 2] } });
      });

      it('counts documents', async () => {
        const collection = await seeded(VALUES);
        assert.equal(await collection.countDocuments(), VALUES.length);
        assert.equal(await collection.countDocuments({}), VALUES.length);
        assert.equal(await collection.countDocuments({ v: { $gte: 1 } }), 3);
        assert.equal(await fresh().countDocuments(), 0);
      });
    });

    describe('filters', () => {
      for (const [docs, cases] of [[VALUES, VALUE_CASES], [NESTED, NESTED_CASES]] as const) {
        for (const [title, filter, expected] of cases) {
          it(title, async () => {
            const collection = await seeded(docs);
            assert.deepEqual((await ids(collection, filter)).sort(), [...expected].sort());
          });
        }
      }
      for (const [title, filter] of INVALID_FILTERS) {
        it(`rejects ${title}`, async () => {
          const collection = await seeded(VALUES);
          await rejects(() => collection.find(filter as Filter<Item>).toArray());
          await rejects(() => collection.findOne(filter as Filter<Item>));
          await rejects(() => collection.countDocuments(filter as Filter<Item>));
          await rejects(() => collection.deleteMany(filter as Filter<Item>));
          await rejects(() => collection.updateMany(filter as Filter<Item>, { $set: { touched: true } }));
          assert.equal(await collection.countDocuments(), VALUES.length);
          assert.equal(await collection.countDocuments({ touched: true }), 0);
        });
      }
    });

    describe('sort, skip, limit and projection', () => {
      for (const [title, options, expected] of SORT_CASES) {
        it(`sorts by ${title}`, async () => {
          const collection = await seeded(SORTABLE);
          const found = await ids(collection, {}, options);
          // MongoDB leaves the order of equal keys (here null and missing) unspecified.
          assert.deepEqual(
            found.map((id, i) => (expected[i] === 'd|e' && (id === 'd' || id === 'e') ? 'd|e' : id)),
            expected,
          );
        });
      }

      it('sorts numbers before strings', async () => {
        const collection = await seeded([{ _id: '1', v: 'b' }, { _id: '2', v: 2 }, { _id: '3', v: null }, { _id: '4', v: 'a' }, { _id: '5', v: 1 }]);
        assert.deepEqual(await ids(collection, {}, { sort: { v: 1 } }), ['3', '5', '2', '4', '1']);
      });

      it('sorts and skips in findOne', async () => {
        const collection = await seeded(SORTABLE);
        assert.equal((await collection.findOne({ n: { $ne: null } }, { sort: { n: -1 } }))?._id, 'a');
        assert.equal((await collection.findOne({ n: { $ne: null } }, { sort: { n: -1 }, skip: 1 }))?._id, 'c');
      });

      it('filters, sorts and pages together', async () => {
        const collection = await seeded(SORTABLE);
        assert.deepEqual(await ids(collection, { group: 'x' }, { sort: { at: 1 }, skip: 1, limit: 1 }), ['c']);
      });

      const profile: Item = { _id: 'p', name: 'Ada', role: 'admin', secret: 's3cret', nested: { a: 1 } };
      for (const [title, projection, expected] of PROJECTION_CASES) {
        it(`projects with ${title}`, async () => {
          const collection = await seeded([profile]);
          assert.deepEqual(await collection.find({}, { projection }).toArray(), [expected]);
          assert.deepEqual(await collection.findOne({ _id: 'p' }, { projection }), expected);
        });
      }

      it('rejects a projection that mixes inclusion and exclusion', async () => {
        const collection = await seeded([profile]);
        await rejects(() => collection.find({}, { projection: { name: 1, secret: 0 } }).toArray());
      });

      it('rejects an invalid sort direction', async () => {
        const collection = await seeded(SORTABLE);
        await rejects(() => collection.find({}, { sort: { n: 2 as 1 } }).toArray());
      });
    });

    describe('updates', () => {
      const base: Item = { _id: 'a', name: 'Ada', n: 1, nested: { a: 1, b: { c: 2 } } };

      it('$set replaces and adds fields, creating nested objects along dot paths', async () => {
        const collection = await seeded([base]);
        const result = await collection.updateOne({ _id: 'a' }, { $set: { name: 'Bea', 'nested.b.d': 3, 'deep.er.est': true, list: [1, { x: null }] } });
        assert.deepEqual(result, updated(1, 1));
        assert.deepEqual(await collection.findOne({ _id: 'a' }), {
          _id: 'a',
          name: 'Bea',
          n: 1,
          nested: { a: 1, b: { c: 2, d: 3 } },
          deep: { er: { est: true } },
          list: [1, { x: null }],
        });
      });

      it('$set of an unchanged value modifies nothing', async () => {
        const collection = await seeded([base]);
        assert.deepEqual(await collection.updateOne({ _id: 'a' }, { $set: { name: 'Ada', 'nested.a': 1 } }), updated(1, 0));
      });

      it('$unset removes top-level and nested fields, and ignores missing ones', async () => {
        const collection = await seeded([base]);
        assert.deepEqual(await collection.updateOne({ _id: 'a' }, { $unset: { name: '', 'nested.b.c': 1 } }), updated(1, 1));
        assert.deepEqual(await collection.findOne({ _id: 'a' }), { _id: 'a', n: 1, nested: { a: 1, b: {} } });
        assert.deepEqual(await collection.updateOne({ _id: 'a' }, { $unset: { name: '', 'gone.deeper': true } }), updated(1, 0));
      });

      it('$inc adds to numbers and starts missing fields at zero', async () => {
        const collection = await seeded([base]);
        await collection.updateOne({ _id: 'a' }, { $inc: { n: 2, 'nested.a': -1.5, counter: 1, 'stats.views': 5 } });
        assert.deepEqual(await collection.findOne({ _id: 'a' }), {
          ...base,
          n: 3,
          nested: { a: -0.5, b: { c: 2 } },
          counter: 1,
          stats: { views: 5 },
        });
      });

      it('combines operators and ignores $setOnInsert when a document matches', async () => {
        const collection = await seeded([base]);
        const result = await collection.updateOne({ name: 'Ada' }, { $set: { name: 'Cy' }, $unset: { nested: 1 }, $inc: { n: 1 }, $setOnInsert: { created: 'now' } }, { upsert: true });
        assert.deepEqual(result, updated(1, 1));
        assert.deepEqual(await collection.findOne({ _id: 'a' }), { _id: 'a', name: 'Cy', n: 2 });
      });

      it('reports nothing matched', async () => {
        const collection = await seeded([base]);
        assert.deepEqual(await collection.updateOne({ _id: 'b' }, { $set: { name: 'x' } }), updated(0, 0));
        assert.deepEqual(await collection.updateMany({ n: 99 }, { $set: { name: 'x' } }), updated(0, 0));
      });

      it('updateOne changes one document, updateMany all that match', async () => {
        const collection = await seeded([{ _id: 'a', g: 1 }, { _id: 'b', g: 1 }, { _id: 'c', g: 1, done: true }, { _id: 'd', g: 2 }]);
        assert.deepEqual(await collection.updateOne({ g: 1 }, { $set: { one: true } }), updated(1, 1));
        assert.equal(await collection.countDocuments({ one: true }), 1);
        assert.deepEqual(await collection.updateMany({ g: 1 }, { $set: { done: true } }), updated(3, 2));
        assert.deepEqual((await ids(collection, { done: true })).sort(), ['a', 'b', 'c']);
      });

      for (const [title, update] of INVALID_UPDATES) {
        it(`rejects ${title} and leaves the document alone`, async () => {
          const collection = await seeded([base]);
          await rejects(() => collection.updateOne({ _id: 'a' }, update as never));
          await rejects(() => collection.updateMany({}, update as never));
          assert.deepEqual(await collection.findOne({ _id: 'a' }), base);
        });
      }
    });

    describe('upserts', () => {
      it('inserts the filter equalities plus the update', async () => {
        const collection = fresh();
        const result = await collection.updateOne(
          { _id: 'u', kind: 'note', 'meta.lang': 'en', size: { $eq: 3 }, rank: { $gt: 1 } },
          { $set: { title: 'T' }, $inc: { views: 1 }, $setOnInsert: { created: '2024-01-01T00:00:00.000Z' } },
          { upsert: true },
        );
        assert.deepEqual(result, updated(0, 0, 'u'));
        assert.deepEqual(await collection.findOne({ _id: 'u' }), {
          _id: 'u',
          kind: 'note',
          meta: { lang: 'en' },
          size: 3,
          title: 'T',
          views: 1,
          created: '2024-01-01T00:00:00.000Z',
        });
      });

      it('takes _id from $setOnInsert and equalities from $and', async () => {
        const collection = fresh();
        const result = await collection.updateOne(
          { $and: [{ email: 'a@example.com' }, { organisationId: 'o1' }] },
          { $set: { seen: 1 }, $setOnInsert: { _id: 'generated' } },
          { upsert: true },
        );
        assert.deepEqual(result, updated(0, 0, 'generated'));
        assert.deepEqual(await collection.findOne({ email: 'a@example.com' }), { _id: 'generated', email: 'a@example.com', organisationId: 'o1', seen: 1 });
      });

      it('updates instead when a document matches', async () => {
        const collection = await seeded([{ _id: 'u', n: 1 }]);
        assert.deepEqual(await collection.updateOne({ _id: 'u' }, { $inc: { n: 1 } }, { upsert: true }), updated(1, 1));
        assert.deepEqual(await all(collection), [{ _id: 'u', n: 2 }]);
      });
    });

    describe('findOneAndUpdate', () => {
      it('returns the document before the update by default', async () => {
        const collection = await seeded([{ _id: 'a', n: 1 }]);
        assert.deepEqual(await collection.findOneAndUpdate({ _id: 'a' }, { $inc: { n: 1 } }), { _id: 'a', n: 1 });
        assert.deepEqual(await collection.findOneAndUpdate({ _id: 'a' }, { $inc: { n: 1 } }, { returnDocument: 'before' }), { _id: 'a', n: 2 });
        assert.deepEqual(await collection.findOne({ _id: 'a' }), { _id: 'a', n: 3 });
      });

      it('returns the document after the update on request', async () => {
        const collection = await seeded([{ _id: 'a', n: 1 }]);
        assert.deepEqual(await collection.findOneAndUpdate({ n: 1 }, { $set: { tag: 'x' } }, { returnDocument: 'after' }), { _id: 'a', n: 1, tag: 'x' });
      });

      it('returns null when nothing matches', async () => {
        const collection = await seeded([{ _id: 'a', n: 1 }]);
        assert.equal(await collection.findOneAndUpdate({ n: 2 }, { $set: { tag: 'x' } }), null);
        assert.equal(await collection.findOneAndUpdate({ n: 2 }, { $set: { tag: 'x' } }, { returnDocument: 'after' }), null);
        assert.equal(await collection.countDocuments({ tag: 'x' }), 0);
      });

      it('upserts, returning null before and the new document after', async () => {
        const collection = fresh();
        assert.equal(await collection.findOneAndUpdate({ _id: 'a' }, { $inc: { n: 1 } }, { upsert: true }), null);
        assert.deepEqual(await collection.findOneAndUpdate({ _id: 'b' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' }), { _id: 'b', n: 1 });
        assert.deepEqual(await all(collection), [{ _id: 'a', n: 1 }, { _id: 'b', n: 1 }]);
      });

      it('acts on a single document', async () => {
        const collection = await seeded([{ _id: 'a', g: 1 }, { _id: 'b', g: 1 }]);
        await collection.findOneAndUpdate({ g: 1 }, { $set: { picked: true } });
        assert.equal(await collection.countDocuments({ picked: true }), 1);
      });
    });

    // Claims, leases, single-use codes and replay checks are conditional updates that must win once:
    // MongoDB applies each write to one document atomically, so of writes racing on one condition,
    // exactly one matches, and no increment is lost.
    describe('single-document atomicity', () => {
      it('applies racing conditional writes to one document one at a time', async () => {
        const racers = 12;
        for (let round = 0; round < 3; round++) {
          const collection = await seeded([{ _id: 'a', claim: null, code: true, hits: 0 }]);
          const claims = await Promise.all(Array.from({ length: racers }, (_, i) => collection.updateOne({ _id: 'a', claim: null }, { $set: { claim: `p${i}` } })));
          assert.equal(claims.reduce((sum, r) => sum + r.modifiedCount, 0), 1, 'one claim');
          const spent = await Promise.all(Array.from({ length: racers }, () => collection.updateOne({ _id: 'a', code: true }, { $unset: { code: true } })));
          assert.equal(spent.reduce((sum, r) => sum + r.modifiedCount, 0), 1, 'a single-use code spent once');
          const taken = await Promise.all(Array.from({ length: racers }, () => collection.findOneAndUpdate({ _id: 'a', hits: 0 }, { $set: { taker: 'x' }, $inc: { hits: 1 } })));
          assert.equal(taken.filter((doc) => doc !== null).length, 1, 'one findOneAndUpdate takes it');
          await Promise.all(Array.from({ length: racers }, () => collection.updateOne({ _id: 'a' }, { $inc: { hits: 1 } })));
          assert.equal((await collection.findOne({ _id: 'a' }))?.['hits'], racers + 1, 'no increment lost');
        }
      });
    });

    describe('replaceOne', () => {
      it('replaces the whole document', async () => {
        const collection = await seeded([{ _id: 'a', old: 1, keep: 'x' }, { _id: 'b', old: 1 }]);
        assert.deepEqual(await collection.replaceOne({ _id: 'a' }, { _id: 'a', keep: 'y', added: [1] }), updated(1, 1));
        assert.deepEqual(await all(collection), [{ _id: 'a', keep: 'y', added: [1] }, { _id: 'b', old: 1 }]);
      });

      it('keeps the matched _id when the replacement has none', async () => {
        const collection = await seeded([{ _id: 'a', n: 1 }]);
        assert.deepEqual(await collection.replaceOne({ n: 1 }, { n: 2 } as unknown as Item), updated(1, 1));
        assert.deepEqual(await all(collection), [{ _id: 'a', n: 2 }]);
      });

      it('reports an identical replacement as unmodified', async () => {
        const collection = await seeded([{ _id: 'a', n: 1 }]);
        assert.deepEqual(await collection.replaceOne({ _id: 'a' }, { _id: 'a', n: 1 }), updated(1, 0));
      });

      it('reports nothing matched, or upserts', async () => {
        const collection = fresh();
        assert.deepEqual(await collection.replaceOne({ _id: 'a' }, { _id: 'a', n: 1 }), updated(0, 0));
        assert.deepEqual(await collection.replaceOne({ _id: 'a' }, { n: 1 } as unknown as Item, { upsert: true }), updated(0, 0, 'a'));
        assert.deepEqual(await all(collection), [{ _id: 'a', n: 1 }]);
      });

      it('refuses to change _id or to take update operators', async () => {
        const collection = await seeded([{ _id: 'a', n: 1 }]);
        await rejects(() => collection.replaceOne({ _id: 'a' }, { _id: 'b', n: 2 }));
        await rejects(() => collection.replaceOne({ _id: 'a' }, { $set: { n: 2 } } as unknown as Item));
        assert.deepEqual(await all(collection), [{ _id: 'a', n: 1 }]);
      });
    });

    describe('deletes', () => {
      it('deleteOne deletes only one of several matches', async () => {
        const collection = await seeded([{ _id: 'a', g: 1 }, { _id: 'b', g: 1 }, { _id: 'c', g: 2 }]);
        assert.deepEqual(await collection.deleteOne({ g: 1 }), { ...ok, deletedCount: 1 });
        assert.equal(await collection.countDocuments({ g: 1 }), 1);
        assert.deepEqual(await collection.deleteOne({ g: 3 }), { ...ok, deletedCount: 0 });
        assert.equal(await collection.countDocuments(), 2);
      });

      it('deleteMany deletes every match', async () => {
        const collection = await seeded(VALUES);
        assert.deepEqual(await collection.deleteMany({ v: null }), { ...ok, deletedCount: 2 });
        assert.deepEqual(await collection.deleteMany({ v: { $in: [1, '1'] } }), { ...ok, deletedCount: 2 });
        assert.equal(await collection.countDocuments(), VALUES.length - 4);
        assert.deepEqual(await collection.deleteMany({}), { ...ok, deletedCount: VALUES.length - 4 });
        assert.equal(await collection.countDocuments(), 0);
      });
    });

    describe('indexes', () => {
      it('names indexes as MongoDB does, or as asked', async () => {
        const collection = fresh();
        assert.equal(await collection.createIndex({ email: 1 }), 'email_1');
        assert.equal(await collection.createIndex({ organisationId: 1, at: -1 }), 'organisationId_1_at_-1');
        assert.equal(await collection.createIndex({ 'profile.name': 1 }, { name: 'by_name' }), 'by_name');
      });

      it('is idempotent, and refuses the same name with different options', async () => {
        const collection = await seeded([{ _id: 'a', email: 'a@x' }]);
        assert.equal(await collection.createIndex({ email: 1 }, { unique: true }), 'email_1');
        assert.equal(await collection.createIndex({ email: 1 }, { unique: true }), 'email_1');
        await rejects(() => collection.createIndex({ email: 1 }, { name: 'email_1' }));
        assert.deepEqual(await ids(collection, { email: 'a@x' }), ['a']);
      });

      it('drops an index by name, and refuses a name no index has', async () => {
        const collection = await seeded([{ _id: 'a', email: 'x' }]);
        await collection.createIndex({ email: 1 }, { unique: true });
        await collection.dropIndex('email_1');
        await collection.insertOne({ _id: 'b', email: 'x' });
        await rejects(() => collection.dropIndex('email_1'), isIndexNotFoundError);
        assert.deepEqual(await ids(collection, { email: 'x' }), ['a', 'b']);
      });

      it('refuses a unique index over existing duplicates', async () => {
        const collection = await seeded([{ _id: 'a', email: 'x' }, { _id: 'b', email: 'x' }]);
        await rejects(() => collection.createIndex({ email: 1 }, { unique: true }), isDuplicateKeyError);
      });

      it('enforces a unique index on every kind of write', async () => {
        const collection = await seeded([{ _id: 'a', email: 'a@x' }, { _id: 'b', email: 'b@x' }]);
        await collection.createIndex({ email: 1 }, { unique: true });
        const violation = duplicate('email_1');
        await rejects(() => collection.insertOne({ _id: 'c', email: 'a@x' }), violation);
        await rejects(() => collection.insertMany([{ _id: 'c', email: 'a@x' }]), violation);
        await rejects(() => collection.updateOne({ _id: 'b' }, { $set: { email: 'a@x' } }), violation);
        await rejects(() => collection.updateMany({ _id: 'b' }, { $set: { email: 'a@x' } }), violation);
        await rejects(() => collection.updateOne({ _id: 'c' }, { $set: { email: 'a@x' } }, { upsert: true }), violation);
        await rejects(() => collection.findOneAndUpdate({ _id: 'b' }, { $set: { email: 'a@x' } }), violation);
        await rejects(() => collection.replaceOne({ _id: 'b' }, { _id: 'b', email: 'a@x' }), violation);
        assert.deepEqual(await all(collection), [{ _id: 'a', email: 'a@x' }, { _id: 'b', email: 'b@x' }]);
        await collection.insertOne({ _id: 'c', email: 'c@x' });
        await collection.updateOne({ _id: 'a' }, { $set: { email: 'a@x' } });
        assert.equal(await collection.countDocuments(), 3);
      });

      it('enforces a compound unique index on the combination', async () => {
        const collection = fresh();
        await collection.createIndex({ organisationId: 1, slug: 1 }, { unique: true });
        await collection.insertMany([{ _id: 'a', organisationId: 'o1', slug: 's' }, { _id: 'b', organisationId: 'o2', slug: 's' }]);
        await rejects(() => collection.insertOne({ _id: 'c', organisationId: 'o1', slug: 's' }), duplicate('organisationId_1_slug_1'));
      });

      it('keeps queries correct on indexed fields', async () => {
        const collection = await seeded(VALUES);
        await collection.createIndex({ v: 1 });
        await collection.createIndex({ v: -1, _id: 1 }, { name: 'v_desc' });
        assert.deepEqual(await ids(collection, { v: 1 }), ['int1']);
        assert.deepEqual((await ids(collection, { v: null })).sort(), ['missing', 'null']);
        assert.deepEqual(await ids(collection, { v: { $gte: 1 } }, { sort: { v: -1 } }), ['int10', 'real', 'int1']);
      });
    });
  });
  if (unmatched.size > 0) throw new Error(`storeContract: no test is named ${[...unmatched].join(', ')}`);
}
