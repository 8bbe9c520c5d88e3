import os from 'node:os';
import type { AuditActor } from '../audit/audit.ts';

/** The audit log's actor for an operator command: the operator on the host, by account and machine where known. */
export function operator(command: string): AuditActor {
  let account = 'operator';
  try {
    account = `operator ${os.userInfo().username}@${os.hostname()}`;
  } catch {
    // No passwd entry for the uid (some containers): the plain label will do.
  }
  return { type: 'system', id: null, name: `${account} (npm run admin -- ${command})` };
}
