import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Random } from '../clock.ts';

/**
 * A password an admin or the operator hands over once, to be replaced at the next sign-in: 100
 * random bits as five groups of four letters and digits (base32 has no 0, 1, 8 or 9 to misread),
 * which the strength check rates as unguessable.
 */
export function newTemporaryPassword(random: Random): string {
  return encodeBase32LowerCaseNoPadding(random.bytes(13)).slice(0, 20).match(/.{4}/g)!.join('-');
}
