// The vocabulary of the audit log, apart from the log itself so the console can import its type.

/** Every action the log records; the console and the listing's `action` filter read it from here. */
export const auditActions = [
  'setup',
  'login',
  'logout',
  'password.change',
  /** A temporary password was set by an admin, or by the operator on the host (actor `system`); the user's sessions ended. */
  'password.reset',
  /** Two-step sign-in (TOTP) was turned on, with a code from the new authenticator. */
  'totp.enable',
  /** Two-step sign-in was turned off: by its user (with a code or the password), or by a password reset that removed it. */
  'totp.disable',
  /** A recovery code stood in for the authenticator at sign-in (details: how many are left). */
  'totp.recovery_code',
  /** A new set of recovery codes replaced the old one. */
  'totp.recovery_codes',
  'user.create',
  'user.update',
  'user.role',
  'user.disable',
  'user.enable',
  'user.delete',
  'apikey.create',
  'apikey.revoke',
  'organisation.create',
  /** An organisation and everything of it was deleted; recorded in the organisation the instance owner acted from. */
  'organisation.delete',
  'settings.update',
  'kb.create',
  /** Renamed, described or its settings changed (details: each changed field, before → after). */
  'kb.update',
  'kb.reindex',
  'kb.delete',
  /** One entry per new document an upload created (a duplicate of one already there creates none). */
  'document.create',
  /** Its extracted text or a passage of it was read; once per actor and document within the view window. */
  'document.view',
  /** Its original file was downloaded: every download. */
  'document.download',
  'document.reprocess',
  'document.delete',
  /** The malware scanner found a signature in an uploaded file; its original was quarantined. */
  'document.quarantine',
  /** A conversation was read by someone other than the person or key that had it; once per window, as views. */
  'conversation.read',
  /** Someone else's conversation was deleted (an admin's own deletions are not recorded). */
  'conversation.delete',
  /** Passages and a question were sent to a cloud LLM: recorded for every such answer. */
  'llm.cloud',
  /** A spoken turn's audio (STT) or an answer's text (TTS) was sent to a cloud speech endpoint. */
  'speech.cloud',
  /** Data of the organisation was exported. */
  'export',
  /** The daily purge deleted what an organisation keeps no longer (details: counts and the retention in force). */
  'retention.purge',
  /** The audit log itself was exported (details: the format and the filters). */
  'audit.export',
] as const;

export type AuditAction = (typeof auditActions)[number];

/** Groups of actions (`document.`, `user.`…): the listing's `action` filter takes one to mean all of them. */
export const auditGroups: readonly string[] = [...new Set(auditActions.filter((a) => a.includes('.')).map((a) => `${a.slice(0, a.indexOf('.'))}.`))];

export function isAuditActionFilter(value: string): boolean {
  return (auditActions as readonly string[]).includes(value) || auditGroups.includes(value);
}
