import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateHOTP } from '@oslojs/otp';
import { decodeTotpKey, encodeTotpKey, matchingStep, normaliseTotpCode, stepAt, totpCodeAt, totpUri } from './totp.ts';

// RFC 6238 appendix B: the SHA-1 key "12345678901234567890", 8-digit codes at fixed times. Our
// codes are the same HOTP values truncated to 6 digits (the last six of the RFC's eight).
const rfcKey = new TextEncoder().encode('12345678901234567890');
const rfcVectors: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
];

describe('totp', () => {
  it('computes the RFC 6238 codes (6-digit truncation of its SHA-1 vectors)', () => {
    for (const [seconds, eight] of rfcVectors) {
      assert.equal(totpCodeAt(rfcKey, seconds * 1000), eight.slice(2), `T = ${seconds}`);
      assert.equal(generateHOTP(rfcKey, BigInt(stepAt(seconds * 1000)), 8), eight);
    }
  });

  it('accepts the steps one either side of now, and no further', () => {
    const now = 1_700_000_000_000;
    const at = (offsetSteps: number) => totpCodeAt(rfcKey, now + offsetSteps * 30_000);
    assert.equal(matchingStep(rfcKey, at(0), now, null), stepAt(now));
    assert.equal(matchingStep(rfcKey, at(-1), now, null), stepAt(now) - 1);
    assert.equal(matchingStep(rfcKey, at(1), now, null), stepAt(now) + 1);
    assert.equal(matchingStep(rfcKey, at(-2), now, null), null);
    assert.equal(matchingStep(rfcKey, at(2), now, null), null);
  });

  it('refuses a step already used, and every step before it (replay)', () => {
    const now = 1_700_000_000_000;
    const step = stepAt(now);
    assert.equal(matchingStep(rfcKey, totpCodeAt(rfcKey, now), now, step), null, 'the same step again');
    assert.equal(matchingStep(rfcKey, totpCodeAt(rfcKey, now - 30_000), now, step), null, 'an earlier step');
    assert.equal(matchingStep(rfcKey, totpCodeAt(rfcKey, now + 30_000), now, step), step + 1, 'a later one still counts');
  });

  it('takes codes with spaces, refuses anything else', () => {
    assert.equal(normaliseTotpCode(' 123 456 '), '123456');
    for (const bad of ['12345', '1234567', 'abcdef', '12345a', '']) assert.equal(normaliseTotpCode(bad), null, bad);
  });

  it('round-trips the key through base32 and names it in an otpauth URI', () => {
    const key = new Uint8Array(20).map((_, i) => i * 13);
    assert.deepEqual(decodeTotpKey(encodeTotpKey(key)), key);
    const text = totpUri('Lectern', 'ada@example.org', key);
    assert.ok(text.startsWith('otpauth://totp/Lectern:ada%40example.org?'), text);
    const uri = new URL(text);
    assert.equal(uri.searchParams.get('secret'), encodeTotpKey(key));
    assert.equal(uri.searchParams.get('period'), '30');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('issuer'), 'Lectern');
  });
});
