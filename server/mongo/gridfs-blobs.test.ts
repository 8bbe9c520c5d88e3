import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Db } from 'mongodb';
import { externalMongoUrl, ferretdbMissing, startFerretDB, type FerretDB } from '../../test/helpers/ferretdb.ts';
import { blobStoreContract, type BlobPlace } from '../files/contract.ts';
import { GridFsBlobStore } from './gridfs-blobs.ts';
import { mongoDatabaseOf, openMongoStore, type MongoStore } from './mongo.ts';

// Issue #11: originals in GridFS, so processes that share a MongoDB (each with a DATA_DIR of its
// own) read each other's uploads. Each test gets a fresh bucket in the test file's database.

const SHA256 = /^[0-9a-f]{64}$/;
const source = async function* (bytes: Uint8Array) {
  yield bytes;
};
let buckets = 0;

/** A fresh bucket in `db`, looked into through its two collections. */
function bucketPlace(db: Db): BlobPlace {
  const name = `blobs${++buckets}`;
  const files = db.collection(`${name}.files`);
  const chunks = db.collection(`${name}.chunks`);
  const completeIds = async () => (await files.find({}).toArray()).filter((f) => SHA256.test(String(f['filename']))).map((f) => f._id);
  return {
    open: (keys) => new GridFsBlobStore(db, name, { keys }),
    raw: async () => Buffer.concat((await chunks.find({}).toArray()).map((c) => Buffer.from(c['data'].buffer))),
    complete: async () => (await completeIds()).length,
    leftovers: async () => {
      const ids = await completeIds();
      return (await files.countDocuments({ _id: { $nin: ids } })) + (await chunks.countDocuments({ files_id: { $nin: ids } }));
    },
    dispose: async () => {
      await Promise.all([files.drop().catch(() => {}), chunks.drop().catch(() => {})]);
    },
  };
}

function gridFsSuite(where: string, url: () => string): void {
  describe(`GridFS blobs on ${where}`, () => {
    let store: MongoStore;
    let second: MongoStore;
    before(async () => {
      store = await openMongoStore(url());
      second = await openMongoStore(url());
    });
    after(async () => {
      await store?.dropDatabase();
      await Promise.all([store?.close(), second?.close()]);
    });
    const db = () => mongoDatabaseOf(store)!;

    blobStoreContract(`GridFS (${where})`, async () => bucketPlace(db()));

    it('puts through one connection and reads through another, as two processes on one database do', async () => {
      const bytes = randomBytes(600_000);
      const a = new GridFsBlobStore(db(), 'shared');
      const b = new GridFsBlobStore(mongoDatabaseOf(second)!, 'shared');
      const { sha256 } = await a.put(source(bytes), { maxBytes: 1e9 });
      assert.equal(sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(await b.has(sha256), true);
      assert.deepEqual(Buffer.from(await b.read(sha256)), bytes);
      await b.delete(sha256);
      assert.equal(await a.has(sha256), false);
    });

    it('keeps the name unique: the rename that commits a put is the one refused', async () => {
      const blobs = new GridFsBlobStore(db(), 'unique');
      await blobs.put(source(Buffer.from('x')), { maxBytes: 10 });
      const files = db().collection('unique.files');
      const indexes = await files.listIndexes().toArray();
      assert.ok(indexes.some((index) => index['unique'] === true && Object.keys(index['key']).join() === 'filename'), JSON.stringify(indexes));
      const [file] = await files.find({}).toArray();
      await assert.rejects(files.insertOne({ ...file!, _id: undefined }));
    });

    it('has no store but MongoDB: other stores give no database', () => {
      assert.equal(mongoDatabaseOf({ kind: 'embedded' } as never), null);
    });
  });
}

const missing = ferretdbMissing();
let ferret: FerretDB | undefined;
before(async () => {
  if (!missing) ferret = await startFerretDB();
});
after(async () => {
  await ferret?.stop();
});

describe('on FerretDB', { skip: missing }, () => gridFsSuite('FerretDB', () => ferret!.url));

const external = externalMongoUrl();
describe('on MONGODB_URL', { skip: external ? false : 'MONGODB_URL not set' }, () => gridFsSuite('MONGODB_URL', () => external!));
