import { MongoClient, type Collection as DriverCollection, type Db, type Document } from 'mongodb';
import type { BaseDocument, Collection, Store } from '../store/store.ts';

// The store port over the official MongoDB driver. The port is a subset of the driver's API, so
// calls pass straight through; only results are rebuilt, so callers get exactly the port's shapes
// (the driver's carry extra fields and ObjectId-typed ids). Driver errors pass through as they
// are: a duplicate key is a MongoServerError with code 11000 and a missing index one with code 27,
// which is what the port's isDuplicateKeyError and isIndexNotFoundError test.

/** The database a URL names in its path (`mongodb://host/<db>`), or `lectern` when it names none. */
export function databaseName(url: string): string {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(url)?.[1];
  return path ? decodeURIComponent(path) : 'lectern';
}

export interface MongoStore extends Store {
  readonly kind: 'mongodb';
  /** The database the store works in, for tests that drop it afterwards. */
  readonly databaseName: string;
  dropDatabase(): Promise<void>;
}

// The database behind each open MongoDB store, for adapters that need more of the driver than the
// store port offers (GridFS): the port itself stays free of driver types.
const databases = new WeakMap<Store, Db>();

/** The driver's handle on a MongoDB store's database; null for any other store. */
export const mongoDatabaseOf = (store: Store): Db | null => databases.get(store) ?? null;

/** Connects (so a wrong URL or unreachable server fails at startup, not at the first request). */
export async function openMongoStore(url: string): Promise<MongoStore> {
  // ignoreUndefined: an undefined property is dropped, as the embedded store does, not stored as null.
  const client = new MongoClient(url, { ignoreUndefined: true });
  await client.connect();
  const db = client.db(databaseName(url));
  const store: MongoStore = {
    kind: 'mongodb',
    databaseName: db.databaseName,
    collection: <T extends BaseDocument>(name: string) => wrap<T>(db.collection(name)),
    async ping() {
      await db.command({ ping: 1 });
    },
    async dropDatabase() {
      await db.dropDatabase();
    },
    close: () => client.close(),
  };
  databases.set(store, db);
  return store;
}

function wrap<T extends BaseDocument>(c: DriverCollection<Document>): Collection<T> {
  // The port's filter and update types are subsets of the driver's; the driver's generics are looser
  // about them than TypeScript can see, hence the casts at this one boundary.
  type Any = never;
  const updated = (r: { matchedCount: number; modifiedCount: number; upsertedCount: number; upsertedId: unknown }) => ({
    acknowledged: true as const,
    matchedCount: r.matchedCount,
    modifiedCount: r.modifiedCount,
    upsertedCount: r.upsertedCount,
    upsertedId: r.upsertedId === null || r.upsertedId === undefined ? null : String(r.upsertedId),
  });
  return {
    collectionName: c.collectionName,
    async insertOne(doc) {
      const r = await c.insertOne(doc as Any);
      return { acknowledged: true, insertedId: String(r.insertedId) };
    },
    async insertMany(docs) {
      const r = await c.insertMany(docs as Any);
      const insertedIds: Record<number, string> = {};
      for (const [i, id] of Object.entries(r.insertedIds)) insertedIds[Number(i)] = String(id);
      return { acknowledged: true, insertedCount: r.insertedCount, insertedIds };
    },
    findOne: (filter, options) => c.findOne(filter as Any, options) as Promise<T | null>,
    find: (filter, options) => c.find(filter as Any, options) as unknown as ReturnType<Collection<T>['find']>,
    countDocuments: (filter = {}) => c.countDocuments(filter as Any),
    updateOne: async (filter, update, options) => updated(await c.updateOne(filter as Any, update as Any, options)),
    updateMany: async (filter, update) => updated(await c.updateMany(filter as Any, update as Any)),
    findOneAndUpdate: (filter, update, options = {}) => c.findOneAndUpdate(filter as Any, update as Any, options) as Promise<T | null>,
    replaceOne: async (filter, replacement, options) => updated(await c.replaceOne(filter as Any, replacement as Any, options)),
    async deleteOne(filter) {
      return { acknowledged: true, deletedCount: (await c.deleteOne(filter as Any)).deletedCount };
    },
    async deleteMany(filter) {
      return { acknowledged: true, deletedCount: (await c.deleteMany(filter as Any)).deletedCount };
    },
    createIndex: (keys, options = {}) => c.createIndex(keys, options),
    async dropIndex(name) {
      await c.dropIndex(name);
    },
  };
}
