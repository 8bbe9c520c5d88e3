// Sealed text: AES-256-GCM under a key derived from the data key, with a fresh random 96-bit
// nonce per value, in a versioned envelope that names its key:
//
//   lectern:sealed:1:<key id, 16 hex>:<base64 of nonce (12) | ciphertext | tag (16)>
//
// The envelope is a string, so a sealed field keeps the store's JSON shape, and it is told apart
// from text written before encryption was turned on by its prefix (that text stays readable until
// a rotation seals it). The context — which collection and field — is authenticated data: a
// sealed value copied into another field does not open.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SealedDataError, type DataKey, type Keyring } from './data-key.ts';

const PREFIX = 'lectern:sealed:1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_CHARS = 16;
const PURPOSE = 'lectern sealed text v1';

export const isSealed = (value: string): boolean => value.startsWith(PREFIX);

/** The id of the key a sealed value is under. */
export function sealedKeyId(sealed: string): string {
  return sealed.slice(PREFIX.length, PREFIX.length + KEY_ID_CHARS);
}

export function sealText(key: DataKey, context: string, plaintext: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.derive(PURPOSE), nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${key.id}:${body.toString('base64')}`;
}

/** Opens a sealed value with whichever key of `keys` it names. */
export function openText(keys: Keyring | null, context: string, sealed: string): string {
  const id = sealedKeyId(sealed);
  if (!keys) throw new SealedDataError(`${context} is sealed under data key ${id}, and DATA_KEY_FILE is not set`);
  const key = keys.get(id);
  if (!key) throw new SealedDataError(`${context} is sealed under data key ${id}, not under the configured key ${keys.current.id}`);
  const body = Buffer.from(sealed.slice(PREFIX.length + KEY_ID_CHARS + 1), 'base64');
  if (sealed[PREFIX.length + KEY_ID_CHARS] !== ':' || body.byteLength < NONCE_BYTES + TAG_BYTES) throw new SealedDataError(`${context} holds a damaged sealed value`);
  const decipher = createDecipheriv('aes-256-gcm', key.derive(PURPOSE), body.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(body.subarray(body.byteLength - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(NONCE_BYTES, body.byteLength - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new SealedDataError(`${context} does not open under data key ${id}: it was changed on disk or sealed for another field`, { cause: err });
  }
}

/** Seals and opens the text of one context; with no keys, writes stay plain (and sealed reads fail clearly). */
export interface TextSeal {
  seal(plaintext: string): string;
  open(stored: string): string;
}

export function textSeal(keys: Keyring | null, context: string): TextSeal {
  return {
    seal: (plaintext) => (keys ? sealText(keys.current, context, plaintext) : plaintext),
    open: (stored) => (isSealed(stored) ? openText(keys, context, stored) : stored),
  };
}

/**
 * For a rotation: the value sealed under the keyring's current key, or null when it already is.
 * Plain text (written before encryption was on) is sealed too.
 */
export function resealText(keys: Keyring, context: string, stored: string): string | null {
  if (!isSealed(stored)) return sealText(keys.current, context, stored);
  if (sealedKeyId(stored) === keys.current.id) return null;
  return sealText(keys.current, context, openText(keys, context, stored));
}
