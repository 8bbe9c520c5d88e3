// Sealed files: an original of up to hundreds of megabytes is encrypted as it streams in and
// decrypted as it streams out, one 64 KiB frame at a time, so it never sits in memory whole.
//
//   header (37 bytes): "LCTNBLOB" | version 1 | key id (8) | salt (16) | frame size (u32 BE)
//   frames: AES-256-GCM ciphertext | tag (16), each of `frame size` plaintext bytes but the last
//
// Each file has its own key, derived from the data key and the header's random salt, so frame
// nonces can be a counter: frame i's nonce is i (8 bytes) and a last-frame flag. A frame moved,
// dropped or repeated fails its tag, and so does a file cut at a frame boundary (its new last
// frame was not sealed as the last). The header is every frame's authenticated data.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SealedDataError, type DataKey, type Keyring } from './data-key.ts';

export const FRAME_SIZE = 64 * 1024;
const MAGIC = Buffer.from('LCTNBLOB', 'latin1');
const VERSION = 1;
export const HEADER_BYTES = MAGIC.byteLength + 1 + 8 + 16 + 4;
const TAG_BYTES = 16;
/** A header claiming larger frames is damaged; refusing it bounds what a reader buffers. */
const MAX_FRAME_SIZE = 16 * 1024 * 1024;
const PURPOSE = 'lectern sealed file v1';

/** Whether a file starting with `head` is sealed (a file written before encryption was on is not). */
export const isSealedFile = (head: Uint8Array): boolean => head.byteLength >= MAGIC.byteLength && MAGIC.equals(head.subarray(0, MAGIC.byteLength));

/** The id of the data key a sealed file's header names. */
export const sealedFileKeyId = (header: Uint8Array): string => Buffer.from(header.subarray(MAGIC.byteLength + 1, MAGIC.byteLength + 9)).toString('hex');

function nonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 0);
  n[11] = last ? 1 : 0;
  return n;
}

/** A frame's ciphertext and tag as written (two pieces: joining them would copy every frame once more). */
function sealFrame(key: Buffer, header: Buffer, index: number, last: boolean, plaintext: Uint8Array): [Buffer, Buffer] {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(index, last));
  cipher.setAAD(header);
  const ciphertext = cipher.update(plaintext);
  cipher.final(); // GCM emits nothing more
  return [ciphertext, cipher.getAuthTag()];
}

function openFrame(key: Buffer, header: Buffer, index: number, last: boolean, frame: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce(index, last));
  decipher.setAAD(header);
  decipher.setAuthTag(frame.subarray(frame.byteLength - TAG_BYTES));
  const plaintext = decipher.update(frame.subarray(0, frame.byteLength - TAG_BYTES));
  try {
    decipher.final(); // checks the tag; GCM emits nothing more
    return plaintext;
  } catch (err) {
    throw new SealedDataError(`sealed file: frame ${index} does not open (the file was changed, reordered or cut short)`, { cause: err });
  }
}

/** Encrypts `source` under `key`, yielding the header and then each frame as it fills. */
export async function* sealFrames(source: AsyncIterable<Uint8Array>, key: DataKey, frameSize = FRAME_SIZE): AsyncGenerator<Buffer> {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[MAGIC.byteLength] = VERSION;
  Buffer.from(key.id, 'hex').copy(header, MAGIC.byteLength + 1);
  const salt = randomBytes(16);
  salt.copy(header, MAGIC.byteLength + 9);
  header.writeUInt32BE(frameSize, MAGIC.byteLength + 25);
  const fileKey = key.derive(PURPOSE, salt);
  yield header;

  const frame = Buffer.allocUnsafe(frameSize);
  let fill = 0;
  let index = 0;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      // A full frame is sealed only once more bytes follow: until the source ends, it may be the last.
      if (fill === frameSize) {
        yield* sealFrame(fileKey, header, index++, false, frame);
        fill = 0;
      }
      const n = Math.min(frameSize - fill, chunk.byteLength - offset);
      frame.set(chunk.subarray(offset, offset + n), fill);
      fill += n;
      offset += n;
    }
  }
  yield* sealFrame(fileKey, header, index, true, frame.subarray(0, fill));
}

/** Decrypts a sealed file as it streams, with whichever key of `keys` its header names. */
export async function* openFrames(source: AsyncIterable<Uint8Array>, keys: Keyring | null): AsyncGenerator<Buffer> {
  const pending = new ByteQueue();
  let header: Buffer | null = null;
  let fileKey: Buffer | null = null;
  let sealedSize = 0;
  let index = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    if (!header) {
      if (pending.length < HEADER_BYTES) continue;
      header = pending.take(HEADER_BYTES);
      ({ fileKey, sealedSize } = readHeader(header, keys));
    }
    // Strictly more than one frame buffered: the first is not the last.
    while (pending.length > sealedSize) yield openFrame(fileKey!, header, index++, false, pending.take(sealedSize));
  }
  if (!header || pending.length < TAG_BYTES) throw new SealedDataError('sealed file is cut short');
  yield openFrame(fileKey!, header, index, true, pending.take(pending.length));
}

function readHeader(header: Buffer, keys: Keyring | null): { fileKey: Buffer; sealedSize: number } {
  if (!isSealedFile(header) || header[MAGIC.byteLength] !== VERSION) throw new SealedDataError('not a sealed file of a known version');
  const id = sealedFileKeyId(header);
  if (!keys) throw new SealedDataError(`the file is sealed under data key ${id}, and DATA_KEY_FILE is not set`);
  const key = keys.get(id);
  if (!key) throw new SealedDataError(`the file is sealed under data key ${id}, not under the configured key ${keys.current.id}`);
  const frameSize = header.readUInt32BE(MAGIC.byteLength + 25);
  if (frameSize === 0 || frameSize > MAX_FRAME_SIZE) throw new SealedDataError('sealed file: damaged header');
  return { fileKey: key.derive(PURPOSE, header.subarray(MAGIC.byteLength + 9, MAGIC.byteLength + 25)), sealedSize: frameSize + TAG_BYTES };
}

/** Bytes arriving in pieces of any size, taken out in pieces of exactly the size asked. */
class ByteQueue {
  #chunks: Buffer[] = [];
  length = 0;

  /** Kept, not copied: sources here (file streams, generators) hand over a fresh buffer each time. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.length += chunk.byteLength;
  }

  take(n: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.byteLength >= n) {
      this.#chunks[0] = first.subarray(n);
      if (first.byteLength === n) this.#chunks.shift();
      this.length -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#chunks[0]!;
      const used = Math.min(head.byteLength, n - filled);
      head.copy(out, filled, 0, used);
      filled += used;
      if (used === head.byteLength) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(used);
    }
    this.length -= n;
    return out;
  }
}
