// The data key: the one 256-bit secret that encryption at rest derives every key from (field
// envelopes, original files, the embedding cache's names). It lives outside DATA_DIR, in the file
// DATA_KEY_FILE names, so a copy of DATA_DIR — a backup, a stolen disk image — is unreadable
// without it.

import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DATA_KEY_BYTES = 32;

/** A data key file that cannot be used: said in one line, for the configuration error. */
export class DataKeyError extends Error {
  override name = 'DataKeyError';
}

/** Sealed data that cannot be opened: no key, the wrong key, or bytes changed on disk. */
export class SealedDataError extends Error {
  override name = 'SealedDataError';
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;
const HOW_TO_MAKE = 'make one with `openssl rand -hex 32`';
/** 32 random bytes show ~30 distinct values; fewer than this means a pattern, not a key. */
const MIN_DISTINCT_BYTES = 16;

export class DataKey {
  /** Names the key in everything sealed under it, without revealing it (a one-way derivation). */
  readonly id: string;
  readonly #secret: Buffer;
  readonly #derived = new Map<string, Buffer>();

  constructor(secret: Uint8Array) {
    if (secret.byteLength !== DATA_KEY_BYTES) throw new DataKeyError(`a data key is ${DATA_KEY_BYTES} bytes, not ${secret.byteLength}`);
    this.#secret = Buffer.from(secret);
    this.id = this.derive('lectern key id').subarray(0, 8).toString('hex');
  }

  /** A 256-bit key for one purpose (HKDF-SHA-256), so no two uses share key material. Salt-less ones are kept. */
  derive(purpose: string, salt?: Uint8Array): Buffer {
    if (salt) return Buffer.from(hkdfSync('sha256', this.#secret, salt, purpose, 32));
    let key = this.#derived.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.#secret, Buffer.alloc(0), purpose, 32));
      this.#derived.set(purpose, key);
    }
    return key;
  }
}

/**
 * The keys sealed data may be under: `current` seals, and any of them opens. One key normally;
 * the old and the new one while a rotation re-seals.
 */
export class Keyring {
  readonly current: DataKey;
  readonly #byId: Map<string, DataKey>;

  constructor(current: DataKey, others: readonly DataKey[] = []) {
    this.current = current;
    this.#byId = new Map([...others, current].map((key) => [key.id, key]));
  }

  get(id: string): DataKey | undefined {
    return this.#byId.get(id);
  }
}

/** The key a file holds: 64 hex digits, base64 of 32 bytes, or exactly 32 raw bytes. */
export function parseDataKey(bytes: Uint8Array): DataKey {
  const raw = Buffer.from(bytes);
  const text = raw.toString('latin1').trim();
  let secret: Buffer;
  if (HEX_KEY.test(text)) secret = Buffer.from(text, 'hex');
  else if (BASE64_KEY.test(text)) secret = Buffer.from(text, 'base64');
  else if (raw.byteLength === DATA_KEY_BYTES && !isPrintable(raw)) secret = raw;
  else throw new DataKeyError(`holds no 256-bit key (64 hex digits, 44 base64 characters or 32 raw bytes; ${HOW_TO_MAKE})`);
  if (new Set(secret).size < MIN_DISTINCT_BYTES) throw new DataKeyError(`holds a key with a visible pattern, not a random one; ${HOW_TO_MAKE}`);
  return new DataKey(secret);
}

/** Reads and parses a key file; every problem is a DataKeyError naming the file. */
export function readDataKey(file: string): DataKey {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new DataKeyError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  try {
    return parseDataKey(bytes);
  } catch (err) {
    throw new DataKeyError(`${file} ${(err as Error).message}`, { cause: err });
  }
}

/** Whether `file` lies inside `dir`: a key kept with the data it locks protects nothing (a copy of the folder carries it). */
export function isInside(file: string, dir: string): boolean {
  const relative = path.relative(path.resolve(dir), path.resolve(file));
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** 32 printable characters are a passphrase someone typed, not a key. */
function isPrintable(bytes: Buffer): boolean {
  return bytes.every((b) => b >= 0x20 && b < 0x7f);
}
