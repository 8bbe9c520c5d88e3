import { randomUUID } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { GridFSBucket, type Collection, type Db, type GridFSFile, type ObjectId } from 'mongodb';
import type { Keyring } from '../crypto/data-key.ts';
import { HEADER_BYTES, isSealedFile, openFrames, sealFrames } from '../crypto/frames.ts';
import { measured, type BlobInfo, type BlobStore } from '../files/files.ts';

const SHA256 = /^[0-9a-f]{64}$/;
/** An upload's name until it is known complete; never a SHA-256, so lookups by hash cannot find it. */
const PARTIAL = 'partial-';

/**
 * Blobs in a GridFS bucket of the store's database, so every process on that database reads the
 * originals any of them took in. As on disk, a blob is named by its plaintext's SHA-256 and, with
 * a keyring, sealed as it streams in and opened as it streams out.
 *
 * A put uploads under a temporary name while hashing, then renames the upload to the hash. A
 * unique index on the name makes the rename the commit point, as rename(2) is on disk: of two
 * processes putting the same bytes at once, one rename wins, the other is refused, sees the
 * winner and drops its own copy; both end with one complete blob. (Without the index both renames
 * would succeed and leave two versions, and a reader could pick the one its loser deletes.)
 * The driver writes an upload's files document only after its last chunk, so whatever has a
 * hash for a name is complete.
 */
export class GridFsBlobStore implements BlobStore {
  readonly kind = 'gridfs';
  readonly #db: Db;
  readonly #bucket: GridFSBucket;
  readonly #files: Collection<GridFSFile>;
  readonly #chunks: Collection<{ files_id: ObjectId }>;
  readonly #keys: Keyring | null;
  #indexed: Promise<unknown> | null = null;

  constructor(db: Db, bucketName: string, options: { keys?: Keyring | null } = {}) {
    this.#db = db;
    this.#bucket = new GridFSBucket(db, { bucketName });
    // The collections GridFS keeps a bucket in (the GridFS spec fixes their names).
    this.#files = db.collection<GridFSFile>(`${bucketName}.files`);
    this.#chunks = db.collection<{ files_id: ObjectId }>(`${bucketName}.chunks`);
    this.#keys = options.keys ?? null;
  }

  async put(source: AsyncIterable<Uint8Array>, options: { maxBytes: number }): Promise<BlobInfo> {
    const counted = measured(source, options.maxBytes);
    const id = await this.#upload(this.#keys ? sealFrames(counted.chunks, this.#keys.current) : counted.chunks);
    const sha256 = counted.sha256();
    await this.#commit(id, sha256);
    return { sha256, size: counted.size() };
  }

  async read(sha256: string): Promise<Uint8Array> {
    const parts: Buffer[] = [];
    for await (const part of await this.stream(sha256)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  async stream(sha256: string): Promise<NodeJS.ReadableStream> {
    const file = await this.#find(sha256);
    if (!file) throw Object.assign(new Error(`no blob ${sha256}`), { code: 'ENOENT' });
    const { head, bytes } = await peek(this.#bucket.openDownloadStream(file._id), HEADER_BYTES);
    // Blobs stored before encryption was turned on stay readable as they are.
    return Readable.from(isSealedFile(head) ? openFrames(bytes, this.#keys) : bytes);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.#find(sha256)) !== null;
  }

  /** Every version by that name: GridFS written by another tool may hold several. */
  async delete(sha256: string): Promise<void> {
    checkSha256(sha256);
    for (const file of await this.#files.find({ filename: sha256 }, { projection: { _id: 1 } }).toArray()) await this.#remove(file._id);
  }

  async ping(): Promise<void> {
    await this.#db.command({ ping: 1 });
  }

  #find(sha256: string): Promise<GridFSFile | null> {
    checkSha256(sha256);
    return this.#files.findOne({ filename: sha256 });
  }

  /** Streams `bytes` into a new upload under a temporary name; removed again if anything fails. */
  async #upload(bytes: AsyncIterable<Uint8Array>): Promise<ObjectId> {
    const upload = this.#bucket.openUploadStream(`${PARTIAL}${randomUUID()}`);
    // Failures reach us through the write callbacks and finished(); unheard, the event would crash the process.
    upload.on('error', () => {});
    try {
      // Each write is awaited, so when the source fails no chunk insert is still on its way to
      // land after the clean-up below.
      for await (const chunk of bytes) await write(upload, chunk);
      upload.end();
      await finished(upload);
    } catch (err) {
      upload.destroy();
      await this.#remove(upload.id).catch(() => {});
      throw err;
    }
    return upload.id;
  }

  async #commit(id: ObjectId, sha256: string): Promise<void> {
    this.#indexed ??= this.#files.createIndex({ filename: 1 }, { unique: true }).catch((err: unknown) => {
      this.#indexed = null;
      throw err;
    });
    await this.#indexed;
    // The usual duplicate (the same file uploaded again) costs no refused write.
    if (await this.has(sha256)) return this.#remove(id);
    try {
      await this.#files.updateOne({ _id: id }, { $set: { filename: sha256 } });
    } catch (err) {
      // MongoDB refuses the duplicate name with 11000, FerretDB with a SQLite constraint error;
      // rather than read either, look for who holds the name now (the rename may even have
      // reached the server before a network error).
      const holder = await this.#find(sha256).catch(() => null);
      if (!holder) {
        await this.#remove(id).catch(() => {});
        throw err;
      }
      if (!holder._id.equals(id)) await this.#remove(id);
    }
  }

  async #remove(id: ObjectId): Promise<void> {
    // The files document first: once it is gone, no reader starts on the chunks being deleted.
    await this.#files.deleteOne({ _id: id });
    await this.#chunks.deleteMany({ files_id: id });
  }
}

function checkSha256(sha256: string): void {
  if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
}

function write(stream: Writable, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => stream.write(chunk, (err) => (err ? reject(err) : resolve())));
}

/** The first `n` bytes of `source` (fewer if it is shorter), and all of its bytes, those included. */
async function peek(source: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Buffer; bytes: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let length = 0;
  while (length < n) {
    const next = await it.next();
    if (next.done) break;
    seen.push(next.value);
    length += next.value.byteLength;
  }
  const bytes = async function* () {
    try {
      yield* seen;
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    } finally {
      // A reader that stops early closes the download, not only this generator.
      await it.return?.();
    }
  };
  return { head: Buffer.concat(seen).subarray(0, n), bytes: bytes() };
}
