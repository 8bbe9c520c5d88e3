import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BlobTooLargeError, type BlobInfo, type BlobStore } from './files.ts';

const SHA256 = /^[0-9a-f]{64}$/;

/** Blobs as files under `<dir>/ab/abcdef…`, written to a temp file, fsynced, then renamed into place. */
export class DiskBlobStore implements BlobStore {
  readonly kind = 'disk';
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.#dir, sha256.slice(0, 2), sha256);
  }

  async put(source: AsyncIterable<Uint8Array>, options: { maxBytes: number }): Promise<BlobInfo> {
    const tmpDir = path.join(this.#dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const file = await open(tmp, 'w');
    try {
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (size > options.maxBytes) throw new BlobTooLargeError(options.maxBytes);
        hash.update(chunk);
        await file.write(chunk);
      }
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await file.close();
    const sha256 = hash.digest('hex');
    const target = this.#path(sha256);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(tmp, target);
    // The rename is durable only once the directory entry is.
    const dir = await open(path.dirname(target), 'r');
    await dir.sync().finally(() => dir.close());
    return { sha256, size };
  }

  read(sha256: string): Promise<Uint8Array> {
    return readFile(this.#path(sha256));
  }

  async stream(sha256: string): Promise<NodeJS.ReadableStream> {
    const file = this.#path(sha256);
    await stat(file);
    return createReadStream(file);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.#path(sha256))).isFile();
    } catch {
      return false;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.#path(sha256), { force: true });
  }

  async ping(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
  }
}
