// An operator command of `npm run admin`: one file per command under server/admin/, listed in
// commands.ts. Commands act on DATA_DIR directly, configured like the server (the same
// environment, the same validation), and say what they did in plain lines.

import type { Config } from '../config.ts';

export interface AdminOutput {
  /** What the command did, for the operator (stdout). */
  say(line: string): void;
  /** What went wrong (stderr). */
  warn(line: string): void;
}

export interface AdminCommand {
  name: string;
  /** One line, for the list of commands. */
  summary: string;
  /** The full help: usage, options, and whether it may run while the server runs. */
  help: string;
  /** Resolves to the process's exit status. */
  run(args: string[], context: { config: Config; out: AdminOutput }): Promise<number>;
}

/** The command line is wrong: the command's help follows the message (exit 64, EX_USAGE). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** sysexits(3) statuses the commands share. */
export const EXIT = { ok: 0, failed: 1, usage: 64, config: 78, busy: 75 } as const;
