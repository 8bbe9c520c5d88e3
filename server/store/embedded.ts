// The embedded store: the port implemented on Node's built-in SQLite (no native addon to fetch).
// Each collection is a table `(_id TEXT PRIMARY KEY, doc TEXT NOT NULL)`; `doc` is the JSON of the
// document without `_id`, queried through SQLite's JSON functions.
//
// Semantic choices where SQLite and MongoDB could drift apart:
// - Every comparison is guarded by the JSON type of the field, so '1' ≠ 1, false ≠ 0, and
//   $gt/$gte/$lt/$lte only compare within a type family (numbers, strings, booleans), as MongoDB does.
// - Sort uses SQLite's order (missing/null < numbers < strings), which is MongoDB's order for those
//   types; sorting on fields that mix in booleans, arrays or objects is not MongoDB-compatible.
// - Unique indexes follow SQLite: documents where the indexed field is missing or null do not
//   collide (MongoDB would treat them as duplicates of null). Matching MongoDB would mean indexing
//   ifnull(...) and querying through the same expression; the application only puts unique indexes
//   on fields that are always present, so the plain expression keeps indexes usable by every query.
//   For the same reason a unique index treats true and 1 as the same key.
// - Properties whose value is `undefined` are dropped (documents and update operands alike), as the
//   MongoDB driver does with `ignoreUndefined: true`; in a filter they are rejected, because
//   ignoring them would silently widen the match.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { openSqlite, Statements, transaction, WalEraser } from '../sqlite/connection.ts';
import {
  DuplicateKeyError,
  IndexNotFoundError,
  UnsupportedQueryError,
  type BaseDocument,
  type Collection,
  type DeleteResult,
  type FindCursor,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexOptions,
  type InsertManyResult,
  type InsertOneResult,
  type JsonValue,
  type Sort,
  type SortDirection,
  type Store,
  type UpdateOptions,
  type UpdateResult,
} from './store.ts';

type Doc = { [key: string]: JsonValue };
type Scalar = string | number | boolean;
type Row = { _id: string; doc: string };

const COLLECTION_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;
const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_DEPTH = 100;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/** The JSON types (as `json_type` names them) that MongoDB compares with each other. */
const FAMILY_TYPES = { string: "('text')", number: "('integer', 'real')", boolean: "('true', 'false')" } as const;
const COMPARISONS: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };
const UPDATE_OPERATORS = new Set(['$set', '$unset', '$inc', '$setOnInsert']);

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;
const describe = (value: unknown): string =>
  typeof value === 'object' && value !== null ? Object.prototype.toString.call(value) : String(value);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key.startsWith('$'));
}

/** Paths are inlined into SQL (an expression index only matches a literal path), so they are validated. */
function checkPath(path: string): string[] {
  const segments = path.split('.');
  // `__proto__` would reach Object.prototype when updates walk the document.
  if (!segments.every((segment) => SEGMENT.test(segment) && segment !== '__proto__')) {
    throw new UnsupportedQueryError(`unsupported field path ${JSON.stringify(path)}`);
  }
  return segments;
}

/** SQL for a field's value and its JSON type ('missing' rather than NULL, so NOT works on every condition). */
function field(path: string): { value: string; type: string } {
  if (path === '_id') return { value: '_id', type: "'text'" };
  checkPath(path);
  const jsonPath = `'$.${path}'`;
  return { value: `json_extract(doc, ${jsonPath})`, type: `ifnull(json_type(doc, ${jsonPath}), 'missing')` };
}

function scalar(value: unknown, where: string): Scalar | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new UnsupportedQueryError(`unsupported value for ${where}: ${describe(value)}`);
}

// node:sqlite cannot bind booleans; json_extract yields 1/0 for them, and the type guard keeps them apart from numbers.
const bind = (value: Scalar): SQLInputValue => (typeof value === 'boolean' ? Number(value) : value);

/** Matches when the field equals any of `values` (MongoDB equality: null also matches a missing field). */
function inSql(path: string, values: readonly unknown[], params: SQLInputValue[], where: string): string {
  const { value, type } = field(path);
  const families = new Map<keyof typeof FAMILY_TYPES, Scalar[]>();
  let matchesNull = false;
  for (const raw of values) {
    const item = scalar(raw, where);
    if (item === null) matchesNull = true;
    else {
      const family = typeof item as keyof typeof FAMILY_TYPES;
      const items = families.get(family);
      if (items) items.push(item);
      else families.set(family, [item]);
    }
  }
  const terms = matchesNull ? [`${type} IN ('null', 'missing')`] : [];
  for (const [family, items] of families) {
    terms.push(`(${type} IN ${FAMILY_TYPES[family]} AND ${value} IN (${items.map(() => '?').join(', ')}))`);
    params.push(...items.map(bind));
  }
  return terms.length > 0 ? `(${terms.join(' OR ')})` : '0';
}

function operatorSql(path: string, operator: string, operand: unknown, params: SQLInputValue[]): string {
  switch (operator) {
    case '$eq':
    case '$ne': {
      const equal = inSql(path, [operand], params, `${path}.${operator}`);
      return operator === '$eq' ? equal : `NOT ${equal}`;
    }
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) throw new UnsupportedQueryError(`${operator} needs an array`);
      const member = inSql(path, operand, params, `${path}.${operator}`);
      return operator === '$in' ? member : `NOT ${member}`;
    }
    case '$exists':
      if (typeof operand !== 'boolean') throw new UnsupportedQueryError('$exists needs a boolean');
      return `(${field(path).type} ${operand ? '<>' : '='} 'missing')`;
  }
  const comparison = COMPARISONS[operator];
  if (comparison === undefined) throw new UnsupportedQueryError(`unsupported operator ${operator}`);
  const item = scalar(operand, `${path}.${operator}`);
  if (item === null) throw new UnsupportedQueryError(`${operator} null is not supported`);
  const { value, type } = field(path);
  params.push(bind(item));
  return `(${type} IN ${FAMILY_TYPES[typeof item as keyof typeof FAMILY_TYPES]} AND ${value} ${comparison} ?)`;
}

/** Translates a filter to a WHERE clause, appending its bound values to `params` in placeholder order. */
function filterSql(filter: unknown, params: SQLInputValue[]): string {
  if (!isPlainObject(filter)) throw new UnsupportedQueryError(`a filter must be a plain object, not ${describe(filter)}`);
  const terms = Object.entries(filter).map(([key, condition]) => {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) throw new UnsupportedQueryError(`${key} needs a non-empty array`);
      return `(${condition.map((clause) => filterSql(clause, params)).join(key === '$and' ? ' AND ' : ' OR ')})`;
    }
    if (key.startsWith('$')) throw new UnsupportedQueryError(`unsupported operator ${key}`);
    if (!isOperatorObject(condition)) return inSql(key, [condition], params, key);
    return `(${Object.entries(condition).map(([op, operand]) => operatorSql(key, op, operand, params)).join(' AND ')})`;
  });
  return terms.length > 0 ? terms.join(' AND ') : '1';
}

/** ORDER BY or index columns for MongoDB-style `{path: 1 | -1}` keys. */
function keyColumns(keys: unknown, what: string): string {
  if (!isPlainObject(keys)) throw new UnsupportedQueryError(`${what} must be a plain object`);
  const columns = Object.entries(keys).map(([path, direction]) => {
    if (direction !== 1 && direction !== -1) throw new UnsupportedQueryError(`${what} directions must be 1 or -1`);
    return `${field(path).value}${direction === -1 ? ' DESC' : ''}`;
  });
  return columns.join(', ');
}

function orderSql(sort: Sort | undefined): string {
  const columns = sort === undefined ? '' : keyColumns(sort, 'sort');
  return columns === '' ? '' : ` ORDER BY ${columns}`;
}

function pageSql({ skip = 0, limit = 0 }: FindOptions, params: SQLInputValue[]): string {
  if (!Number.isSafeInteger(skip) || skip < 0 || !Number.isSafeInteger(limit) || limit < 0) {
    throw new UnsupportedQueryError('skip and limit must be non-negative integers');
  }
  if (skip === 0 && limit === 0) return '';
  // As in MongoDB, limit 0 means no limit.
  params.push(limit === 0 ? -1 : limit, skip);
  return ' LIMIT ? OFFSET ?';
}

function projector(projection: FindOptions['projection']): ((doc: Doc) => Doc) | undefined {
  if (projection === undefined) return undefined;
  if (!isPlainObject(projection)) throw new UnsupportedQueryError('projection must be a plain object');
  const modes = new Set<unknown>();
  for (const [key, mode] of Object.entries(projection)) {
    if (!SEGMENT.test(key)) throw new UnsupportedQueryError(`projection only supports top-level fields, not ${JSON.stringify(key)}`);
    if (mode !== 0 && mode !== 1) throw new UnsupportedQueryError('projection values must be 0 or 1');
    if (key !== '_id') modes.add(mode);
  }
  if (modes.size > 1) throw new UnsupportedQueryError('projection cannot mix inclusion and exclusion');
  const including = modes.has(1) || projection._id === 1;
  const keep = (key: string): boolean => (Object.hasOwn(projection, key) ? projection[key] === 1 : key === '_id' || !including);
  return (doc) => Object.fromEntries(Object.entries(doc).filter(([key]) => keep(key))) as Doc;
}

function selectSql(table: string, filter: unknown, options: FindOptions, params: SQLInputValue[]): string {
  return `SELECT _id, doc FROM ${quote(table)} WHERE ${filterSql(filter, params)}${orderSql(options.sort)}${pageSql(options, params)}`;
}

function checkJson(value: unknown, depth = 0): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (depth < MAX_DEPTH && Array.isArray(value)) {
    for (const item of value) checkJson(item, depth + 1);
    return;
  }
  if (depth < MAX_DEPTH && isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$') || key.includes('.') || key === '__proto__') throw new TypeError(`invalid field name ${JSON.stringify(key)}`);
      if (item !== undefined) checkJson(item, depth + 1);
    }
    return;
  }
  throw new TypeError(`documents must be plain JSON: ${describe(value)} is not JSON-representable${depth >= MAX_DEPTH ? ' or nested too deeply' : ''}`);
}

/** Validates a document and splits it into the `_id` and `doc` columns. */
function serialize(doc: unknown): Row {
  if (!isPlainObject(doc)) throw new TypeError(`a document must be a plain object, not ${describe(doc)}`);
  checkJson(doc);
  const { _id, ...rest } = doc;
  if (typeof _id !== 'string') {
    throw new TypeError('a document needs a string _id chosen by the application (upserts take it from the filter or $setOnInsert)');
  }
  return { _id, doc: JSON.stringify(rest) };
}

const load = (row: Row): Doc => ({ _id: row._id, ...(JSON.parse(row.doc) as Doc) });

const own = (object: Doc, key: string): JsonValue | undefined => (Object.hasOwn(object, key) ? object[key] : undefined);

/** The object holding the last segment of `path`; with `create`, missing intermediate objects are added. */
function parentOf(doc: Doc, path: string, create: boolean): [Doc, string] | undefined {
  const segments = checkPath(path);
  const last = segments.pop() as string;
  let current = doc;
  for (const segment of segments) {
    let next = own(current, segment);
    if (next === undefined && create) current[segment] = next = {};
    if (!isPlainObject(next)) {
      if (!create) return undefined;
      throw new (Array.isArray(next) ? UnsupportedQueryError : TypeError)(`cannot create field '${segment}' in a non-object while updating '${path}'`);
    }
    current = next as Doc;
  }
  return [current, last];
}

function setPath(doc: Doc, path: string, value: JsonValue): void {
  const [parent, key] = parentOf(doc, path, true) as [Doc, string];
  parent[key] = value;
}

interface Change {
  operator: string;
  path: string;
  value: unknown;
}

function parseUpdate(update: unknown): Change[] {
  if (!isPlainObject(update) || Object.keys(update).length === 0) throw new TypeError('an update needs update operators');
  const changes: Change[] = [];
  for (const [operator, fields] of Object.entries(update)) {
    if (!UPDATE_OPERATORS.has(operator)) throw new UnsupportedQueryError(`unsupported update operator ${operator}`);
    if (!isPlainObject(fields)) throw new TypeError(`${operator} needs an object`);
    for (const [path, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      checkPath(path);
      if (operator === '$inc' && !(typeof value === 'number' && Number.isFinite(value))) throw new TypeError(`$inc needs a finite number for '${path}'`);
      if (operator !== '$unset') checkJson(value);
      changes.push({ operator, path, value });
    }
  }
  // MongoDB refuses updates that touch a path twice or a path and its parent; after sorting, any such pair has an adjacent witness.
  const paths = changes.map((change) => change.path).sort();
  paths.forEach((path, i) => {
    const previous = paths[i - 1];
    if (previous !== undefined && (path === previous || path.startsWith(`${previous}.`))) {
      throw new Error(`Updating the path '${path}' would create a conflict at '${previous}'`);
    }
  });
  return changes;
}

function applyUpdate(doc: Doc, changes: readonly Change[], inserting: boolean): Doc {
  for (const { operator, path, value } of changes) {
    if (operator === '$setOnInsert' && !inserting) continue;
    if (operator === '$unset') {
      const location = parentOf(doc, path, false);
      if (location) delete location[0][location[1]];
    } else if (operator === '$inc') {
      const location = parentOf(doc, path, false);
      const current = location && own(...location);
      if (current !== undefined && typeof current !== 'number') throw new TypeError(`Cannot apply $inc to a non-numeric value at '${path}'`);
      setPath(doc, path, (current ?? 0) + (value as number));
    } else setPath(doc, path, value as JsonValue);
  }
  return doc;
}

/** The equality fields of a filter, which MongoDB copies into a document it upserts. */
function equalities(filter: unknown, doc: Doc = {}): Doc {
  for (const [key, condition] of Object.entries(filter as Record<string, unknown>)) {
    if (key === '$and') for (const clause of condition as unknown[]) equalities(clause, doc);
    else if (!key.startsWith('$')) {
      const value = isOperatorObject(condition) ? condition.$eq : condition;
      if (value !== undefined) setPath(doc, key, value as JsonValue);
    }
  }
  return doc;
}

/** The SQLite connection shared by a store's collections. */
class Database {
  readonly #statements = new Statements(() => this.open);
  readonly #tables = new Set<string>();
  #db: DatabaseSync | null;
  readonly eraser = new WalEraser(() => this.#db);

  constructor(location: string) {
    this.#db = openSqlite(location);
  }

  get open(): DatabaseSync {
    if (this.#db === null) throw new Error('the embedded store is closed');
    return this.#db;
  }

  close(): void {
    this.eraser.cancel();
    this.#db?.close();
    this.#db = null;
    this.#statements.clear();
  }

  ensureTable(table: string): void {
    if (this.#tables.has(table)) return;
    this.open.exec(`CREATE TABLE IF NOT EXISTS ${quote(table)} (_id TEXT PRIMARY KEY, doc TEXT NOT NULL)`);
    this.#tables.add(table);
  }

  all<R>(sql: string, params: readonly SQLInputValue[] = []): R[] {
    return this.#statements.all<R>(sql, ...params);
  }

  run(sql: string, ...params: SQLInputValue[]): number {
    return this.#statements.run(sql, ...params);
  }

  /** Runs `write` in an immediate transaction, so concurrent writers (other processes too) cannot interleave. */
  transaction<R>(write: () => R): R {
    return transaction(this.open, write);
  }
}

class EmbeddedCursor<T> implements FindCursor<T> {
  readonly #load: () => T[];
  constructor(load: () => T[]) {
    this.#load = load;
  }
  async toArray(): Promise<T[]> {
    return this.#load();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    yield* await this.toArray();
  }
}

interface Modification {
  result: UpdateResult;
  before: Doc | null;
  after: Doc | null;
}

class EmbeddedCollection<T extends BaseDocument> implements Collection<T> {
  readonly collectionName: string;
  readonly #db: Database;
  readonly #table: string;

  constructor(db: Database, name: string) {
    this.collectionName = name;
    this.#db = db;
    this.#table = quote(name);
  }

  #read<R>(sql: string, params: readonly SQLInputValue[]): R[] {
    this.#db.ensureTable(this.collectionName);
    return this.#db.all<R>(sql, params);
  }

  #write<R>(write: () => R): R {
    this.#db.ensureTable(this.collectionName);
    try {
      return this.#db.transaction(write);
    } catch (err) {
      const { errcode, message } = err as { errcode?: number; message?: string };
      if (errcode !== SQLITE_CONSTRAINT_UNIQUE && errcode !== SQLITE_CONSTRAINT_PRIMARYKEY) throw err;
      const index = /index '(.*)'$/s.exec(message ?? '')?.[1]?.slice(this.collectionName.length + 1) ?? '_id_';
      throw new DuplicateKeyError(this.collectionName, index);
    }
  }

  #insert(doc: unknown): Row {
    const row = serialize(doc);
    this.#db.run(`INSERT INTO ${this.#table} (_id, doc) VALUES (?, ?)`, row._id, row.doc);
    return row;
  }

  #find(filter: unknown, options: FindOptions = {}): Doc[] {
    const params: SQLInputValue[] = [];
    const sql = selectSql(this.collectionName, filter, options, params);
    const project = projector(options.projection);
    const docs = this.#read<Row>(sql, params).map(load);
    return project ? docs.map(project) : docs;
  }

  /** Read-modify-write of the matching documents; `change` gets a private copy, or null when upserting. */
  #modify(filter: unknown, many: boolean, upsert: boolean, change: (current: Doc | null) => Doc): Modification {
    const params: SQLInputValue[] = [];
    const sql = `SELECT _id, doc FROM ${this.#table} WHERE ${filterSql(filter, params)}${many ? '' : ' LIMIT 1'}`;
    return this.#write(() => {
      const rows = this.#read<Row>(sql, params);
      const result: UpdateResult = { acknowledged: true, matchedCount: rows.length, modifiedCount: 0, upsertedCount: 0, upsertedId: null };
      if (rows.length === 0 && upsert) {
        const row = this.#insert(change(null));
        return { result: { ...result, upsertedCount: 1, upsertedId: row._id }, before: null, after: load(row) };
      }
      let last: [before: Row, after: Row] | undefined;
      for (const row of rows) {
        const next = serialize(change(load(row)));
        if (next._id !== row._id) throw new Error("Performing an update on the path '_id' would modify the immutable field '_id'");
        if (next.doc !== row.doc) result.modifiedCount += this.#db.run(`UPDATE ${this.#table} SET doc = ? WHERE _id = ?`, next.doc, next._id);
        last = [row, next];
      }
      return { result, before: last ? load(last[0]) : null, after: last ? load(last[1]) : null };
    });
  }

  #update(filter: unknown, update: unknown, many: boolean, upsert = false): Modification {
    const changes = parseUpdate(update);
    return this.#modify(filter, many, upsert, (current) => applyUpdate(current ?? equalities(filter), changes, current === null));
  }

  async insertOne(doc: T): Promise<InsertOneResult> {
    return { acknowledged: true, insertedId: this.#write(() => this.#insert(doc))._id };
  }

  async insertMany(docs: readonly T[]): Promise<InsertManyResult> {
    const rows = this.#write(() => docs.map((doc) => this.#insert(doc)));
    return { acknowledged: true, insertedCount: rows.length, insertedIds: Object.fromEntries(rows.map((row, i) => [i, row._id])) };
  }

  async findOne(filter: object, options: FindOptions = {}): Promise<T | null> {
    return (this.#find(filter, { ...options, limit: 1 })[0] ?? null) as T | null;
  }

  find(filter: object, options?: FindOptions): FindCursor<T> {
    return new EmbeddedCursor(() => this.#find(filter, options) as unknown as T[]);
  }

  async countDocuments(filter: object = {}): Promise<number> {
    const params: SQLInputValue[] = [];
    const sql = `SELECT count(*) AS n FROM ${this.#table} WHERE ${filterSql(filter, params)}`;
    return this.#read<{ n: number }>(sql, params)[0]?.n ?? 0;
  }

  async updateOne(filter: object, update: object, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.#update(filter, update, false, options.upsert).result;
  }

  async updateMany(filter: object, update: object): Promise<UpdateResult> {
    return this.#update(filter, update, true).result;
  }

  async findOneAndUpdate(filter: object, update: object, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
    const { before, after } = this.#update(filter, update, false, options.upsert);
    return (options.returnDocument === 'after' ? after : before) as T | null;
  }

  async replaceOne(filter: object, replacement: T, options: UpdateOptions = {}): Promise<UpdateResult> {
    if (!isPlainObject(replacement)) throw new TypeError(`a replacement must be a plain object, not ${describe(replacement)}`);
    return this.#modify(filter, false, options.upsert ?? false, (current) => {
      const doc = { ...(replacement as Doc) };
      // MongoDB keeps the matched document's _id, or takes an upsert's from the filter's equality on _id.
      const _id = current ? current._id : equalities(filter)._id;
      return doc._id === undefined && _id !== undefined ? { _id, ...doc } : doc;
    }).result;
  }

  async deleteOne(filter: object): Promise<DeleteResult> {
    return this.#delete(filter, ' LIMIT 1');
  }

  async deleteMany(filter: object): Promise<DeleteResult> {
    return this.#delete(filter, '');
  }

  #delete(filter: object, limit: string): DeleteResult {
    const params: SQLInputValue[] = [];
    const sql = `DELETE FROM ${this.#table} WHERE _id IN (SELECT _id FROM ${this.#table} WHERE ${filterSql(filter, params)}${limit})`;
    const deletedCount = this.#write(() => this.#db.run(sql, ...params));
    if (deletedCount > 0) this.#db.eraser.schedule();
    return { acknowledged: true, deletedCount };
  }

  async createIndex(keys: Record<string, SortDirection>, options: IndexOptions = {}): Promise<string> {
    const columns = keyColumns(keys, 'index keys');
    if (columns === '') throw new UnsupportedQueryError('an index needs at least one key');
    const name = options.name ?? Object.entries(keys).map(([path, direction]) => `${path}_${direction}`).join('_');
    if (typeof name !== 'string' || name === '') throw new TypeError('an index name must be a non-empty string');
    // SQLite index names are database-wide, so they carry the collection name (stripped again for DuplicateKeyError).
    const sqlName = `${this.collectionName}.${name}`;
    const definition = ` ON ${this.#table} (${columns})`;
    const sql = `CREATE ${options.unique ? 'UNIQUE ' : ''}INDEX ${quote(sqlName)}${definition}`;
    return this.#write(() => {
      const existing = this.#db
        .all<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [this.collectionName])
        .find((index) => index.name === sqlName || index.sql.endsWith(definition));
      if (existing === undefined) this.#db.run(sql);
      // As in MongoDB, reusing a name or a key pattern with different options is an error, not a silent no-op.
      else if (existing.sql !== sql) throw new Error(`index '${name}' conflicts with the existing index '${existing.name.slice(this.collectionName.length + 1)}'`);
      return name;
    });
  }

  async dropIndex(name: string): Promise<void> {
    const sqlName = `${this.collectionName}.${name}`;
    this.#write(() => {
      const exists = this.#db.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = ?", [sqlName]).length > 0;
      if (!exists) throw new IndexNotFoundError(this.collectionName, name);
      this.#db.run(`DROP INDEX ${quote(sqlName)}`);
    });
  }
}

export class EmbeddedStore implements Store {
  readonly kind = 'embedded';
  /** The SQLite file, or null in memory; the embedded search index keeps its tables in the same file. */
  readonly file: string | null;
  readonly #db: Database;

  constructor(location: string) {
    this.#db = new Database(location);
    this.file = location === ':memory:' ? null : location;
  }

  collection<T extends BaseDocument>(name: string): Collection<T> {
    // sqlite_ names are reserved by SQLite for its own tables.
    if (!COLLECTION_NAME.test(name) || name.toLowerCase().startsWith('sqlite_')) throw new TypeError(`invalid collection name ${JSON.stringify(name)}`);
    return new EmbeddedCollection<T>(this.#db, name);
  }

  async ping(): Promise<void> {
    this.#db.all('SELECT 1');
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  /** SQLite's query plan for a find, one line per step; for tests that check indexes are used. */
  explain(collection: string, filter: object, options: FindOptions = {}): string[] {
    this.collection(collection);
    this.#db.ensureTable(collection);
    const params: SQLInputValue[] = [];
    const sql = `EXPLAIN QUERY PLAN ${selectSql(collection, filter, options, params)}`;
    return this.#db.all<{ detail: string }>(sql, params).map((row) => row.detail);
  }
}

export function openEmbeddedStore(options: { dir: string } | { path: ':memory:' }): EmbeddedStore {
  if ('path' in options) return new EmbeddedStore(':memory:');
  mkdirSync(options.dir, { recursive: true });
  return new EmbeddedStore(join(options.dir, 'lectern.sqlite'));
}
