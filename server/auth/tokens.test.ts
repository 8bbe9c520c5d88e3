import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cryptoRandom } from '../clock.ts';
import { hashSecret, issueSecret, newId, parseToken, secretMatches } from './tokens.ts';

describe('tokens', () => {
  it('issues ids and secrets of lowercase base32 with enough entropy', () => {
    const a = issueSecret(cryptoRandom);
    assert.match(a.id, /^[a-z2-7]{24}$/);
    assert.match(a.secret, /^[a-z2-7]{32}$/);
    assert.notEqual(newId(cryptoRandom), newId(cryptoRandom));
    assert.equal(a.secretHash, hashSecret(a.secret));
    assert.ok(!a.secretHash.includes(a.secret));
  });

  it('matches only the right secret', () => {
    const { secret, secretHash } = issueSecret(cryptoRandom);
    assert.equal(secretMatches(secret, secretHash), true);
    assert.equal(secretMatches(secret + 'a', secretHash), false);
    assert.equal(secretMatches(secret, 'not-a-hash'), false);
  });

  it('parses well-formed tokens and rejects everything else', () => {
    assert.deepEqual(parseToken('abc.def', '', '.'), { id: 'abc', secret: 'def' });
    assert.deepEqual(parseToken('lectern_abc_def', 'lectern_', '_'), { id: 'abc', secret: 'def' });
    for (const bad of ['', '.', 'abc.', '.def', 'ABC.def', 'a b.c', 'abc.d.e', `${'a'.repeat(300)}.b`]) assert.equal(parseToken(bad, '', '.'), null, bad);
    assert.equal(parseToken('other_abc_def', 'lectern_', '_'), null);
  });
});
