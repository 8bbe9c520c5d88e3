import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DataKey, Keyring, SealedDataError } from './data-key.ts';
import { isSealed, openText, resealText, sealedKeyId, sealText, textSeal } from './envelope.ts';

const TEXT = 'Escalate any sepsis finding to the duty manager — Größe 12 µg 🩺';

describe('sealed text', () => {
  const key = new DataKey(randomBytes(32));
  const keys = new Keyring(key);

  it('round-trips, names its key, and never repeats a ciphertext', () => {
    const a = sealText(key, 'chunks.text', TEXT);
    const b = sealText(key, 'chunks.text', TEXT);
    assert.ok(isSealed(a));
    assert.equal(sealedKeyId(a), key.id);
    assert.notEqual(a, b);
    assert.ok(!a.includes('sepsis'));
    assert.equal(openText(keys, 'chunks.text', a), TEXT);
    assert.equal(openText(keys, 'chunks.text', sealText(key, 'chunks.text', '')), '');
  });

  it('a changed byte, another field or another key does not open', () => {
    const sealed = sealText(key, 'chunks.text', TEXT);
    const body = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64');
    for (const i of [0, 12, body.length - 1]) {
      const tampered = Buffer.from(body);
      tampered[i]! ^= 1;
      const changed = sealed.slice(0, sealed.lastIndexOf(':') + 1) + tampered.toString('base64');
      assert.throws(() => openText(keys, 'chunks.text', changed), SealedDataError, `byte ${i}`);
    }
    assert.throws(() => openText(keys, 'messages.content', sealed), /does not open/);
    assert.throws(() => openText(new Keyring(new DataKey(randomBytes(32))), 'chunks.text', sealed), /sealed under data key .* not under the configured key/);
    assert.throws(() => openText(null, 'chunks.text', sealed), /DATA_KEY_FILE is not set/);
    assert.throws(() => openText(keys, 'chunks.text', sealed.slice(0, 40)), SealedDataError);
  });

  it('text from before encryption reads as it is; a rotation seals it, re-seals old keys, and skips the current', () => {
    const seal = textSeal(keys, 'search_chunks.record');
    assert.equal(seal.open('{"text":"plain"}'), '{"text":"plain"}');
    assert.equal(textSeal(null, 'x').seal('plain'), 'plain');

    const next = new DataKey(randomBytes(32));
    const ring = new Keyring(next, [key]);
    const old = sealText(key, 'x', TEXT);
    const moved = resealText(ring, 'x', old)!;
    assert.equal(sealedKeyId(moved), next.id);
    assert.equal(openText(new Keyring(next), 'x', moved), TEXT);
    assert.equal(resealText(ring, 'x', moved), null);
    assert.equal(sealedKeyId(resealText(ring, 'x', 'plain')!), next.id);
  });
});
