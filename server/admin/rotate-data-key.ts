// rotate-data-key: re-seals everything encrypted at rest under a new data key — or, when
// DATA_KEY_FILE is unset, seals for the first time what was stored in the clear. It runs with the
// server stopped, and may be interrupted and run again: each record, chunk and file is rewritten
// whole, under one key or the other, and whatever is already under the new key is skipped.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isInside, Keyring, readDataKey, SealedDataError, type DataKey } from '../crypto/data-key.ts';
import { resealText } from '../crypto/envelope.ts';
import { DATA_KEY_RECORD, ROTATION_RECORD } from '../crypto/key-record.ts';
import { resealDocument } from '../crypto/sealed-collection.ts';
import { collections, SEALED_FIELDS } from '../db.ts';
import { EMBEDDING_CACHE_COLLECTION } from '../embeddings/cache.ts';
import { DiskBlobStore } from '../files/disk.ts';
import { resealRecords, SEARCH_RECORD_CONTEXT } from '../search/embedded/reseal.ts';
import { EmbeddedStore } from '../store/embedded.ts';
import type { BaseDocument, Store } from '../store/store.ts';
import { EXIT, UsageError, type AdminCommand, type AdminOutput } from './command.ts';
import { storeFileIn, storeInUse } from './store-in-use.ts';

/** Folders of DATA_DIR holding originals: the blob store, and the quarantine of infected uploads. */
const BLOB_FOLDERS = ['files', 'quarantine'];
/** The search index's own file when it is not inside the store's (server/search/open.ts). */
const SEPARATE_INDEX = path.join('search', 'index.sqlite');
const BATCH = 200;

export const rotateDataKey: AdminCommand = {
  name: 'rotate-data-key',
  summary: 'Re-encrypt DATA_DIR under a new data key (or encrypt what was stored before encryption was on).',
  help: `Usage: npm run admin -- rotate-data-key --new-key-file <file>

Re-encrypts, under the key in <file>, everything Lectern encrypts at rest: originals (and
quarantined ones), extracted text, chunks, the search index's stored passages, conversations
and messages; the embedding cache is emptied (its entries are named under the old key). With
DATA_KEY_FILE unset, it encrypts what was stored in the clear.

  DATA_KEY_FILE   the key DATA_DIR is encrypted under now (unset: not encrypted yet)
  DATA_DIR        as for the server
  --new-key-file  the new key: 64 hex digits (openssl rand -hex 32 > new.key), outside DATA_DIR

Stop the server first: the command refuses (exit 75) while another process has the store open,
and the server refuses to start while a rotation is unfinished. If it is interrupted, run it
again with the same files: what is already under the new key is skipped. When it is done, point
DATA_KEY_FILE at the new file and start the server; keep the old key until a backup taken
after the rotation exists.`,

  async run(args, { config, out }) {
    const { values } = parseArgs({ args, options: { 'new-key-file': { type: 'string' } }, strict: true, allowPositionals: false });
    const file = values['new-key-file'];
    if (!file) throw new UsageError('--new-key-file is required');
    if (config.MONGODB_URL) {
      // Its sealed fields are in MongoDB and its originals in GridFS; walking those is not built yet.
      out.warn('rotate-data-key works on the embedded store in DATA_DIR only; with MONGODB_URL set it cannot rotate the data key yet (nothing was changed)');
      return EXIT.failed;
    }
    if (isInside(file, config.dataDir)) throw new UsageError(`--new-key-file: ${path.resolve(file)} is inside DATA_DIR; keep the key apart from the data it locks`);
    const next = readDataKey(path.resolve(file));
    const current = config.dataKeys?.current ?? null;
    const dataFile = storeFileIn(config.dataDir);
    if (!existsSync(dataFile)) {
      out.warn(`DATA_DIR holds no Lectern store (${dataFile}); check DATA_DIR. A new DATA_DIR needs no rotation: set DATA_KEY_FILE before its first start.`);
      return EXIT.failed;
    }
    if (storeInUse(dataFile)) {
      out.warn(`${dataFile} is open in another process (is the server running?); stop it first`);
      return EXIT.busy;
    }
    const store = new EmbeddedStore(dataFile);
    try {
      const problem = await begin(store, current, next);
      if (problem) {
        out.warn(problem);
        return EXIT.config;
      }
      const keys = new Keyring(next, current ? [current] : []);
      await reseal(store, dataFile, config.dataDir, keys, current, out);
      const meta = collections(store, null).meta;
      await meta.replaceOne({ _id: DATA_KEY_RECORD }, { _id: DATA_KEY_RECORD, at: new Date().toISOString(), value: next.id }, { upsert: true });
      await meta.deleteOne({ _id: ROTATION_RECORD });
    } catch (err) {
      if (err instanceof SealedDataError) {
        out.warn(`${err.message}. DATA_KEY_FILE must hold the key DATA_DIR is encrypted under now, --new-key-file the new one.`);
        return EXIT.config;
      }
      throw err;
    } finally {
      await store.close();
    }
    out.say(`DATA_DIR is encrypted under data key ${next.id}.`);
    out.say(`Now set DATA_KEY_FILE=${path.resolve(file)} and start the server.`);
    return EXIT.ok;
  },
};

/** Checks that the keys given are the ones DATA_DIR is under, and records the rotation; a problem is returned, not thrown. */
async function begin(store: Store, current: DataKey | null, next: DataKey): Promise<string | null> {
  const meta = collections(store, null).meta;
  const unfinished = (await meta.findOne({ _id: ROTATION_RECORD }))?.value;
  if (unfinished && unfinished !== next.id) return `a rotation to data key ${unfinished} is unfinished; run it again with that key's file as --new-key-file`;
  const recorded = (await meta.findOne({ _id: DATA_KEY_RECORD }))?.value;
  // Resuming a rotation, DATA_DIR may already be recorded under the new key.
  if (recorded && recorded !== current?.id && recorded !== next.id) {
    return current
      ? `DATA_KEY_FILE holds data key ${current.id}, but DATA_DIR is encrypted under data key ${recorded}`
      : `DATA_DIR is encrypted under data key ${recorded}; set DATA_KEY_FILE to the file holding it`;
  }
  await meta.replaceOne({ _id: ROTATION_RECORD }, { _id: ROTATION_RECORD, at: new Date().toISOString(), value: next.id }, { upsert: true });
  return null;
}

async function reseal(store: Store, dataFile: string, dataDir: string, keys: Keyring, current: DataKey | null, out: AdminOutput): Promise<void> {
  for (const [name, fields] of Object.entries(SEALED_FIELDS)) {
    const { seen, changed } = await resealCollection(store, name, fields, keys);
    out.say(`${name}: ${changed} of ${seen} re-encrypted`);
  }
  let records = resealRecords(dataFile, (stored) => resealText(keys, SEARCH_RECORD_CONTEXT, stored));
  if (existsSync(path.join(dataDir, SEPARATE_INDEX))) records += resealRecords(path.join(dataDir, SEPARATE_INDEX), (stored) => resealText(keys, SEARCH_RECORD_CONTEXT, stored));
  out.say(`search index passages: ${records} re-encrypted`);
  for (const folder of BLOB_FOLDERS) {
    const blobs = new DiskBlobStore(path.join(dataDir, folder), { keys });
    let seen = 0;
    let changed = 0;
    for await (const sha256 of blobs.list()) {
      seen++;
      if (await blobs.reseal(sha256)) changed++;
    }
    out.say(`${folder}: ${changed} of ${seen} original files re-encrypted`);
  }
  // The cache names entries by a hash keyed under the data key: under a new key, every old name misses.
  if (current?.id !== keys.current.id) {
    const { deletedCount } = await store.collection(EMBEDDING_CACHE_COLLECTION).deleteMany({});
    out.say(`embedding cache: ${deletedCount} entries dropped (recomputed as needed)`);
  }
}

/** Rewrites each document whose sealed fields are not all under the current key, a page at a time in _id order. */
async function resealCollection(store: Store, name: string, fields: readonly string[], keys: Keyring): Promise<{ seen: number; changed: number }> {
  const raw = store.collection<BaseDocument>(name);
  let seen = 0;
  let changed = 0;
  let after = '';
  for (;;) {
    const page = await raw.find({ _id: { $gt: after } }, { sort: { _id: 1 }, limit: BATCH }).toArray();
    if (page.length === 0) return { seen, changed };
    for (const doc of page) {
      const resealed = resealDocument(name, fields, doc, keys);
      if (resealed) {
        await raw.replaceOne({ _id: doc._id }, resealed);
        changed++;
      }
    }
    seen += page.length;
    after = page.at(-1)!._id;
  }
}
