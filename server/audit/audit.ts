import type { Clock, Random } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import { newId } from '../auth/tokens.ts';
import type { Acting } from '../auth/principal.ts';

export type AuditAction =
  | 'setup'
  | 'login'
  | 'logout'
  | 'password.change'
  /** A temporary password was set by an admin, or by the operator on the host (actor `system`); the user's sessions ended. */
  | 'password.reset'
  /** Two-step sign-in (TOTP) was turned on, with a code from the new authenticator. */
  | 'totp.enable'
  /** Two-step sign-in was turned off: by its user (with a code or the password), or by a password reset that removed it. */
  | 'totp.disable'
  /** A recovery code stood in for the authenticator at sign-in (details: how many are left). */
  | 'totp.recovery_code'
  /** A new set of recovery codes replaced the old one. */
  | 'totp.recovery_codes'
  | 'user.create'
  | 'user.update'
  | 'user.role'
  | 'user.disable'
  | 'user.enable'
  | 'user.delete'
  | 'apikey.create'
  | 'apikey.revoke'
  | 'organisation.create'
  | 'settings.update'
  /** Passages and a question were sent to a cloud LLM: recorded for every such answer. */
  | 'llm.cloud'
  /** A spoken turn's audio (STT) or an answer's text (TTS) was sent to a cloud speech endpoint. */
  | 'speech.cloud'
  /** The malware scanner found a signature in an uploaded file; its original was quarantined. */
  | 'document.quarantine'
  /** Data of the organisation was exported. */
  | 'export'
  /** An organisation and everything of it was deleted (recorded in the organisation of who deleted it). */
  | 'organisation.delete'
  /** The daily retention purge ran for the organisation (details: what it removed, and the days in force). */
  | 'retention.purge';

export interface AuditActor {
  /** `system`: the appliance itself (e.g. the malware scanner), acting for no one. */
  type: 'user' | 'apiKey' | 'anonymous' | 'system';
  id: string | null;
  name: string | null;
}

export interface AuditTarget {
  type: 'user' | 'apiKey' | 'organisation' | 'session' | 'conversation' | 'document';
  id: string;
  name: string | null;
}

export interface AuditDoc {
  _id: string;
  /** null for events that belong to no organisation, such as a login attempt for an unknown email. */
  organisationId: string | null;
  at: string;
  action: AuditAction;
  outcome: 'success' | 'failure';
  actor: AuditActor;
  target: AuditTarget | null;
  ip: string | null;
  details: Record<string, string | number | boolean | null> | null;
}

export type AuditEvent = Omit<AuditDoc, '_id' | 'at' | 'target' | 'details' | 'ip' | 'outcome'> &
  Partial<Pick<AuditDoc, 'target' | 'details' | 'ip' | 'outcome'>>;

export const anonymous: AuditActor = { type: 'anonymous', id: null, name: null };

interface AuditLogDeps {
  audit: Collection<AuditDoc>;
  clock: Clock;
  random: Random;
  log: Logger;
}

export class AuditLog {
  readonly #deps: AuditLogDeps;

  constructor(deps: AuditLogDeps) {
    this.#deps = deps;
  }

  async record(event: AuditEvent): Promise<void> {
    const doc: AuditDoc = { target: null, details: null, ip: null, outcome: 'success', ...event, _id: newId(this.#deps.random), at: this.#deps.clock.now().toISOString() };
    // Security events are also logged, so they reach a log shipper even if the store is lost.
    this.#deps.log.info({ audit: { action: doc.action, outcome: doc.outcome, actor: doc.actor, target: doc.target, organisationId: doc.organisationId } }, 'audit');
    await this.#deps.audit.insertOne(doc);
  }

  /** Records an event done by a principal in its own organisation, from where it acted. */
  recordFor(acting: Acting, event: Omit<AuditEvent, 'organisationId' | 'actor' | 'ip'>): Promise<void> {
    return this.record({ ...event, organisationId: acting.principal.organisationId, actor: acting.principal.actor, ip: acting.ip });
  }

  /** Newest first. The instance owner also sees events tied to no organisation. */
  async list(organisationId: string, options: { limit: number; includeUnscoped: boolean }): Promise<AuditDoc[]> {
    const sort = { at: -1 as const, _id: -1 as const };
    if (!options.includeUnscoped) {
      return tenantCollection(this.#deps.audit as Collection<AuditDoc & { organisationId: string }>, organisationId)
        .find({}, { sort, limit: options.limit })
        .toArray();
    }
    return this.#deps.audit.find({ $or: [{ organisationId }, { organisationId: null }] }, { sort, limit: options.limit }).toArray();
  }
}
