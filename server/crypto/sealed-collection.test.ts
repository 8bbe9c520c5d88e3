import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import { openEmbeddedStore } from '../store/embedded.ts';
import { UnsupportedQueryError, type Collection, type Store } from '../store/store.ts';
import { DataKey, Keyring } from './data-key.ts';
import { isSealed, sealedKeyId } from './envelope.ts';
import { resealDocument, sealedCollection } from './sealed-collection.ts';

interface Note {
  _id: string;
  kbId: string;
  text: string;
  quotes?: Array<{ n: number; quote: string }> | null;
  n?: number;
}

const SECRET = 'The sepsis protocol was followed on the night shift.';

describe('sealed collection', () => {
  const keys = new Keyring(new DataKey(randomBytes(32)));
  let store: Store;
  let raw: Collection<Note>;
  let notes: Collection<Note>;
  beforeEach(() => {
    store = openEmbeddedStore({ path: ':memory:' });
    raw = store.collection<Note>('notes');
    notes = sealedCollection(raw, ['text', 'quotes'], keys);
  });

  it('stores sealed fields as envelopes and reads them back through every method', async () => {
    await notes.insertOne({ _id: 'a', kbId: 'k', text: SECRET, quotes: [{ n: 1, quote: SECRET }] });
    await notes.insertMany([{ _id: 'b', kbId: 'k', text: 'second', quotes: null }]);
    const stored = await raw.findOne({ _id: 'a' });
    assert.ok(isSealed(stored!.text) && isSealed(stored!.quotes as unknown as string));
    assert.ok(!JSON.stringify(stored).includes('sepsis'));
    assert.equal((await raw.findOne({ _id: 'b' }))!.quotes, null, 'null stays null');

    assert.deepEqual(await notes.findOne({ _id: 'a' }), { _id: 'a', kbId: 'k', text: SECRET, quotes: [{ n: 1, quote: SECRET }] });
    assert.deepEqual((await notes.find({ kbId: 'k' }, { sort: { _id: 1 } }).toArray()).map((n) => n.text), [SECRET, 'second']);
    const iterated: string[] = [];
    for await (const n of notes.find({})) iterated.push(n.text);
    assert.equal(iterated.length, 2);

    await notes.updateOne({ _id: 'b' }, { $set: { text: 'changed' } });
    assert.ok(isSealed((await raw.findOne({ _id: 'b' }))!.text));
    assert.equal((await notes.findOne({ _id: 'b' }))!.text, 'changed');
    const after = await notes.findOneAndUpdate({ _id: 'b' }, { $set: { quotes: [{ n: 2, quote: 'q' }] }, $inc: { n: 1 } }, { returnDocument: 'after' });
    assert.deepEqual(after!.quotes, [{ n: 2, quote: 'q' }]);
    await notes.replaceOne({ _id: 'c' }, { _id: 'c', kbId: 'k', text: 'upserted' }, { upsert: true });
    await notes.updateOne({ _id: 'd' }, { $setOnInsert: { _id: 'd', kbId: 'k', text: 'inserted' } }, { upsert: true });
    for (const id of ['c', 'd']) assert.ok(isSealed((await raw.findOne({ _id: id }))!.text));
    assert.equal((await notes.findOne({ _id: 'd' }))!.text, 'inserted');
    assert.deepEqual(await notes.findOne({ _id: 'a' }, { projection: { kbId: 1 } }), { _id: 'a', kbId: 'k' });
  });

  it('refuses to query, sort, index or partly update a sealed field, but may ask whether it is set', async () => {
    await notes.insertOne({ _id: 'a', kbId: 'k', text: SECRET, quotes: null });
    const refused: Array<[string, () => Promise<unknown>]> = [
      ['equality', () => notes.findOne({ text: SECRET })],
      ['inside $or', () => notes.countDocuments({ $or: [{ kbId: 'x' }, { text: { $gt: 'a' } }] })],
      ['a dot path', () => notes.find({ 'quotes.quote': 'x' }).toArray()],
      ['a sort', () => notes.find({}, { sort: { text: 1 } }).toArray()],
      ['a partial $set', () => notes.updateOne({ _id: 'a' }, { $set: { 'quotes.0': 'x' } })],
      ['$inc', () => notes.updateMany({}, { $inc: { text: 1 } })],
      ['an index', () => notes.createIndex({ text: 1 })],
      ['a delete by value', () => notes.deleteMany({ text: SECRET })],
    ];
    for (const [what, attempt] of refused) await assert.rejects(attempt(), (err: Error) => err instanceof UnsupportedQueryError && /notes\.(text|quotes) is encrypted at rest/.test(err.message), what);
    assert.equal(await notes.countDocuments({ quotes: null }), 1);
    assert.equal(await notes.countDocuments({ text: { $exists: true } }), 1);
    assert.equal(await notes.countDocuments({ quotes: { $ne: null } }), 0);
  });

  it('reads what was stored before encryption was on; without the key, sealed fields fail clearly', async () => {
    await raw.insertOne({ _id: 'old', kbId: 'k', text: 'written in the clear', quotes: [{ n: 1, quote: 'q' }] });
    assert.deepEqual(await notes.findOne({ _id: 'old' }), { _id: 'old', kbId: 'k', text: 'written in the clear', quotes: [{ n: 1, quote: 'q' }] });
    await notes.insertOne({ _id: 'new', kbId: 'k', text: SECRET });
    const plain = sealedCollection(raw, ['text', 'quotes'], null);
    await plain.insertOne({ _id: 'p', kbId: 'k', text: 'plain' });
    assert.equal((await raw.findOne({ _id: 'p' }))!.text, 'plain');
    await assert.rejects(plain.findOne({ _id: 'new' }), /notes\.text is sealed under data key [0-9a-f]{16}, and DATA_KEY_FILE is not set/);
  });

  it('a rotation reseals plain and old-key fields under the new key and leaves current ones alone', async () => {
    await raw.insertOne({ _id: 'old', kbId: 'k', text: 'clear', quotes: null });
    await notes.insertOne({ _id: 'a', kbId: 'k', text: SECRET, quotes: [{ n: 1, quote: SECRET }] });
    const next = new DataKey(randomBytes(32));
    const ring = new Keyring(next, [keys.current]);
    for (const id of ['old', 'a']) {
      const doc = (await raw.findOne({ _id: id }))!;
      const resealed = resealDocument('notes', ['text', 'quotes'], doc, ring)!;
      assert.equal(sealedKeyId(resealed.text), next.id);
      assert.equal(resealed.quotes === null ? null : sealedKeyId(resealed.quotes as unknown as string), resealed.quotes === null ? null : next.id);
      await raw.replaceOne({ _id: id }, resealed);
      assert.equal(resealDocument('notes', ['text', 'quotes'], resealed, ring), null, 'a second pass changes nothing');
    }
    const rotated = sealedCollection(raw, ['text', 'quotes'], new Keyring(next));
    assert.deepEqual(await rotated.findOne({ _id: 'a' }), { _id: 'a', kbId: 'k', text: SECRET, quotes: [{ n: 1, quote: SECRET }] });
    assert.equal((await rotated.findOne({ _id: 'old' }))!.text, 'clear');
  });
});
