import type { AuditLog } from '../audit/audit.ts';
import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import type { Acting } from '../auth/principal.ts';
import { newId } from '../auth/tokens.ts';
import type { LimitOverrides } from '../limits/values.ts';
import type { RetentionOverrides } from '../retention/policy.ts';
import type { OrganisationDeletion } from './deletion.ts';
import type { Organisation } from './schema.ts';
import type { z } from 'zod';
import type { LlmPolicy } from '../engines/policy.ts';
import { requireStrongPassword, type NewUser, type UserDoc, type UserService } from '../users/users.ts';


// A type alias so it is assignable to the store's JSON value type.
export type OrganisationSettings = {
  /** Where answers may be generated. `local-only` (the default) never sends anything off the box. */
  llmPolicy: LlmPolicy;
  /** Rate limits and quotas this organisation chose; the others follow the instance's defaults (LIMIT_*). */
  limits?: LimitOverrides;
  /** How long conversations, audit entries and usage records are kept; kinds not set follow the instance's defaults (RETENTION_*). */
  retention?: RetentionOverrides;
  /** Sign-in rules. `requireTotp`: members without two-step sign-in must set it up right after signing in. */
  security?: SecuritySettings;
  /** Spoken answers. `answerSeconds`: about how long the voice speaks an answer (its best sentences and the source); the screen shows all of it. */
  voice?: VoiceSettings;
};

export type SecuritySettings = { requireTotp: boolean };
export type VoiceSettings = { answerSeconds: number };

/** Settings with the defaults filled in where an organisation chose none: what is in force. */
export type SettingsInForce = OrganisationSettings & { security: SecuritySettings; voice: VoiceSettings };

export const defaultOrganisationSettings: SettingsInForce = { llmPolicy: 'local-only', security: { requireTotp: false }, voice: { answerSeconds: 20 } };

export interface OrganisationDoc {
  _id: string;
  name: string;
  createdAt: string;
  /** Absent on organisations created before settings existed: the defaults apply. */
  settings?: OrganisationSettings;
  /** Set while the organisation is being deleted (see deletion.ts); it is gone once that finishes. */
  deletion?: OrganisationDeletion;
}

interface OrganisationServiceDeps {
  organisations: Collection<OrganisationDoc>;
  users: UserService;
  audit: AuditLog;
  clock: Clock;
  random: Random;
}

export class OrganisationService {
  readonly #deps: OrganisationServiceDeps;

  constructor(deps: OrganisationServiceDeps) {
    this.#deps = deps;
  }

  get(id: string): Promise<OrganisationDoc | null> {
    return this.#deps.organisations.findOne({ _id: id });
  }

  async settings(id: string): Promise<SettingsInForce> {
    const org = await this.get(id);
    return { ...defaultOrganisationSettings, ...org?.settings };
  }

  async updateSettings(acting: Acting, changes: Partial<OrganisationSettings>): Promise<SettingsInForce> {
    const { principal } = acting;
    const before = await this.settings(principal.organisationId);
    const settings = { ...before, ...changes };
    await this.#deps.organisations.updateOne({ _id: principal.organisationId }, { $set: { settings } });
    const details: Record<string, string> = {};
    for (const key of Object.keys(changes) as Array<keyof OrganisationSettings>) {
      Object.assign(details, changed(key, before[key], settings[key]));
    }
    if (Object.keys(details).length > 0) {
      await this.#deps.audit.recordFor(acting, {
        action: 'settings.update',
        target: { type: 'organisation', id: principal.organisationId, name: null },
        details,
      });
    }
    return settings;
  }

  list(): Promise<OrganisationDoc[]> {
    return this.#deps.organisations.find({}, { sort: { createdAt: 1, _id: 1 } }).toArray();
  }

  /**
   * Creates the organisation together with its first user. If that user cannot be created (the
   * email is taken), the organisation is removed again so no empty tenant is left behind.
   */
  async createWithFirstUser(name: string, first: Omit<NewUser, 'role'>, options: { role: 'owner' | 'admin'; instanceOwner: boolean }): Promise<{ organisation: OrganisationDoc; user: UserDoc }> {
    // Checked before the organisation exists, with its name among the easy guesses.
    requireStrongPassword(first.password, { email: first.email, name: first.name, organisation: name }, 'password');
    const organisation: OrganisationDoc = { _id: newId(this.#deps.random), name: name.trim(), createdAt: this.#deps.clock.now().toISOString() };
    await this.#deps.organisations.insertOne(organisation);
    try {
      const user = await this.#deps.users.insert(organisation._id, { ...first, role: options.role }, { instanceOwner: options.instanceOwner });
      return { organisation, user };
    } catch (err) {
      await this.#deps.organisations.deleteOne({ _id: organisation._id });
      throw err;
    }
  }

  async create(acting: Acting, input: { name: string; admin: Omit<NewUser, 'role'> }): Promise<{ organisation: OrganisationDoc; user: UserDoc }> {
    const created = await this.createWithFirstUser(input.name, input.admin, { role: 'admin', instanceOwner: false });
    const { principal } = acting;
    const target = { type: 'organisation' as const, id: created.organisation._id, name: created.organisation.name };
    await this.#deps.audit.recordFor(acting, { action: 'organisation.create', target });
    // The new organisation's admins see how their organisation came to be.
    await this.#deps.audit.record({ organisationId: created.organisation._id, action: 'organisation.create', actor: principal.actor, target, ip: acting.ip });
    await this.#deps.audit.record({
      organisationId: created.organisation._id,
      action: 'user.create',
      actor: principal.actor,
      target: { type: 'user', id: created.user._id, name: created.user.email },
      ip: acting.ip,
      details: { role: created.user.role },
    });
    return created;
  }
}

/** `before → after` for a changed value; for a section (`limits`), each of its changed values by name. `default` where none was set. */
function changed(key: string, before: unknown, after: unknown): Record<string, string> {
  const isSection = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  // null is a value too (a retention of null keeps for ever); only an unset one follows the default.
  const arrow = (b: unknown, a: unknown) => `${b === undefined ? 'default' : String(b)} → ${a === undefined ? 'default' : String(a)}`;
  if (isSection(before) || isSection(after)) {
    const b = isSection(before) ? before : {};
    const a = isSection(after) ? after : {};
    const parts = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => b[k] !== a[k]).map((k) => `${k} ${arrow(b[k], a[k])}`);
    return parts.length ? { [key]: parts.join(', ') } : {};
  }
  return before === after ? {} : { [key]: arrow(before, after) };
}

export function presentOrganisation(doc: OrganisationDoc): z.input<typeof Organisation> {
  return { id: doc._id, name: doc.name, createdAt: doc.createdAt, deleting: doc.deletion ? { since: doc.deletion.requestedAt, step: doc.deletion.step } : null };
}
