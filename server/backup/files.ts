// Copying one file into or out of a backup, sealed with the backup key on the way in and opened
// on the way out (server/crypto/frames.ts: 64 KiB AES-256-GCM frames, so a large original never
// sits in memory), hashing both sides as it streams.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Keyring, type DataKey } from '../crypto/data-key.ts';
import { openFrames, sealFrames } from '../crypto/frames.ts';

export interface Copied {
  /** Size and SHA-256 of what was read. */
  source: { size: number; sha256: string };
  /** Size and SHA-256 of what was written. */
  target: { size: number; sha256: string };
}

async function* hashing(source: AsyncIterable<Uint8Array>, into: { size: number; hash: ReturnType<typeof createHash> }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    into.size += chunk.byteLength;
    into.hash.update(chunk);
    yield chunk;
  }
}

/** Copies `from` to `to` (its folder created), sealing under `key` (`seal`) or opening with it (`open`); a null key copies as is. */
export async function copyFile(from: string, to: string, key: DataKey | null, direction: 'seal' | 'open'): Promise<Copied> {
  await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  const read = { size: 0, hash: createHash('sha256') };
  const written = { size: 0, hash: createHash('sha256') };
  const source = hashing(createReadStream(from), read);
  const transformed = key === null ? source : direction === 'seal' ? sealFrames(source, key) : openFrames(source, new Keyring(key));
  await pipeline(hashing(transformed, written), createWriteStream(to, { mode: 0o600 }));
  return { source: { size: read.size, sha256: read.hash.digest('hex') }, target: { size: written.size, sha256: written.hash.digest('hex') } };
}

/** Writes what `source` yields to `to`, sealed under `key` (null: as is), without a plaintext copy on disk. */
export async function writeSealed(source: AsyncIterable<Uint8Array>, to: string, key: DataKey | null): Promise<Copied> {
  await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  const read = { size: 0, hash: createHash('sha256') };
  const written = { size: 0, hash: createHash('sha256') };
  const plain = hashing(source, read);
  await pipeline(hashing(key === null ? plain : sealFrames(plain, key), written), createWriteStream(to, { mode: 0o600 }));
  return { source: { size: read.size, sha256: read.hash.digest('hex') }, target: { size: written.size, sha256: written.hash.digest('hex') } };
}

/** Size and SHA-256 of a file as it is. */
export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const into = { size: 0, hash: createHash('sha256') };
  for await (const _ of hashing(createReadStream(file), into));
  return { size: into.size, sha256: into.hash.digest('hex') };
}
