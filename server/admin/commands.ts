import type { AdminCommand } from './command.ts';
import { resetPassword } from './reset-password.ts';
import { rotateDataKey } from './rotate-data-key.ts';

/** Every command of `npm run admin`, in the order `help` lists them. A new command is a file beside this one and a line here. */
export const adminCommands: readonly AdminCommand[] = [rotateDataKey, resetPassword];
