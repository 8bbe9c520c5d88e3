import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Keyring } from '../crypto/data-key.ts';
import { HEADER_BYTES, isSealedFile, openFrames, sealedFileKeyId, sealFrames } from '../crypto/frames.ts';
import { measured, type BlobInfo, type BlobStore } from './files.ts';

const SHA256 = /^[0-9a-f]{64}$/;
const PREFIX = /^[0-9a-f]{2}$/;

/**
 * Blobs as files under `<dir>/ab/abcdef…`, written to a temp file, fsynced, then renamed into place.
 * With a keyring, each file is sealed as it streams in and opened as it streams out (files written
 * before encryption was turned on stay readable as they are). Either way a blob keeps the name of
 * its plaintext's SHA-256: documents record that hash and find duplicates by it, so a keyed name on
 * disk would hide nothing the store does not show.
 */
export class DiskBlobStore implements BlobStore {
  readonly kind = 'disk';
  readonly #dir: string;
  readonly #keys: Keyring | null;

  constructor(dir: string, options: { keys?: Keyring | null } = {}) {
    this.#dir = dir;
    this.#keys = options.keys ?? null;
  }

  #path(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.#dir, sha256.slice(0, 2), sha256);
  }

  async put(source: AsyncIterable<Uint8Array>, options: { maxBytes: number }): Promise<BlobInfo> {
    const counted = measured(source, options.maxBytes);
    const tmp = await this.#writeTemp(this.#keys ? sealFrames(counted.chunks, this.#keys.current) : counted.chunks);
    const sha256 = counted.sha256();
    await this.#commit(tmp, this.#path(sha256));
    return { sha256, size: counted.size() };
  }

  async read(sha256: string): Promise<Uint8Array> {
    const file = this.#path(sha256);
    if (!(await this.#sealed(file))) return readFile(file);
    const parts: Buffer[] = [];
    for await (const part of openFrames(createReadStream(file), this.#keys)) parts.push(part);
    return Buffer.concat(parts);
  }

  async stream(sha256: string): Promise<NodeJS.ReadableStream> {
    const file = this.#path(sha256);
    return (await this.#sealed(file)) ? Readable.from(openFrames(createReadStream(file), this.#keys)) : createReadStream(file);
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

  /** Every blob's SHA-256, for a rotation that visits them all. */
  async *list(): AsyncGenerator<string> {
    const prefixes = await readdir(this.#dir).catch(() => [] as string[]);
    for (const prefix of prefixes.filter((p) => PREFIX.test(p)).sort()) {
      for (const name of (await readdir(path.join(this.#dir, prefix))).sort()) {
        if (SHA256.test(name) && name.startsWith(prefix)) yield name;
      }
    }
  }

  /**
   * For a rotation: rewrites a blob sealed under the keyring's current key (a plain one is sealed,
   * one under another key of the ring re-sealed); false when it already was. The old file is
   * replaced atomically, so an interrupted rotation leaves every blob whole under one key or the other.
   */
  async reseal(sha256: string): Promise<boolean> {
    const keys = this.#keys;
    if (!keys) throw new Error('resealing needs a keyring');
    const file = this.#path(sha256);
    const head = await this.#head(file);
    if (isSealedFile(head) && sealedFileKeyId(head) === keys.current.id) return false;
    const plaintext = isSealedFile(head) ? openFrames(createReadStream(file), keys) : createReadStream(file);
    const tmp = await this.#writeTemp(sealFrames(plaintext, keys.current));
    await this.#commit(tmp, file);
    return true;
  }

  async #head(file: string): Promise<Buffer> {
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await handle.read(head, 0, HEADER_BYTES, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async #sealed(file: string): Promise<boolean> {
    return isSealedFile(await this.#head(file));
  }

  /** Streams `bytes` into a new temp file, fsynced; removed again if anything fails. */
  async #writeTemp(bytes: AsyncIterable<Uint8Array>): Promise<string> {
    const tmpDir = path.join(this.#dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, randomUUID());
    const file = await open(tmp, 'w');
    try {
      for await (const chunk of bytes) await file.write(chunk);
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await file.close();
    return tmp;
  }

  async #commit(tmp: string, target: string): Promise<void> {
    await mkdir(path.dirname(target), { recursive: true });
    await rename(tmp, target);
    // The rename is durable only once the directory entry is.
    const dir = await open(path.dirname(target), 'r');
    await dir.sync().finally(() => dir.close());
  }
}
