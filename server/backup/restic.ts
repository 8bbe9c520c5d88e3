// The off-site copy: `restic backup` of a finished backup folder into RESTIC_REPOSITORY (Debian's
// restic; deduplicated, so a daily copy of mostly unchanged sealed originals costs little). The
// repository must exist (`restic init`): creating one is the operator's decision, with its password.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** A copy of several gigabytes over a slow link may take hours; longer than that, something hangs. */
const TIMEOUT_MS = 6 * 60 * 60 * 1000;

export interface ResticTarget {
  repository: string;
  passwordFile: string;
}

/** Sends `folder` to the repository, tagged with its backup name; resolves to restic's snapshot id. */
export async function resticBackup(target: ResticTarget, folder: string): Promise<string> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', RESTIC_REPOSITORY: target.repository, RESTIC_PASSWORD_FILE: target.passwordFile };
  try {
    // --json's last line is the summary, with the snapshot id.
    const { stdout } = await run('restic', ['backup', '--json', '--quiet', '--tag', 'lectern', '--tag', path.basename(folder), '--host', 'lectern', folder], { env, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    const summary = stdout.trim().split('\n').map((line) => JSON.parse(line) as { message_type?: string; snapshot_id?: string }).find((m) => m.message_type === 'summary');
    return summary?.snapshot_id ?? 'unknown';
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('restic is not installed (apt install restic), and RESTIC_REPOSITORY is set');
    // restic's own message names the repository problem; the repository URL may hold credentials, so it is not repeated.
    throw new Error(`restic backup failed: ${(e.stderr ?? e.message).trim().split('\n').at(-1)}`, { cause: err });
  }
}
