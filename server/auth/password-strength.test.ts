import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passwordWeakness } from './password-strength.ts';

const owner = { email: 'ada@riverside.test', name: 'Ada Owner', organisation: 'Riverside Clinic' };

describe('password strength', () => {
  // The review's examples: each passed the old 12-character rule.
  for (const weak of ['password1234', ' '.repeat(12), 'ada@riverside.test', 'riverside clinic 2026', 'qwertyuiop123', 'aaaaaaaaaaaaaaaa']) {
    it(`refuses ${JSON.stringify(weak)} with a reason`, () => {
      const why = passwordWeakness(weak, owner);
      assert.ok(why, `${JSON.stringify(weak)} was accepted`);
      assert.match(why, /^is (too easy to guess|only spaces)/);
    });
  }

  for (const strong of ['correct horse battery staple', 'a sufficiently long password', 'Tr0mb0ne-Lagoon-Vesper']) {
    it(`accepts ${JSON.stringify(strong)}`, () => assert.equal(passwordWeakness(strong, owner), null));
  }
});
