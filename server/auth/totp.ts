import { createTOTPKeyURI, generateHOTP, verifyHOTP } from '@oslojs/otp';
import { decodeBase32IgnorePadding, encodeBase32NoPadding } from '@oslojs/encoding';
import type { Random } from '../clock.ts';

// Time-based one-time passwords (RFC 6238) as every authenticator app speaks them: HMAC-SHA-1,
// 30-second steps, 6 digits. @oslojs/otp computes the HOTP of a step; which steps count is
// decided here rather than by its Date.now()-based helpers, so the clock can be injected and
// the step a code matched is known — a step used once is never accepted again (replay).

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps either side of now that still count: clocks drift, people type slowly. */
export const TOTP_WINDOW_STEPS = 1;
/** RFC 4226 recommends at least 128 bits; 160 is the length of the HMAC-SHA-1 key itself. */
const KEY_BYTES = 20;

export function newTotpKey(random: Random): Uint8Array {
  return random.bytes(KEY_BYTES);
}

/** The key as authenticator apps take it typed in: base32, no padding. */
export function encodeTotpKey(key: Uint8Array): string {
  return encodeBase32NoPadding(key);
}

export function decodeTotpKey(encoded: string): Uint8Array {
  return decodeBase32IgnorePadding(encoded);
}

/** The `otpauth://` URI a QR code carries: `issuer:account`, so the app lists it recognisably. */
export function totpUri(issuer: string, account: string, key: Uint8Array): string {
  return createTOTPKeyURI(issuer, account, key, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
}

export function stepAt(ms: number): number {
  return Math.floor(ms / (TOTP_PERIOD_SECONDS * 1000));
}

/** The code an authenticator shows at `ms` (for tests, and nothing else on the server). */
export function totpCodeAt(key: Uint8Array, ms: number): string {
  return generateHOTP(key, BigInt(stepAt(ms)), TOTP_DIGITS);
}

/** Whether text looks like a TOTP code at all, once spaces are dropped (apps show `123 456`). */
export function normaliseTotpCode(text: string): string | null {
  const code = text.replace(/\s+/g, '');
  return /^\d{6}$/.test(code) ? code : null;
}

/**
 * The step within the window around `ms` whose code is `code`, skipping steps at or before
 * `usedStep` (each step's code is accepted once); null when none matches.
 */
export function matchingStep(key: Uint8Array, code: string, ms: number, usedStep: number | null): number | null {
  const now = stepAt(ms);
  for (let step = now - TOTP_WINDOW_STEPS; step <= now + TOTP_WINDOW_STEPS; step++) {
    if (usedStep !== null && step <= usedStep) continue;
    if (verifyHOTP(key, BigInt(step), TOTP_DIGITS, code)) return step;
  }
  return null;
}
