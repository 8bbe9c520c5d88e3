// The embedded index's tables, kept in SQLite — by default in the store's own file, so the
// index is part of the one backup and needs no snapshot or journal of its own. A chunk row holds
// what a hit returns (`record`) and the terms it was indexed with, so a shard is loaded into
// memory by reading its rows, and a chunk is removed from memory without analysing it again.

import { placeholders } from '../../sqlite/connection.ts';
import type { ChunkRecord } from '../search.ts';

/** Bumped when the tables or the stored terms change shape; an index of another format is rebuilt from the store. */
export const FORMAT_VERSION = 2;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_shards (
  id INTEGER PRIMARY KEY,
  organisation_id TEXT NOT NULL,
  kb_id TEXT NOT NULL,
  UNIQUE (organisation_id, kb_id)
);
CREATE TABLE IF NOT EXISTS search_terms (
  shard INTEGER NOT NULL,
  id INTEGER NOT NULL,
  term TEXT NOT NULL,
  PRIMARY KEY (shard, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_chunks (
  row INTEGER PRIMARY KEY,
  shard INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  document_id TEXT NOT NULL,
  record TEXT NOT NULL,
  body_terms BLOB NOT NULL,
  body_tfs BLOB NOT NULL,
  body_length INTEGER NOT NULL,
  name_terms BLOB NOT NULL,
  name_tfs BLOB NOT NULL,
  name_length INTEGER NOT NULL,
  vector BLOB
);
CREATE INDEX IF NOT EXISTS search_chunks_shard ON search_chunks (shard);
CREATE INDEX IF NOT EXISTS search_chunks_document ON search_chunks (shard, document_id);
`;

/**
 * The statements on the paths that must stay index seeks as the index grows (a test checks their
 * plans). Indexes are named where statistics could mislead the planner: when one knowledge base
 * holds nearly every row, `shard = ?` looks unselective, yet a small shard must not scan the rest.
 */
export const SEEKS = {
  /** A shard's rows after `row`, in order: loading reads a shard in batches. */
  shardRows:
    'SELECT row, id, document_id, body_terms, body_tfs, body_length, name_terms, name_tfs, name_length, vector FROM search_chunks INDEXED BY search_chunks_shard WHERE shard = ? AND row > ? ORDER BY row LIMIT ?',
  /** How many chunks a shard holds (from the index alone). */
  shardChunks: 'SELECT count(*) AS n FROM search_chunks INDEXED BY search_chunks_shard WHERE shard = ?',
  /** A shard's vocabulary after term `id`, in order. */
  shardTerms: 'SELECT id, term AS value FROM search_terms WHERE shard = ? AND id > ? ORDER BY id LIMIT ?',
  /** The row a chunk id has now, before it is replaced. */
  chunkById: 'SELECT row, shard, id, document_id, body_terms, name_terms FROM search_chunks WHERE id = ?',
  /** A document's rows in a shard, before they are deleted. */
  documentRows: 'SELECT row, id, document_id, body_terms, name_terms FROM search_chunks INDEXED BY search_chunks_document WHERE shard = ? AND document_id = ?',
  /** What the hits of a search return. */
  records: (n: number): string => `SELECT id, document_id, record FROM search_chunks WHERE id IN (${placeholders(n)})`,
} as const;

/** What a hit returns beyond the ids: stored as JSON in the chunk's row. */
export type ChunkRecordFields = Pick<ChunkRecord, 'documentName' | 'headings' | 'page' | 'pageEnd' | 'pages' | 'start' | 'end' | 'text'>;

export interface ChunkRow {
  row: number;
  id: string;
  document_id: string;
  body_terms: Uint8Array;
  body_tfs: Uint8Array;
  body_length: number;
  name_terms: Uint8Array;
  name_tfs: Uint8Array;
  name_length: number;
  vector: Uint8Array | null;
}

/** A field's term numbers as stored, and back (copied: a BLOB may sit at an unaligned offset). */
export const idsBlob = (ids: Uint32Array): Uint8Array => new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
export const blobIds = (blob: Uint8Array): Uint32Array => new Uint32Array(new Uint8Array(blob).buffer);

export function vectorBlob(vector: Float32Array | undefined): Uint8Array | null {
  return vector ? new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength) : null;
}

/** Copies: a BLOB's bytes may sit at an offset a Float32Array cannot start at. */
export function blobVector(blob: Uint8Array | null): Float32Array | undefined {
  if (!blob || blob.byteLength === 0 || blob.byteLength % 4 !== 0) return undefined;
  return new Float32Array(new Uint8Array(blob).buffer);
}
