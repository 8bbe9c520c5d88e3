// What every embedded SQLite connection of the appliance shares (the store's, and the search
// index's in the same file): how it is opened, how a write transaction runs, and how deleted
// text is made to leave the disk.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';

const BUSY_TIMEOUT_MS = 5000;
/** Quiet time after a deletion before the write-ahead log is truncated. */
const ERASE_DELAY_MS = 1000;

/** Opens `file` (created with its folder if needed), or an in-memory database for null. */
export function openSqlite(file: string | null): DatabaseSync {
  if (file !== null && file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file ?? ':memory:');
  // FULL syncs the WAL on every commit, so a resolved write survives a crash of the process or the machine.
  // The busy timeout blocks the event loop while another connection holds the write lock; that is rare on an appliance.
  // secure_delete zeroes the pages a deletion frees, so deleted text does not linger in the file's free pages.
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA secure_delete = ON;`);
  return db;
}

/** `?, ?, …` for `n` values of an `IN (…)` list. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * Prepared statements by SQL text. Bounded: queries are built from a few shapes, but `IN` lists
 * of varying length make new texts, and an old one is cheap to prepare again.
 */
export class Statements {
  readonly #db: () => DatabaseSync;
  readonly #capacity: number;
  readonly #cache = new Map<string, StatementSync>();

  /** `db` returns the open connection (or throws once it is closed). */
  constructor(db: () => DatabaseSync, capacity = 256) {
    this.#db = db;
    this.#capacity = capacity;
  }

  get(sql: string): StatementSync {
    let statement = this.#cache.get(sql);
    if (statement === undefined) {
      statement = this.#db().prepare(sql);
      if (this.#cache.size >= this.#capacity) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(sql, statement);
    }
    return statement;
  }

  all<R>(sql: string, ...params: SQLInputValue[]): R[] {
    return this.get(sql).all(...params) as R[];
  }

  run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.get(sql).run(...params).changes);
  }

  clear(): void {
    this.#cache.clear();
  }
}

/** Runs `work` in an immediate transaction, so concurrent writers (other connections too) cannot interleave. */
export function transaction<R>(db: DatabaseSync, work: () => R): R {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/**
 * After deletions: once they pause, truncate the write-ahead log, whose older frames still hold
 * the deleted rows' pages. With secure_delete, the text is then gone from every file.
 * `db` returns null once the connection is closed.
 */
export class WalEraser {
  readonly #db: () => DatabaseSync | null;
  #timer: NodeJS.Timeout | null = null;

  constructor(db: () => DatabaseSync | null) {
    this.#db = db;
  }

  schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      try {
        this.#db()?.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      } catch {
        // Busy readers or a closed connection: the next deletion tries again.
      }
    }, ERASE_DELAY_MS);
    this.#timer.unref();
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
