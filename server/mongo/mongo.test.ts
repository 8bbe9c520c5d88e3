import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { externalMongoUrl, ferretdbMissing, startFerretDB, type FerretDB } from '../../test/helpers/ferretdb.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { storeContract } from '../store/contract.ts';
import { openStore } from '../store/open.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import { databaseName, openMongoStore, type MongoStore } from './mongo.ts';

const missing = ferretdbMissing();
let ferret: FerretDB | undefined;
before(async () => {
  if (!missing) ferret = await startFerretDB();
});
after(async () => {
  await ferret?.stop();
});

const drop = (store: MongoStore) => store.dropDatabase();

// Where FerretDB 1.24 (SQLite) answers differently from MongoDB and the adapter cannot make up for
// it. MongoDB itself runs the whole contract (MONGODB_URL below); the README lists these.
const NAMELESS_DUPLICATE = 'FerretDB\'s E11000 message names the collection but not the index (its docs: "exact error messages may be different"); code 11000 is checked below';
const UNIQUE_CONSTRAINT =
  'FerretDB on SQLite answers InternalError (1) with SQLite\'s "UNIQUE constraint failed", not DuplicateKey (11000), when an update of an existing document or a unique index build meets a duplicate';
const FERRETDB_DIFFERENCES: Record<string, string> = {
  'refuses a duplicate _id': NAMELESS_DUPLICATE,
  'stops insertMany at a duplicate': NAMELESS_DUPLICATE,
  'enforces a unique index on every kind of write': `${NAMELESS_DUPLICATE}; and ${UNIQUE_CONSTRAINT}`,
  'enforces a compound unique index on the combination': NAMELESS_DUPLICATE,
  'takes _id from $setOnInsert and equalities from $and':
    'FerretDB builds an upserted document from the top-level equalities of the filter only, not from those inside $and (FerretDB#3856)',
  'is idempotent, and refuses the same name with different options':
    'FerretDB compares an index of the same name by its keys only and accepts different options (unique) silently, where MongoDB answers IndexOptionsConflict (85)',
  'refuses a unique index over existing duplicates': UNIQUE_CONSTRAINT,
  'applies racing conditional writes to one document one at a time':
    'FerretDB 1.24 on SQLite reads a document and writes it back outside one transaction (FerretDB#3040), so racing conditional updates of one document can all match: seen here as several racing findOneAndUpdate or updateOne calls winning one condition. Not a store for production; MongoDB runs this case (MONGODB_URL)',
};

describe('the MongoDB store on FerretDB', { skip: missing }, () => {
  storeContract('mongodb (FerretDB)', () => openMongoStore(ferret!.url), (store) => drop(store as MongoStore), FERRETDB_DIFFERENCES);

  // What the contract's skipped duplicate-key cases would have shown, minus FerretDB's differences:
  // every write is refused, and inserts (upserts included), which the app catches, carry code 11000.
  it('refuses duplicates on every kind of write, with code 11000 on inserts', async () => {
    const store = await openMongoStore(ferret!.url);
    try {
      const users = store.collection<{ _id: string; email?: string; org?: string }>('users');
      await users.createIndex({ org: 1, email: 1 }, { unique: true });
      await users.insertMany([{ _id: 'a', org: 'o', email: 'a@x' }, { _id: 'b', org: 'o', email: 'b@x' }]);
      const inserts: Array<() => Promise<unknown>> = [
        () => users.insertOne({ _id: 'a' }),
        () => users.insertOne({ _id: 'c', org: 'o', email: 'a@x' }),
        () => users.insertMany([{ _id: 'c', org: 'p', email: 'a@x' }, { _id: 'b' }, { _id: 'd' }]),
        () => users.updateOne({ _id: 'e' }, { $set: { org: 'o', email: 'a@x' } }, { upsert: true }),
        () => users.findOneAndUpdate({ _id: 'e' }, { $set: { org: 'o', email: 'a@x' } }, { upsert: true }),
        () => users.replaceOne({ _id: 'e' }, { _id: 'e', org: 'o', email: 'a@x' }, { upsert: true }),
      ];
      for (const write of inserts) await assert.rejects(write, (err) => isDuplicateKeyError(err));
      // Updating an existing document into a duplicate: FerretDB answers InternalError (1), not 11000.
      const updates: Array<() => Promise<unknown>> = [
        () => users.updateOne({ _id: 'b' }, { $set: { email: 'a@x' } }),
        () => users.updateMany({ _id: 'b' }, { $set: { email: 'a@x' } }),
        () => users.findOneAndUpdate({ _id: 'b' }, { $set: { email: 'a@x' } }),
        () => users.replaceOne({ _id: 'b' }, { _id: 'b', org: 'o', email: 'a@x' }),
      ];
      for (const write of updates) await assert.rejects(write, /UNIQUE constraint failed|E11000/);
      // insertMany is ordered: what came before the duplicate stays, what came after never arrives.
      assert.deepEqual((await users.find({}, { sort: { _id: 1 } }).toArray()).map((u) => u._id), ['a', 'b', 'c']);
      assert.deepEqual(await users.findOne({ _id: 'b' }), { _id: 'b', org: 'o', email: 'b@x' });
    } finally {
      await drop(store);
      await store.close();
    }
  });
});

const external = externalMongoUrl();
describe('the MongoDB store on MONGODB_URL', { skip: external ? false : 'MONGODB_URL not set' }, () => {
  storeContract('mongodb (MONGODB_URL)', () => openMongoStore(external!), (store) => drop(store as MongoStore));
});

describe('databaseName', () => {
  it('takes the database from the URL path, defaulting to lectern', () => {
    assert.equal(databaseName('mongodb://h:27017/kb'), 'kb');
    assert.equal(databaseName('mongodb+srv://u:p@cluster.example.net/kb?retryWrites=true'), 'kb');
    assert.equal(databaseName('mongodb://a:1,b:2/kb?replicaSet=rs'), 'kb');
    assert.equal(databaseName('mongodb://h:27017/'), 'lectern');
    assert.equal(databaseName('mongodb://h:27017'), 'lectern');
    assert.equal(databaseName('mongodb://h/?authSource=admin'), 'lectern');
  });
});

describe('MONGODB_URL', () => {
  it('takes single hosts, seed lists and mongodb+srv, and refuses anything else', () => {
    for (const url of ['mongodb://h:27017/kb', 'mongodb://u:p%40ss@a:27017,b:27017/kb?replicaSet=rs', 'mongodb+srv://u:p@c.example.net/kb', 'mongodb://[::1]']) {
      assert.equal(loadConfig({ MONGODB_URL: url }).MONGODB_URL, url);
    }
    for (const url of ['http://h/kb', 'mongodb:/h', 'mongodb://', 'mongodb://h/k b', 'redis://h']) {
      assert.throws(() => loadConfig({ MONGODB_URL: url }), ConfigError, url);
    }
  });

  it('chooses the MongoDB store, from the variable or its _FILE', { skip: missing }, async () => {
    const log = createLogger({ level: 'silent' });
    for (const env of [{ MONGODB_URL: ferret!.url }, { MONGODB_URL_FILE: '/run/secrets/mongodb_url' }]) {
      const config = loadConfig({ ...env, DATA_DIR: '/nonexistent/lectern' }, () => `${ferret!.url}\n`);
      const store = await openStore(config, log);
      try {
        assert.equal(store.kind, 'mongodb');
        await store.ping();
        assert.equal((store as MongoStore).databaseName, databaseName(ferret!.url));
      } finally {
        await store.close();
      }
    }
  });
});
