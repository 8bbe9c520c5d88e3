import { ApiKeyService } from './api-keys/api-keys.ts';
import { AuditLog } from './audit/audit.ts';
import { AuthService } from './auth/auth.ts';
import { SessionService } from './auth/sessions.ts';
import { LoginThrottle } from './auth/throttle.ts';
import type { Clock, Random } from './clock.ts';
import type { Config } from './config.ts';
import { collections } from './db.ts';
import type { Logger } from './logger.ts';
import { OrganisationService } from './organisations/organisations.ts';
import type { Store } from './store/store.ts';
import { UserService } from './users/users.ts';

export interface ServiceDeps {
  config: Config;
  log: Logger;
  store: Store;
  clock: Clock;
  random: Random;
  /** Defaults to the in-memory limiter; the Redis-backed one slots in here. */
  throttle?: LoginThrottle;
}

/** Wires the domain services together; no service constructs another. */
export function createServices({ config, log, store, clock, random, throttle }: ServiceDeps) {
  const db = collections(store);
  const audit = new AuditLog({ audit: db.audit, clock, random, log: log.child({ component: 'audit' }) });
  const sessions = new SessionService({ sessions: db.sessions, clock, random, ttlMs: config.SESSION_TTL_HOURS * 3_600_000 });
  const users = new UserService({ users: db.users, sessions, audit, clock, random });
  const organisations = new OrganisationService({ organisations: db.organisations, users, audit, clock, random });
  const apiKeys = new ApiKeyService({ apiKeys: db.apiKeys, audit, clock, random });
  const auth = new AuthService({
    db,
    users,
    organisations,
    sessions,
    apiKeys,
    audit,
    clock,
    setupToken: config.SETUP_TOKEN,
    throttle:
      throttle ??
      LoginThrottle.inMemory({ perAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT, perIp: config.LOGIN_MAX_FAILURES_PER_IP, windowSeconds: config.LOGIN_WINDOW_SECONDS }),
  });
  return { db, audit, sessions, users, organisations, apiKeys, auth };
}

export type Services = ReturnType<typeof createServices>;
