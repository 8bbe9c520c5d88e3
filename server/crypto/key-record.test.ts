import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openEmbeddedStore } from '../store/embedded.ts';
import { DataKey, Keyring } from './data-key.ts';
import { confirmDataKey, DATA_KEY_RECORD, DataKeyMismatchError, ROTATION_RECORD, type MetaCollection } from './key-record.ts';

const AT = '2025-01-01T00:00:00.000Z';

describe('the data key DATA_DIR is under', () => {
  const meta = (): MetaCollection => openEmbeddedStore({ path: ':memory:' }).collection('meta');
  const keys = new Keyring(new DataKey(randomBytes(32)));

  it('is recorded the first time encryption is on, and then required', async () => {
    const m = meta();
    assert.equal(await confirmDataKey(m, null, AT), false, 'no key, nothing recorded: plain as before');
    assert.equal(await confirmDataKey(m, keys, AT), true);
    assert.equal((await m.findOne({ _id: DATA_KEY_RECORD }))?.value, keys.current.id);
    assert.equal(await confirmDataKey(m, keys, AT), false);
    await assert.rejects(confirmDataKey(m, null, AT), (err: Error) => err instanceof DataKeyMismatchError && /encrypted under data key [0-9a-f]{16}; set DATA_KEY_FILE/.test(err.message));
    await assert.rejects(confirmDataKey(m, new Keyring(new DataKey(randomBytes(32))), AT), /DATA_KEY_FILE holds data key .* but DATA_DIR is encrypted under data key/);
  });

  it('an unfinished rotation stops the server, whatever key it is given', async () => {
    const m = meta();
    await m.insertOne({ _id: ROTATION_RECORD, at: AT, value: 'abcdef0123456789' });
    for (const given of [null, keys]) await assert.rejects(confirmDataKey(m, given, AT), /rotation \(to key abcdef0123456789\) did not finish; run `npm run admin -- rotate-data-key/);
  });
});
