// The embedded store's half of a backup: SQLite's online backup of DATA_DIR/store/lectern.sqlite
// (the embedded search index lives in the same file) and the originals under files/ and
// quarantine/, taken while the server serves.
//
// Originals are content-addressed and never change once written, so copying them while the
// server runs is safe; what matters is that the restored store names no original the backup
// lacks. They are copied twice around the store's snapshot: before it (everything already
// there), and after it (what arrived meanwhile). A file named by the snapshot existed when it
// was taken, so it is in one of the two passes, unless it was deleted between the snapshot and
// the second pass — a document uploaded and deleted within the seconds a backup takes.

import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import type { DataKey } from '../crypto/data-key.ts';
import { copyFile } from './files.ts';
import type { FileEntry } from './manifest.ts';

export const STORE_FILE = path.join('store', 'lectern.sqlite');
/** Folders of DATA_DIR holding originals (their tmp/ holds uploads still arriving, not yet named). */
export const BLOB_FOLDERS = ['files', 'quarantine'] as const;
/** Pages per backup step: the whole file in one step, so it is one read transaction (a consistent snapshot under WAL) and writers of other connections cannot make it restart. */
const ALL_PAGES = 2 ** 31 - 1;

/** Every original under DATA_DIR's blob folders, as paths relative to DATA_DIR. */
export async function listBlobs(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const folder of BLOB_FOLDERS) {
    const dir = path.join(root, folder);
    if (!existsSync(dir)) continue;
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const relative = path.relative(root, path.join(entry.parentPath, entry.name));
      if (relative.split(path.sep)[1] === 'tmp') continue;
      found.push(relative);
    }
  }
  return found.sort();
}

/**
 * Rows per table of a SQLite file (the store's collections and the search index's tables). The
 * file is left in rollback-journal mode, so it is one file with no -wal or -shm beside it (the
 * server turns WAL back on when it opens it).
 */
export function countTables(file: string): Record<string, number> {
  const db = new DatabaseSync(file);
  try {
    db.exec('PRAGMA journal_mode = DELETE');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
    const counts: Record<string, number> = {};
    for (const { name } of tables) counts[name] = Number((db.prepare(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get() as { n: number }).n);
    return counts;
  } finally {
    db.close();
  }
}

/** Writes the embedded store and originals of `dataDir` into `into`; returns the manifest's files and counts. */
export async function snapshotEmbedded(dataDir: string, into: string, key: DataKey | null): Promise<{ files: FileEntry[]; counts: Record<string, number> }> {
  const files: FileEntry[] = [];
  const copied = new Set<string>();
  const copyBlobs = async () => {
    for (const relative of await listBlobs(dataDir)) {
      if (copied.has(relative)) continue;
      try {
        const { source, target } = await copyFile(path.join(dataDir, relative), path.join(into, relative), key, 'seal');
        files.push({ path: relative, size: source.size, sha256: source.sha256, stored: target });
        copied.add(relative);
      } catch (err) {
        // Deleted since it was listed: its document is gone too.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  };

  await copyBlobs();
  const source = new DatabaseSync(path.join(dataDir, STORE_FILE));
  source.exec('PRAGMA busy_timeout = 5000');
  // The snapshot is in the clear until sealed; it stays inside the backup's unfinished folder (0700).
  const plain = path.join(into, `${STORE_FILE}.snapshot`);
  try {
    await mkdir(path.dirname(plain), { recursive: true, mode: 0o700 });
    await backup(source, plain, { rate: ALL_PAGES });
  } finally {
    source.close();
  }
  const counts = countTables(plain);
  const { source: read, target } = await copyFile(plain, path.join(into, STORE_FILE), key, 'seal');
  await Promise.all(['', '-wal', '-shm', '-journal'].map((suffix) => rm(`${plain}${suffix}`, { force: true })));
  files.push({ path: STORE_FILE, size: read.size, sha256: read.sha256, stored: target });
  await copyBlobs();
  return { files, counts };
}
