// The store port. Its methods and result shapes are a strict subset of the MongoDB Node driver's
// `Db`/`Collection` API, so the MongoDB adapter is a thin pass-through and code written against the
// embedded implementation behaves the same in production.
//
// Documents are plain JSON values: strings, finite numbers, booleans, null, arrays and objects.
// Timestamps are ISO-8601 strings (they sort and compare correctly as strings). `_id` is a string
// chosen by the application. Anything outside the supported query subset throws
// `UnsupportedQueryError` rather than silently matching differently from MongoDB.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface BaseDocument {
  _id: string;
}

/** Comparison operators supported on a single field. */
export interface FieldOperators<V> {
  $eq?: V | null;
  $ne?: V | null;
  $gt?: V;
  $gte?: V;
  $lt?: V;
  $lte?: V;
  $in?: ReadonlyArray<V | null>;
  $nin?: ReadonlyArray<V | null>;
  $exists?: boolean;
}

type FieldCondition<V> = V | null | FieldOperators<V>;

/**
 * A MongoDB query filter, restricted to: equality on a field (dot paths reach into nested
 * objects), the operators of `FieldOperators`, and `$and` / `$or` of filters. Equality against an
 * array field is not supported (MongoDB's "array contains" semantics differ from SQL's).
 */
export type Filter<T> = {
  [K in keyof T]?: FieldCondition<T[K]>;
} & {
  [path: `${string}.${string}`]: FieldCondition<JsonValue>;
} & {
  $and?: Filter<T>[];
  $or?: Filter<T>[];
};

export type SortDirection = 1 | -1;
export type Sort = Record<string, SortDirection>;

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  /** Inclusion (`{a: 1}`) or exclusion (`{a: 0}`) projection of top-level fields; `_id` always kept unless `_id: 0`. */
  projection?: Record<string, 0 | 1>;
}

export interface UpdateFilter<T> {
  $set?: Partial<T> & Record<string, JsonValue | undefined>;
  $unset?: Record<string, '' | 1 | true>;
  $inc?: Record<string, number>;
  /** Applied only when an upsert inserts. */
  $setOnInsert?: Partial<T>;
}

export interface UpdateOptions {
  upsert?: boolean;
}

export interface FindOneAndUpdateOptions extends UpdateOptions {
  returnDocument?: 'before' | 'after';
}

export interface InsertOneResult {
  acknowledged: true;
  insertedId: string;
}

export interface InsertManyResult {
  acknowledged: true;
  insertedCount: number;
  insertedIds: Record<number, string>;
}

export interface UpdateResult {
  acknowledged: true;
  matchedCount: number;
  modifiedCount: number;
  upsertedCount: number;
  upsertedId: string | null;
}

export interface DeleteResult {
  acknowledged: true;
  deletedCount: number;
}

export interface IndexOptions {
  name?: string;
  unique?: boolean;
}

export interface FindCursor<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>;
}

export interface Collection<T extends BaseDocument> {
  readonly collectionName: string;
  insertOne(doc: T): Promise<InsertOneResult>;
  insertMany(docs: readonly T[]): Promise<InsertManyResult>;
  findOne(filter: Filter<T>, options?: FindOptions): Promise<T | null>;
  find(filter: Filter<T>, options?: FindOptions): FindCursor<T>;
  countDocuments(filter?: Filter<T>): Promise<number>;
  updateOne(filter: Filter<T>, update: UpdateFilter<T>, options?: UpdateOptions): Promise<UpdateResult>;
  updateMany(filter: Filter<T>, update: UpdateFilter<T>): Promise<UpdateResult>;
  findOneAndUpdate(filter: Filter<T>, update: UpdateFilter<T>, options?: FindOneAndUpdateOptions): Promise<T | null>;
  replaceOne(filter: Filter<T>, replacement: T, options?: UpdateOptions): Promise<UpdateResult>;
  deleteOne(filter: Filter<T>): Promise<DeleteResult>;
  deleteMany(filter: Filter<T>): Promise<DeleteResult>;
  /** Idempotent, as in MongoDB: creating an existing index with the same keys and options is a no-op. */
  createIndex(keys: Record<string, SortDirection>, options?: IndexOptions): Promise<string>;
  /** As in MongoDB, an index that does not exist is an error (IndexNotFoundError). */
  dropIndex(name: string): Promise<void>;
}

export interface Store {
  /** Which implementation this is, for /readyz and logs. */
  readonly kind: string;
  collection<T extends BaseDocument>(name: string): Collection<T>;
  /** Resolves when the store can serve reads and writes; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by dropIndex for a name no index has (MongoDB's IndexNotFound, code 27). */
export class IndexNotFoundError extends Error {
  readonly code = 27;
  constructor(collection: string, index: string) {
    super(`index not found with name [${index}] in ${collection}`);
    this.name = 'IndexNotFoundError';
  }
}

export function isIndexNotFoundError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 27;
}

/** Thrown when a write would violate a unique index (MongoDB's E11000). */
export class DuplicateKeyError extends Error {
  readonly code = 11000;
  readonly index: string;
  constructor(collection: string, index: string) {
    super(`E11000 duplicate key error collection: ${collection} index: ${index}`);
    this.name = 'DuplicateKeyError';
    this.index = index;
  }
}

export class UnsupportedQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedQueryError';
  }
}

export function isDuplicateKeyError(err: unknown): err is { code: 11000 } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
