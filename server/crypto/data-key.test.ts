import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataKey, DataKeyError, isInside, Keyring, parseDataKey, readDataKey } from './data-key.ts';

describe('data key', () => {
  const secret = randomBytes(32);
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-key-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads the same key from hex (with a newline), base64, base64url and raw bytes', () => {
    const id = new DataKey(secret).id;
    assert.match(id, /^[0-9a-f]{16}$/);
    for (const form of [`${secret.toString('hex')}\n`, secret.toString('hex').toUpperCase(), secret.toString('base64'), secret.toString('base64url')]) {
      assert.equal(parseDataKey(Buffer.from(form)).id, id, form);
    }
    // Raw bytes that happen to be printable would be a passphrase; make sure this one is not.
    const raw = Buffer.from(secret);
    raw[0] = 0;
    assert.equal(parseDataKey(raw).id, new DataKey(raw).id);
  });

  it('refuses what is not a random 256-bit key, saying how to make one', () => {
    const refused = [
      '',
      'secret',
      secret.toString('hex').slice(0, 62), // 31 bytes
      `${secret.toString('hex')}00`, // 33 bytes
      'correct horse battery staple 123', // 32 printable characters: a passphrase
      '0'.repeat(64),
      '0123456789abcdef'.repeat(4), // a pattern: 8 distinct bytes
    ];
    for (const text of refused) assert.throws(() => parseDataKey(Buffer.from(text)), (err: Error) => err instanceof DataKeyError && /openssl rand -hex 32/.test(err.message), JSON.stringify(text));
  });

  it('names an unreadable or unusable file in one line', async () => {
    assert.throws(() => readDataKey(path.join(dir, 'none')), /cannot read .*none \(ENOENT\)/);
    const short = path.join(dir, 'short.key');
    await writeFile(short, 'abcd\n');
    assert.throws(() => readDataKey(short), (err: Error) => err.message.startsWith(`${short} holds no 256-bit key`) && !err.message.includes('\n'));
    const good = path.join(dir, 'good.key');
    await writeFile(good, `${secret.toString('hex')}\n`);
    assert.equal(readDataKey(good).id, new DataKey(secret).id);
  });

  it('derives independent keys per purpose, and a key id that is not the key', () => {
    const key = new DataKey(secret);
    assert.notDeepEqual(key.derive('a'), key.derive('b'));
    assert.deepEqual(key.derive('a'), key.derive('a'));
    assert.notDeepEqual(key.derive('a', Buffer.alloc(16, 1)), key.derive('a', Buffer.alloc(16, 2)));
    assert.ok(!secret.toString('hex').includes(key.id));
    assert.notEqual(new DataKey(randomBytes(32)).id, key.id);
  });

  it('a keyring seals with its current key and opens with any', () => {
    const old = new DataKey(randomBytes(32));
    const next = new DataKey(randomBytes(32));
    const ring = new Keyring(next, [old]);
    assert.equal(ring.current, next);
    assert.equal(ring.get(old.id), old);
    assert.equal(ring.get(new DataKey(randomBytes(32)).id), undefined);
  });

  it('knows a key file inside DATA_DIR', () => {
    assert.equal(isInside('/srv/data/key', '/srv/data'), true);
    assert.equal(isInside('/srv/data/sub/../key', '/srv/data'), true);
    assert.equal(isInside('/srv/data.key', '/srv/data'), false);
    assert.equal(isInside('/etc/lectern/key', '/srv/data'), false);
  });
});
