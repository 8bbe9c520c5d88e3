// DATA_DIR remembers which data key it is encrypted under (its id, never the key), so starting
// with no key, another key, or in the middle of a rotation is refused with what to do, instead of
// failing on the first sealed record a request happens to read.

import type { Collection } from '../store/store.ts';
import type { Keyring } from './data-key.ts';

export type MetaCollection = Collection<{ _id: string; at: string; value?: string }>;

/** The id of the key the data is sealed under. */
export const DATA_KEY_RECORD = 'data_key';
/** Present while a rotation re-seals: the id of the key it seals under. */
export const ROTATION_RECORD = 'data_key_rotation';

export class DataKeyMismatchError extends Error {
  override name = 'DataKeyMismatchError';
}

export const rotateCommand = 'npm run admin -- rotate-data-key --new-key-file <file>';

/**
 * Checks that `keys` is what DATA_DIR is encrypted under, and records it the first time
 * encryption is on. Returns true when encryption was just turned on for this DATA_DIR.
 */
export async function confirmDataKey(meta: MetaCollection, keys: Keyring | null, now: string): Promise<boolean> {
  const rotation = await meta.findOne({ _id: ROTATION_RECORD });
  if (rotation) throw new DataKeyMismatchError(`a data key rotation (to key ${rotation.value}) did not finish; run \`${rotateCommand}\` again before starting the server`);
  const recorded = (await meta.findOne({ _id: DATA_KEY_RECORD }))?.value;
  if (!keys) {
    if (recorded) throw new DataKeyMismatchError(`DATA_DIR is encrypted under data key ${recorded}; set DATA_KEY_FILE to the file holding it`);
    return false;
  }
  if (recorded && recorded !== keys.current.id) {
    throw new DataKeyMismatchError(`DATA_KEY_FILE holds data key ${keys.current.id}, but DATA_DIR is encrypted under data key ${recorded}; after a rotation, DATA_KEY_FILE must name the new key file`);
  }
  if (recorded) return false;
  await meta.replaceOne({ _id: DATA_KEY_RECORD }, { _id: DATA_KEY_RECORD, at: now, value: keys.current.id }, { upsert: true });
  return true;
}
