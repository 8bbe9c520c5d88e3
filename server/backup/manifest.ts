// A backup's manifest: what it holds and how to check it. Kept in the clear beside the sealed
// files (it names no document, only counts and checksums), so list-backups and a first
// integrity check need no key.

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

export const MANIFEST = 'manifest.json';
export const FORMAT = 1;

const fileEntry = z.object({
  /** Relative to the backup folder, as it is relative to DATA_DIR once restored. */
  path: z.string(),
  /** Of the bytes as they were in DATA_DIR (and are again once restored). */
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Of the bytes in the backup (sealed or not): a damaged copy is found without opening it. */
  stored: z.object({ size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
});
export type FileEntry = z.infer<typeof fileEntry>;

export const manifestSchema = z.object({
  format: z.literal(FORMAT),
  lectern: z.string(),
  createdAt: z.iso.datetime(),
  /** embedded: the SQLite file under store/; mongodb: one NDJSON dump per collection under mongodb/. */
  store: z.enum(['embedded', 'mongodb']),
  /** in-store: the embedded index is inside the store's file; rebuild: Meilisearch is derived, rebuilt from the store after a restore. */
  search: z.enum(['in-store', 'rebuild']),
  /** The backup key that sealed the files; null: written in the clear (BACKUP_ENCRYPTION=off). */
  sealedWith: z.string().nullable(),
  /** The data key DATA_DIR's contents are sealed under (encryption at rest); it is needed to use the restored data. */
  dataKeyId: z.string().nullable(),
  /** Documents per collection (embedded: rows per table, the search index's included). */
  counts: z.record(z.string(), z.number().int().nonnegative()),
  files: z.array(fileEntry),
});
export type Manifest = z.infer<typeof manifestSchema>;

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}

/** The manifest of the backup in `dir`; throws a BackupDamagedError when it is missing or not one. */
export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST), 'utf8');
  } catch (err) {
    throw new BackupDamagedError(`${dir} is not a Lectern backup: no ${MANIFEST} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupDamagedError(`${path.join(dir, MANIFEST)} is not JSON (damaged?)`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new BackupDamagedError(`${path.join(dir, MANIFEST)} is not a manifest this version reads: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** A backup that does not hold what its manifest says: the message names what differs. */
export class BackupDamagedError extends Error {
  override name = 'BackupDamagedError';
}
