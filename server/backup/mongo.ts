// The MongoDB store's half of a backup (MONGODB_URL): `mongodump` cannot be assumed on the box, so
// this is a logical dump through the driver — every collection as NDJSON in canonical Extended
// JSON (types survive: dates, ObjectIds, binary), the GridFS buckets' `files`/`chunks` included,
// so the originals are in it too — and each collection's indexes, which the migrations created
// once and a restore must create again. Sealed as it streams; no plaintext dump touches the disk.
//
// It is not one snapshot: MongoDB without a replica set has no cross-collection one. Collections
// are dumped application data first and GridFS last, so an original a dumped document names was
// stored before it (an upload writes its original first); very large databases are better served
// by `mongodump --archive` with its oplog option, where it is installed.

import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BSON, type Db, type Document } from 'mongodb';
import type { DataKey } from '../crypto/data-key.ts';
import { writeSealed } from './files.ts';
import { BackupDamagedError, type FileEntry } from './manifest.ts';

export const DUMP_DIR = 'mongodb';
const INDEXES = 'indexes.json';
const BATCH = 500;

const isGridFs = (name: string) => /\.(files|chunks)$/.test(name);
const dumpFile = (name: string) => path.join(DUMP_DIR, `${name}.ndjson`);

/** Dumps every collection of `db` into `into`, sealed under `key`; returns the manifest's files and counts. */
export async function dumpMongo(db: Db, into: string, key: DataKey | null): Promise<{ files: FileEntry[]; counts: Record<string, number> }> {
  const names = (await db.listCollections({ type: 'collection' }, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !n.startsWith('system.'));
  // Application data first, GridFS last (see above); within GridFS, files before chunks.
  names.sort((a, b) => Number(isGridFs(a)) - Number(isGridFs(b)) || a.localeCompare(b));
  const files: FileEntry[] = [];
  const counts: Record<string, number> = {};
  const indexes: Record<string, Document[]> = {};
  for (const name of names) {
    let n = 0;
    const lines = async function* () {
      for await (const doc of db.collection(name).find({}, { sort: { _id: 1 } })) {
        n++;
        yield Buffer.from(`${BSON.EJSON.stringify(doc, { relaxed: false })}\n`);
      }
    };
    const { source, target } = await writeSealed(lines(), path.join(into, dumpFile(name)), key);
    files.push({ path: dumpFile(name), size: source.size, sha256: source.sha256, stored: target });
    counts[name] = n;
    indexes[name] = (await db.collection(name).indexes()).filter((index) => index['name'] !== '_id_');
  }
  const list = path.join(DUMP_DIR, INDEXES);
  const { source, target } = await writeSealed(
    (async function* () {
      yield Buffer.from(JSON.stringify(indexes));
    })(),
    path.join(into, list),
    key,
  );
  files.push({ path: list, size: source.size, sha256: source.sha256, stored: target });
  return { files, counts };
}

/** Documents per collection in a restored (opened) dump, counted without loading it anywhere: what verify-backup compares. */
export async function countDump(from: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const file of await readdir(path.join(from, DUMP_DIR))) {
    if (!file.endsWith('.ndjson')) continue;
    let n = 0;
    for await (const line of createInterface({ input: createReadStream(path.join(from, DUMP_DIR, file)), crlfDelay: Infinity })) if (line) n++;
    counts[file.slice(0, -'.ndjson'.length)] = n;
  }
  return counts;
}

/** Whether `db` holds no document: a restore never mixes a backup into live data. */
export async function isEmptyDatabase(db: Db): Promise<boolean> {
  for (const { name } of await db.listCollections({ type: 'collection' }, { nameOnly: true }).toArray()) {
    if (!name.startsWith('system.') && (await db.collection(name).estimatedDocumentCount()) > 0) return false;
  }
  return true;
}

/** Loads a restored (opened) dump into `db`, indexes first so unique ones hold; returns documents per collection as loaded. */
export async function loadMongo(db: Db, from: string): Promise<Record<string, number>> {
  const dir = path.join(from, DUMP_DIR);
  const indexes = JSON.parse(await readFile(path.join(dir, INDEXES), 'utf8')) as Record<string, Document[]>;
  for (const [name, list] of Object.entries(indexes)) {
    for (const { key, name: indexName, v: _v, ns: _ns, ...options } of list) await db.collection(name).createIndex(key as Document, { ...options, name: indexName as string });
  }
  const counts: Record<string, number> = {};
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).sort((a, b) => Number(isGridFs(a.slice(0, -7))) - Number(isGridFs(b.slice(0, -7))))) {
    const name = file.slice(0, -'.ndjson'.length);
    const collection = db.collection(name);
    let batch: Document[] = [];
    let n = 0;
    for await (const line of createInterface({ input: createReadStream(path.join(dir, file)), crlfDelay: Infinity })) {
      if (!line) continue;
      try {
        batch.push(BSON.EJSON.parse(line, { relaxed: false }) as Document);
      } catch {
        throw new BackupDamagedError(`${path.join(DUMP_DIR, file)}: line ${n + 1} is not Extended JSON`);
      }
      n++;
      if (batch.length === BATCH) {
        await collection.insertMany(batch, { ordered: true });
        batch = [];
      }
    }
    if (batch.length > 0) await collection.insertMany(batch, { ordered: true });
    counts[name] = n;
  }
  return counts;
}
