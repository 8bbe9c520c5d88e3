import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { openEmbeddedStore } from './embedded.ts';
import type { Collection } from './store.ts';
import { tenantCollection, type TenantDocument } from './tenant.ts';

interface Note extends TenantDocument {
  text: string;
}

describe('tenantCollection', () => {
  let raw: Collection<Note>;
  let a: Collection<Note>;
  let b: Collection<Note>;
  beforeEach(async () => {
    raw = openEmbeddedStore({ path: ':memory:' }).collection<Note>('notes');
    a = tenantCollection(raw, 'org-a');
    b = tenantCollection(raw, 'org-b');
    await raw.insertMany([
      { _id: 'n1', organisationId: 'org-a', text: 'a1' },
      { _id: 'n2', organisationId: 'org-b', text: 'b1' },
    ]);
  });

  it('confines reads, whatever the filter says', async () => {
    assert.equal(await b.findOne({ _id: 'n1' }), null);
    assert.deepEqual((await b.find({}).toArray()).map((n) => n._id), ['n2']);
    assert.deepEqual((await b.find({ $or: [{ _id: 'n1' }, { organisationId: 'org-a' }] }).toArray()).map((n) => n._id), []);
    assert.equal(await b.countDocuments({ organisationId: 'org-a' }), 0);
  });

  it('confines writes and deletes', async () => {
    assert.equal((await b.updateOne({ _id: 'n1' }, { $set: { text: 'pwned' } })).matchedCount, 0);
    assert.equal((await b.updateMany({}, { $set: { text: 'pwned' } })).matchedCount, 1);
    assert.equal(await b.findOneAndUpdate({ _id: 'n1' }, { $set: { text: 'pwned' } }), null);
    assert.equal((await b.replaceOne({ _id: 'n1' }, { _id: 'n1', organisationId: 'org-b', text: 'x' })).matchedCount, 0);
    assert.equal((await b.deleteOne({ _id: 'n1' })).deletedCount, 0);
    assert.equal((await b.deleteMany({})).deletedCount, 1);
    assert.equal((await raw.findOne({ _id: 'n1' }))?.text, 'a1');
  });

  it('refuses to write into or move to another organisation', async () => {
    await assert.rejects(b.insertOne({ _id: 'n3', organisationId: 'org-a', text: 'x' }), /own organisation/);
    await assert.rejects(a.updateOne({ _id: 'n1' }, { $set: { organisationId: 'org-b' } }), /cannot change organisation/);
    await a.updateOne({ _id: 'n9' }, { $set: { text: 'upserted' } }, { upsert: true });
    assert.equal((await raw.findOne({ _id: 'n9' }))?.organisationId, 'org-a', 'upserts land in the tenant');
  });
});
