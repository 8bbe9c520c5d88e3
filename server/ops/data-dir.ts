import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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
