import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Random } from '../clock.ts';
import { hashSecret } from './tokens.ts';

// Recovery codes stand in for the authenticator once each, when it is lost. Each holds 80 random
// bits, so a fast hash is enough to store it (as for session secrets): the store keeps only
// SHA-256 hashes, and a code is spent by removing its hash in one conditional write.

export const RECOVERY_CODE_COUNT = 10;
const CODE_BYTES = 10;

/** Ten fresh codes, shown to their owner once: `xxxx-xxxx-xxxx-xxxx`. */
export function newRecoveryCodes(random: Random): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => group(encodeBase32LowerCaseNoPadding(random.bytes(CODE_BYTES))));
}

/** The code as typed, without case, spaces or dashes; null when it cannot be a recovery code. */
export function normaliseRecoveryCode(text: string): string | null {
  const code = text.toLowerCase().replace(/[\s-]+/g, '');
  return /^[a-z2-7]{16}$/.test(code) ? code : null;
}

/** What is stored of a code: the hash of its normalised form. */
export function recoveryCodeHash(code: string): string {
  return hashSecret(normaliseRecoveryCode(code) ?? code);
}

function group(text: string): string {
  return text.match(/.{1,4}/g)!.join('-');
}
