// Field-level encryption at the store port: chosen fields of a collection are sealed on every
// write and opened on every read, so services keep reading and writing plain documents while the
// store only ever holds ciphertext for those fields. A sealed field's value (string, array or
// object) becomes one envelope holding its JSON; null and absent stay as they are, so "is it
// set" still works. Nothing else about a sealed value can be asked of the store — ciphertext
// does not compare — so a filter, sort or index on one is refused rather than silently matching
// nothing.

import { isSealed, openText, sealedKeyId, sealText } from './envelope.ts';
import type { Keyring } from './data-key.ts';
import {
  UnsupportedQueryError,
  type BaseDocument,
  type Collection,
  type Filter,
  type FindCursor,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type UpdateFilter,
  type UpdateOptions,
} from '../store/store.ts';

type Doc = Record<string, unknown>;

/** Wraps `inner` so `fields` are sealed under `keys` (with no keys they are written plain, and sealed ones fail to read). */
export function sealedCollection<T extends BaseDocument>(inner: Collection<T>, fields: readonly string[], keys: Keyring | null): Collection<T> {
  const name = inner.collectionName;
  const sealedFields = new Set(fields);
  const context = (field: string): string => `${name}.${field}`;

  const seal = <D>(doc: D): D => {
    if (!keys) return doc;
    const out: Doc = { ...(doc as Doc) };
    for (const field of sealedFields) {
      const value = out[field];
      if (value !== null && value !== undefined) out[field] = sealText(keys.current, context(field), JSON.stringify(value));
    }
    return out as D;
  };
  const open = (doc: T): T => {
    let out: Doc | null = null;
    for (const field of sealedFields) {
      const value = (doc as Doc)[field];
      if (typeof value !== 'string' || !isSealed(value)) continue;
      out ??= { ...(doc as Doc) };
      out[field] = JSON.parse(openText(keys, context(field), value));
    }
    return (out ?? doc) as T;
  };
  const openOrNull = (doc: T | null): T | null => (doc ? open(doc) : null);

  const refuse = (field: string, what: string): never => {
    throw new UnsupportedQueryError(`${context(field)} is encrypted at rest: it cannot be ${what}`);
  };
  const sealedOf = (path: string): string | null => {
    const top = path.split('.')[0] ?? path;
    return sealedFields.has(top) ? top : null;
  };
  const checkFilter = (filter: Filter<T>): Filter<T> => {
    for (const [key, condition] of Object.entries(filter)) {
      if (key === '$and' || key === '$or') {
        for (const part of condition as Filter<T>[]) checkFilter(part);
        continue;
      }
      const field = sealedOf(key);
      if (field && (key !== field || !presenceOnly(condition))) refuse(field, 'queried');
    }
    return filter;
  };
  const checkOptions = (options: FindOptions | undefined): FindOptions | undefined => {
    for (const key of Object.keys(options?.sort ?? {})) {
      const field = sealedOf(key);
      if (field) refuse(field, 'sorted on');
    }
    return options;
  };
  const sealUpdate = (update: UpdateFilter<T>): UpdateFilter<T> => {
    for (const path of Object.keys(update.$inc ?? {})) {
      const field = sealedOf(path);
      if (field) refuse(field, 'incremented');
    }
    for (const op of ['$set', '$setOnInsert'] as const) {
      for (const path of Object.keys(update[op] ?? {})) {
        const field = sealedOf(path);
        if (field && path !== field) refuse(field, 'updated in part (set the whole field)');
      }
    }
    return {
      ...update,
      ...(update.$set ? { $set: seal(update.$set) } : {}),
      ...(update.$setOnInsert ? { $setOnInsert: seal(update.$setOnInsert) } : {}),
    };
  };

  return {
    collectionName: name,
    insertOne: async (doc) => inner.insertOne(seal(doc)),
    insertMany: async (docs) => inner.insertMany(docs.map(seal)),
    findOne: async (filter: Filter<T>, options?: FindOptions) => openOrNull(await inner.findOne(checkFilter(filter), checkOptions(options))),
    // As the store's own cursors, a refused query fails when the cursor is read.
    find: (filter: Filter<T>, options?: FindOptions) => mapCursor(() => inner.find(checkFilter(filter), checkOptions(options)), open),
    countDocuments: async (filter: Filter<T> = {}) => inner.countDocuments(checkFilter(filter)),
    updateOne: async (filter: Filter<T>, update: UpdateFilter<T>, options?: UpdateOptions) => inner.updateOne(checkFilter(filter), sealUpdate(update), options),
    updateMany: async (filter: Filter<T>, update: UpdateFilter<T>) => inner.updateMany(checkFilter(filter), sealUpdate(update)),
    findOneAndUpdate: async (filter: Filter<T>, update: UpdateFilter<T>, options?: FindOneAndUpdateOptions) =>
      openOrNull(await inner.findOneAndUpdate(checkFilter(filter), sealUpdate(update), options)),
    replaceOne: async (filter: Filter<T>, replacement: T, options?: UpdateOptions) => inner.replaceOne(checkFilter(filter), seal(replacement), options),
    deleteOne: async (filter: Filter<T>) => inner.deleteOne(checkFilter(filter)),
    deleteMany: async (filter: Filter<T>) => inner.deleteMany(checkFilter(filter)),
    createIndex: async (indexKeys, options) => {
      for (const key of Object.keys(indexKeys)) {
        const field = sealedOf(key);
        if (field) refuse(field, 'indexed');
      }
      return inner.createIndex(indexKeys, options);
    },
    dropIndex: async (name) => inner.dropIndex(name),
  };
}

/** Whether a condition only asks if a field is set: null, `$exists`, `$eq`/`$ne` null. */
function presenceOnly(condition: unknown): boolean {
  if (condition === null) return true;
  if (typeof condition !== 'object' || Array.isArray(condition)) return false;
  return Object.entries(condition as Doc).every(([op, v]) => op === '$exists' || ((op === '$eq' || op === '$ne') && v === null));
}

function mapCursor<T>(inner: () => FindCursor<T>, map: (doc: T) => T): FindCursor<T> {
  return {
    toArray: async () => (await inner().toArray()).map(map),
    async *[Symbol.asyncIterator]() {
      for await (const doc of inner()) yield map(doc);
    },
  };
}

/**
 * For a rotation: `doc` with every sealed field under the keyring's current key (plain ones
 * sealed, others re-sealed), or null when there was nothing to change.
 */
export function resealDocument<T extends BaseDocument>(collectionName: string, fields: readonly string[], doc: T, keys: Keyring): T | null {
  let out: Doc | null = null;
  for (const field of fields) {
    const value = (doc as Doc)[field];
    if (value === null || value === undefined) continue;
    const context = `${collectionName}.${field}`;
    let json: string;
    if (typeof value === 'string' && isSealed(value)) {
      if (sealedKeyId(value) === keys.current.id) continue;
      json = openText(keys, context, value);
    } else {
      json = JSON.stringify(value);
    }
    out ??= { ...(doc as Doc) };
    out[field] = sealText(keys.current, context, json);
  }
  return out as T | null;
}
