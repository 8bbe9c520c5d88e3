import { createHash, timingSafeEqual } from 'node:crypto';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Random } from '../clock.ts';

// Sessions and API keys share one design (Lucia's): a public id to find the record, and a
// secret of which only a SHA-256 hash is stored. The secret has 120 bits of entropy, so a fast
// hash is enough, and the comparison is constant-time so response timing reveals nothing.

const ID_BYTES = 15;
const SECRET_BYTES = 20;
const BASE32 = /^[a-z2-7]+$/;

export function newId(random: Random): string {
  return encodeBase32LowerCaseNoPadding(random.bytes(ID_BYTES));
}

export interface IssuedSecret {
  id: string;
  secret: string;
  secretHash: string;
}

export function issueSecret(random: Random): IssuedSecret {
  const secret = encodeBase32LowerCaseNoPadding(random.bytes(SECRET_BYTES));
  return { id: newId(random), secret, secretHash: hashSecret(secret) };
}

// Node's native SHA-256: every authenticated request hashes its token, and the pure-JS one cost
// several times as much.
const sha256 = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

export function hashSecret(secret: string): string {
  return sha256(secret).toString('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(storedHash)) return false;
  return timingSafeEqual(sha256(secret), Buffer.from(storedHash, 'hex'));
}

/** Splits `<prefix><id><sep><secret>`; null for anything malformed, so garbage never reaches the store. */
export function parseToken(token: string, prefix: string, separator: string): { id: string; secret: string } | null {
  if (token.length > 200 || !token.startsWith(prefix)) return null;
  const rest = token.slice(prefix.length);
  const at = rest.indexOf(separator);
  if (at <= 0) return null;
  const id = rest.slice(0, at);
  const secret = rest.slice(at + separator.length);
  if (!BASE32.test(id) || !BASE32.test(secret)) return null;
  return { id, secret };
}
