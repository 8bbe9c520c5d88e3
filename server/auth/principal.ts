import type { AuditActor } from '../audit/audit.ts';
import type { SessionRestriction } from './restriction.ts';
import type { Role } from './roles.ts';

/** Who is making a request, however they authenticated. REST, console and realtime share it. */
export interface Principal {
  via: 'session' | 'apiKey';
  organisationId: string;
  role: Role;
  instanceOwner: boolean;
  userId: string | null;
  sessionId: string | null;
  apiKeyId: string | null;
  actor: AuditActor;
  /** A session that may do one thing only until it is done (restriction.ts); absent or null: none. */
  restriction?: SessionRestriction | null;
}

/** A principal acting from somewhere: what services need to authorise and to audit. */
export interface Acting {
  principal: Principal;
  ip: string | null;
}
