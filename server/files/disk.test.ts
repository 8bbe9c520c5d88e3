import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataKey, Keyring } from '../crypto/data-key.ts';
import { sealedFileKeyId } from '../crypto/frames.ts';
import { DiskBlobStore } from './disk.ts';
import { blobStoreContract } from './contract.ts';
import { BlobTooLargeError } from './files.ts';

async function* from(bytes: Uint8Array, piece = 10_000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += piece) yield bytes.subarray(i, i + piece);
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('disk blob store', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-blobs-'))));
  after(() => rm(dir, { recursive: true, force: true }));
  const key = new DataKey(randomBytes(32));
  const original = Buffer.concat([Buffer.from('Incident report: the sepsis protocol was followed. '), randomBytes(200_000)]);

  it('with a key, stores ciphertext under the plaintext hash and gives the plaintext back', async () => {
    const blobs = new DiskBlobStore(path.join(dir, 'sealed'), { keys: new Keyring(key) });
    const { sha256, size } = await blobs.put(from(original), { maxBytes: 1e9 });
    assert.equal(size, original.byteLength);
    const onDisk = await readFile(path.join(dir, 'sealed', sha256.slice(0, 2), sha256));
    assert.ok(!onDisk.includes(Buffer.from('sepsis')));
    assert.equal(sealedFileKeyId(onDisk), key.id);
    assert.deepEqual(Buffer.from(await blobs.read(sha256)), original);
    assert.deepEqual(await drain(await blobs.stream(sha256)), original);
    assert.equal(await blobs.has(sha256), true);
    await assert.rejects(blobs.put(from(original), { maxBytes: 1000 }), BlobTooLargeError);
    assert.deepEqual(await readdir(path.join(dir, 'sealed', 'tmp')), [], 'a refused upload leaves no temp file');
    await blobs.delete(sha256);
    assert.equal(await blobs.has(sha256), false);
  });

  it('files written before encryption stay readable; a reseal seals them, moves old keys, and is idempotent', async () => {
    const folder = path.join(dir, 'mixed');
    const { sha256 } = await new DiskBlobStore(folder).put(from(original), { maxBytes: 1e9 });
    const sealed = new DiskBlobStore(folder, { keys: new Keyring(key) });
    assert.deepEqual(Buffer.from(await sealed.read(sha256)), original, 'a plain file reads with a key configured');

    assert.equal(await sealed.reseal(sha256), true);
    assert.equal(await sealed.reseal(sha256), false);
    const file = path.join(folder, sha256.slice(0, 2), sha256);
    assert.equal(sealedFileKeyId(await readFile(file)), key.id);
    await assert.rejects(new DiskBlobStore(folder).read(sha256), /DATA_KEY_FILE is not set/);

    const next = new DataKey(randomBytes(32));
    const rotating = new DiskBlobStore(folder, { keys: new Keyring(next, [key]) });
    const listed: string[] = [];
    for await (const name of rotating.list()) listed.push(name);
    assert.deepEqual(listed, [sha256]);
    assert.equal(await rotating.reseal(sha256), true);
    assert.equal(sealedFileKeyId(await readFile(file)), next.id);
    assert.deepEqual(await drain(await new DiskBlobStore(folder, { keys: new Keyring(next) }).stream(sha256)), original);
  });
});

let places = 0;
blobStoreContract('disk', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), `lectern-blobs-${++places}-`));
  const all = async (folder: string): Promise<string[]> => {
    const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  };
  return {
    open: (keys) => new DiskBlobStore(dir, { keys }),
    raw: async () => Buffer.concat(await Promise.all((await all(dir)).map((file) => readFile(file)))),
    complete: async () => {
      let n = 0;
      for await (const _ of new DiskBlobStore(dir).list()) n++;
      return n;
    },
    leftovers: async () => (await all(path.join(dir, 'tmp'))).length,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
