import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';

/** DATA_DIR cannot hold Lectern's data: a configuration problem, said in one line. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

/**
 * Makes DATA_DIR ready before anything opens a file in it: created if missing, closed to other
 * users (0700: it holds patients' documents), and proven writable by writing a probe file — a
 * read-only mount or a path through a file fails here, with the path and the reason, instead of
 * deep inside whichever component happens to write first.
 */
export function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    closeToOthers(dir);
    const probe = path.join(dir, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    throw new DataDirError(`DATA_DIR ${dir} is not usable: ${code ? `${code}, ` : ''}${message.replace(/^\w+: /, '')}`, { cause: err });
  }
}

/** Best effort: a folder owned by another account (a mounted volume) may refuse; writing is what counts. */
function closeToOthers(dir: string): void {
  try {
    chmodSync(dir, 0o700);
  } catch {
    // Left as the operator set it up.
  }
}

/** Another Lectern process holds DATA_DIR: said in one line, exit 75 (EX_TEMPFAIL: try again once it stops). */
export class DataDirBusyError extends Error {
  override name = 'DataDirBusyError';
}

/** Held for the life of the process; released by `release()` or, whatever kills the process, by the OS. */
export interface DataDirLock {
  release(): void;
}

const LOCK_FILE = 'lectern.lock';

/**
 * Makes this process the only Lectern server on DATA_DIR. Two servers on one embedded store
 * would each keep their own search index and queue, and one's uploads would be invisible to the
 * other's search. The lock is SQLite's exclusive lock on a small database of its own: an OS file
 * lock (fcntl), which the kernel drops when the process dies, so a kill -9 leaves nothing to clean
 * up (a pid file would outlive it) and DATA_DIR holds just `lectern.lock` beside the data. The
 * holder writes its pid into it, for the refusal to name. Operator commands never take this lock:
 * those that are safe while the server runs keep working, and those that are not check the store
 * itself (server/admin/store-in-use.ts).
 */
export function lockDataDir(dir: string): DataDirLock {
  const file = path.join(dir, LOCK_FILE);
  const db = new DatabaseSync(file);
  try {
    // EXCLUSIVE locking mode keeps the write lock after the first write transaction commits,
    // until the connection closes; busy_timeout 0 makes a held lock an immediate refusal. The
    // journal stays in memory, so no `-journal` file lingers in DATA_DIR beside the lock.
    db.exec(`PRAGMA busy_timeout = 0; PRAGMA journal_mode = MEMORY; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; INSERT INTO holder VALUES (${process.pid}); COMMIT;`);
  } catch (err) {
    db.close();
    if (!/locked|busy/i.test((err as Error).message)) throw err;
    const holder = holderPid(file);
    throw new DataDirBusyError(`DATA_DIR ${dir} is in use by another Lectern process${holder ? ` (pid ${holder})` : ''}; stop it first, or give this one another DATA_DIR`, { cause: err });
  }
  return { release: () => db.close() };
}

/**
 * The pid the holder wrote, read past its lock: `immutable=1` makes SQLite read the committed pages
 * without taking any lock (safe here: the holder never writes again). Null when it cannot be read.
 */
function holderPid(file: string): number | null {
  try {
    const url = pathToFileURL(file);
    url.searchParams.set('immutable', '1');
    const db = new DatabaseSync(url, { readOnly: true });
    try {
      const row = db.prepare('SELECT pid FROM holder').get() as { pid?: unknown } | undefined;
      return typeof row?.pid === 'number' && row.pid > 0 ? row.pid : null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}
