import type { BaseDocument, Collection, Filter, FindOneAndUpdateOptions, FindOptions, UpdateFilter, UpdateOptions } from './store.ts';

export interface TenantDocument extends BaseDocument {
  organisationId: string;
}

// Tenant isolation lives here, beneath the routes: every read, write and delete through a
// tenant collection is confined to one organisation, so a handler that forgets a check, or an
// id guessed from another organisation, can only ever find nothing.

function confine<T extends TenantDocument>(filter: Filter<T>, organisationId: string): Filter<T> {
  return { $and: [filter, { organisationId } as Filter<T>] } as Filter<T>;
}

function guardUpdate<T extends TenantDocument>(update: UpdateFilter<T>, organisationId: string): UpdateFilter<T> {
  for (const op of ['$set', '$unset', '$inc'] as const) {
    if (update[op] && 'organisationId' in update[op]) throw new Error('a tenant document cannot change organisation');
  }
  return { ...update, $setOnInsert: { ...update.$setOnInsert, organisationId } as Partial<T> };
}

function guardDoc<T extends TenantDocument>(doc: T, organisationId: string): T {
  if (doc.organisationId !== organisationId) throw new Error('a tenant document must be written to its own organisation');
  return doc;
}

export function tenantCollection<T extends TenantDocument>(inner: Collection<T>, organisationId: string): Collection<T> {
  if (!organisationId) throw new Error('organisationId is required');
  // Every method is async so a refused write surfaces as a rejection, like any store error.
  return {
    collectionName: inner.collectionName,
    insertOne: async (doc) => inner.insertOne(guardDoc(doc, organisationId)),
    insertMany: async (docs) => inner.insertMany(docs.map((d) => guardDoc(d, organisationId))),
    findOne: async (filter: Filter<T>, options?: FindOptions) => inner.findOne(confine(filter, organisationId), options),
    find: (filter: Filter<T>, options?: FindOptions) => inner.find(confine(filter, organisationId), options),
    countDocuments: async (filter: Filter<T> = {}) => inner.countDocuments(confine(filter, organisationId)),
    updateOne: async (filter: Filter<T>, update: UpdateFilter<T>, options?: UpdateOptions) =>
      inner.updateOne(confine(filter, organisationId), guardUpdate(update, organisationId), options),
    updateMany: async (filter: Filter<T>, update: UpdateFilter<T>) => inner.updateMany(confine(filter, organisationId), guardUpdate(update, organisationId)),
    findOneAndUpdate: async (filter: Filter<T>, update: UpdateFilter<T>, options?: FindOneAndUpdateOptions) =>
      inner.findOneAndUpdate(confine(filter, organisationId), guardUpdate(update, organisationId), options),
    replaceOne: async (filter: Filter<T>, replacement: T, options?: UpdateOptions) =>
      inner.replaceOne(confine(filter, organisationId), guardDoc(replacement, organisationId), options),
    deleteOne: async (filter: Filter<T>) => inner.deleteOne(confine(filter, organisationId)),
    deleteMany: async (filter: Filter<T>) => inner.deleteMany(confine(filter, organisationId)),
    createIndex: async (keys, options) => inner.createIndex(keys, options),
    dropIndex: async (name) => inner.dropIndex(name),
  };
}
