// The behaviour every BlobStore must share, written as a node:test suite so the same assertions run
// against the disk store and GridFS. What a store keeps is looked at through the place it keeps it
// in (files in a folder, documents in a bucket), which each implementation's test describes.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DataKey, Keyring } from '../crypto/data-key.ts';
import { BlobTooLargeError, type BlobStore } from './files.ts';

/** Where one test's blobs are kept: a fresh folder, a fresh bucket. */
export interface BlobPlace {
  /** A store over this place, sealing with `keys` (null: not sealing). Several may be open at once, as several processes would. */
  open(keys: Keyring | null): BlobStore;
  /** Every byte kept here, in any order: the test searches it for plaintext. */
  raw(): Promise<Buffer>;
  /** How many complete blobs are kept, copies included. */
  complete(): Promise<number>;
  /** How many pieces of unfinished or refused puts are left (temp files, partial uploads, stray chunks). */
  leftovers(): Promise<number>;
  dispose(): Promise<void>;
}

const MARKER = 'Incident report: the sepsis protocol was followed. ';
const original = Buffer.concat([Buffer.from(MARKER), randomBytes(300_000)]);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function* from(bytes: Uint8Array, piece = 10_000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += piece) yield bytes.subarray(i, i + piece);
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

export function blobStoreContract(name: string, newPlace: () => Promise<BlobPlace>): void {
  const key = new DataKey(randomBytes(32));
  const inPlace = (body: (place: BlobPlace) => Promise<void>) => async () => {
    const place = await newPlace();
    try {
      await body(place);
    } finally {
      await place.dispose();
    }
  };

  for (const sealed of [false, true]) {
    describe(`blob store contract on ${name}${sealed ? ', sealing' : ''}`, () => {
      const keys = sealed ? new Keyring(key) : null;

      it('gives back what was put, by its SHA-256, whole and as a stream', inPlace(async (place) => {
        const blobs = place.open(keys);
        assert.deepEqual(await blobs.put(from(original), { maxBytes: original.byteLength }), { sha256: sha256(original), size: original.byteLength });
        assert.deepEqual(Buffer.from(await blobs.read(sha256(original))), original);
        assert.deepEqual(await drain(await blobs.stream(sha256(original))), original);
        assert.equal(await blobs.has(sha256(original)), true);
        const empty = await blobs.put(from(Buffer.alloc(0)), { maxBytes: 0 });
        assert.deepEqual(empty, { sha256: sha256(Buffer.alloc(0)), size: 0 });
        assert.equal((await blobs.read(empty.sha256)).byteLength, 0);
        assert.equal(await place.leftovers(), 0);
      }));

      it('knows nothing of blobs never put, and refuses names that are not hashes', inPlace(async (place) => {
        const blobs = place.open(keys);
        const absent = sha256(Buffer.from('never stored'));
        assert.equal(await blobs.has(absent), false);
        await assert.rejects(blobs.read(absent), { code: 'ENOENT' });
        await assert.rejects(blobs.stream(absent), { code: 'ENOENT' });
        await assert.rejects(blobs.read('../../etc/passwd'), /not a sha256/);
        await blobs.delete(absent);
      }));

      it('keeps one copy of the same bytes put twice, and of the same bytes put at once by several stores', inPlace(async (place) => {
        const blobs = place.open(keys);
        const first = await blobs.put(from(original), { maxBytes: 1e9 });
        assert.deepEqual(await blobs.put(from(original, 7_000), { maxBytes: 1e9 }), first);
        assert.equal(await place.complete(), 1);

        const other = Buffer.concat([original, Buffer.from('another version')]);
        const racers = Array.from({ length: 8 }, () => place.open(keys));
        const puts = await Promise.all(racers.map((racer) => racer.put(from(other), { maxBytes: 1e9 })));
        for (const put of puts) assert.deepEqual(put, { sha256: sha256(other), size: other.byteLength });
        assert.equal(await place.complete(), 2);
        assert.equal(await place.leftovers(), 0);
        for (const racer of racers) assert.deepEqual(Buffer.from(await racer.read(sha256(other))), other);
      }));

      it('refuses more than maxBytes and leaves nothing of it behind', inPlace(async (place) => {
        const blobs = place.open(keys);
        await assert.rejects(blobs.put(from(original), { maxBytes: original.byteLength - 1 }), BlobTooLargeError);
        assert.equal(await blobs.has(sha256(original)), false);
        assert.equal(await place.complete(), 0);
        assert.equal(await place.leftovers(), 0, 'a refused put leaves no partial upload');
        const failing = (async function* () {
          yield original.subarray(0, 200_000);
          throw new Error('the client went away');
        })();
        await assert.rejects(blobs.put(failing, { maxBytes: 1e9 }), /went away/);
        assert.equal(await place.leftovers(), 0, 'a put whose source fails leaves no partial upload');
      }));

      it('deletes', inPlace(async (place) => {
        const blobs = place.open(keys);
        const { sha256: hash } = await blobs.put(from(original), { maxBytes: 1e9 });
        await blobs.delete(hash);
        assert.equal(await blobs.has(hash), false);
        await assert.rejects(blobs.read(hash), { code: 'ENOENT' });
        assert.equal(await place.complete(), 0);
        assert.equal(await place.leftovers(), 0);
        await blobs.delete(hash);
      }));

      it('answers a ping', inPlace(async (place) => {
        await place.open(keys).ping();
      }));
    });
  }

  describe(`blob store contract on ${name}, sealed content`, () => {
    it('is kept as ciphertext: the plaintext is nowhere in what the store holds', inPlace(async (place) => {
      await place.open(null).put(from(Buffer.from(`${MARKER} (plain)`)), { maxBytes: 1e9 });
      assert.ok((await place.raw()).includes(MARKER), 'the search finds the marker in an unsealed blob');
      const blobs = place.open(new Keyring(key));
      const { sha256: hash } = await blobs.put(from(original), { maxBytes: 1e9 });
      await place.open(null).delete(sha256(Buffer.from(`${MARKER} (plain)`)));
      assert.ok(!(await place.raw()).includes(MARKER));
      assert.deepEqual(Buffer.from(await blobs.read(hash)), original);
    }));

    it('is refused without a key, or with another key; opens with the key among older ones', inPlace(async (place) => {
      const { sha256: hash } = await place.open(new Keyring(key)).put(from(original), { maxBytes: 1e9 });
      await assert.rejects(place.open(null).read(hash), /DATA_KEY_FILE is not set/);
      const other = new DataKey(randomBytes(32));
      await assert.rejects(place.open(new Keyring(other)).read(hash), /not under the configured key/);
      await assert.rejects(async () => drain(await place.open(new Keyring(other)).stream(hash)), /not under the configured key/);
      assert.deepEqual(Buffer.from(await place.open(new Keyring(other, [key])).read(hash)), original);
    }));

    it('leaves blobs stored before sealing was turned on readable', inPlace(async (place) => {
      const { sha256: hash } = await place.open(null).put(from(original), { maxBytes: 1e9 });
      assert.deepEqual(await drain(await place.open(new Keyring(key)).stream(hash)), original);
    }));
  });
}
