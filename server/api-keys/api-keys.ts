import type { AuditLog } from '../audit/audit.ts';
import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import { errors } from '../errors.ts';
import type { Acting } from '../auth/principal.ts';
import type { Revocations } from '../auth/revocation.ts';
import { roleAtLeast, type ApiKeyRole } from '../auth/roles.ts';
import { issueSecret, parseToken, secretMatches } from '../auth/tokens.ts';
import type { z } from 'zod';
import type { ApiKey } from './schema.ts';

export interface ApiKeyDoc {
  _id: string;
  organisationId: string;
  name: string;
  role: ApiKeyRole;
  secretHash: string;
  createdAt: string;
  createdBy: { id: string; name: string } | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

// `lectern_` makes a leaked key recognisable to secret scanners and to people; `_` cannot occur
// in the base32 id, so the token splits unambiguously.
const PREFIX = 'lectern_';
const SEPARATOR = '_';
/** Recording every use would turn each read into a write; once a minute is precise enough. */
const LAST_USED_GRANULARITY_MS = 60_000;
/** Keys made by keys made by keys…: deeper than this is not a chain anyone built on purpose. */
const MAX_LINEAGE = 16;

interface ApiKeyServiceDeps {
  apiKeys: Collection<ApiKeyDoc>;
  audit: AuditLog;
  clock: Clock;
  random: Random;
  revocations: Pick<Revocations, 'publish'>;
}

export class ApiKeyService {
  readonly #deps: ApiKeyServiceDeps;

  constructor(deps: ApiKeyServiceDeps) {
    this.#deps = deps;
  }

  #scoped(organisationId: string): Collection<ApiKeyDoc> {
    return tenantCollection(this.#deps.apiKeys, organisationId);
  }

  list(organisationId: string): Promise<ApiKeyDoc[]> {
    return this.#scoped(organisationId).find({ revokedAt: null }, { sort: { createdAt: 1, _id: 1 } }).toArray();
  }

  async create(acting: Acting, input: { name: string; role: ApiKeyRole }): Promise<{ doc: ApiKeyDoc; key: string }> {
    const { principal } = acting;
    if (!roleAtLeast(principal.role, input.role)) throw errors.forbidden('A key cannot have a higher role than its creator.');
    const { id, secret, secretHash } = issueSecret(this.#deps.random);
    const doc: ApiKeyDoc = {
      _id: id,
      organisationId: principal.organisationId,
      name: input.name.trim(),
      role: input.role,
      secretHash,
      createdAt: this.#deps.clock.now().toISOString(),
      createdBy: principal.actor.id ? { id: principal.actor.id, name: principal.actor.name ?? '' } : null,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.#scoped(principal.organisationId).insertOne(doc);
    await this.#deps.audit.recordFor(acting, {
      action: 'apikey.create',
      target: { type: 'apiKey', id, name: doc.name },
      details: { role: doc.role },
    });
    return { doc, key: `${PREFIX}${id}${SEPARATOR}${secret}` };
  }

  /**
   * Revokes a key and every key made with it (a key with the admin role can make keys), and ends
   * what each has open: a child must not outlive the credential that vouched for it.
   */
  async revoke(acting: Acting, id: string): Promise<void> {
    const { principal } = acting;
    const keys = this.#scoped(principal.organisationId);
    const now = this.#deps.clock.now().toISOString();
    const doc = await keys.findOneAndUpdate({ _id: id, revokedAt: null }, { $set: { revokedAt: now } });
    if (!doc) throw errors.notFound('API key');
    await this.#deps.revocations.publish({ scope: 'apiKey', id, reason: 'API key revoked' });
    await this.#deps.audit.recordFor(acting, { action: 'apikey.revoke', target: { type: 'apiKey', id, name: doc.name } });
    let parents = [id];
    for (let depth = 0; parents.length > 0 && depth < MAX_LINEAGE; depth++) {
      const children = await keys.find({ 'createdBy.id': { $in: parents }, revokedAt: null }).toArray();
      for (const child of children) {
        if (!(await keys.findOneAndUpdate({ _id: child._id, revokedAt: null }, { $set: { revokedAt: now } }))) continue;
        await this.#deps.revocations.publish({ scope: 'apiKey', id: child._id, reason: 'parent API key revoked' });
        await this.#deps.audit.recordFor(acting, { action: 'apikey.revoke', target: { type: 'apiKey', id: child._id, name: child.name }, details: { parent: child.createdBy?.id ?? null } });
      }
      parents = children.map((c) => c._id);
    }
  }

  /**
   * Whether a key and the keys that made it are unrevoked. Revoking cascades, but a store written
   * before it did can hold a live child of a revoked key; this refuses such a child too.
   */
  async #stands(doc: ApiKeyDoc): Promise<boolean> {
    let key: ApiKeyDoc | null = doc;
    for (let depth = 0; key; depth++) {
      if (key.revokedAt !== null || depth > MAX_LINEAGE) return false;
      // `createdBy` names a user or a key; only a key is found here.
      key = key.createdBy ? await this.#scoped(key.organisationId).findOne({ _id: key.createdBy.id }) : null;
    }
    return true;
  }

  /** Whether the key with this id is still live (for connections that hold a principal, not a token). */
  async isLive(id: string): Promise<boolean> {
    const doc = await this.#deps.apiKeys.findOne({ _id: id });
    return doc !== null && (await this.#stands(doc));
  }

  /** The live key for a bearer token, or null; records when it was last used. */
  async authenticate(token: string): Promise<ApiKeyDoc | null> {
    const parts = parseToken(token, PREFIX, SEPARATOR);
    if (!parts) return null;
    const doc = await this.#deps.apiKeys.findOne({ _id: parts.id });
    if (!doc || !secretMatches(parts.secret, doc.secretHash) || !(await this.#stands(doc))) return null;
    const now = this.#deps.clock.now();
    if (!doc.lastUsedAt || now.getTime() - Date.parse(doc.lastUsedAt) >= LAST_USED_GRANULARITY_MS) {
      doc.lastUsedAt = now.toISOString();
      await this.#deps.apiKeys.updateOne({ _id: doc._id }, { $set: { lastUsedAt: doc.lastUsedAt } });
    }
    return doc;
  }
}

export function presentApiKey(doc: ApiKeyDoc): z.input<typeof ApiKey> {
  return {
    id: doc._id,
    name: doc.name,
    role: doc.role,
    prefix: `${PREFIX}${doc._id.slice(0, 6)}`,
    createdAt: doc.createdAt,
    createdBy: doc.createdBy,
    lastUsedAt: doc.lastUsedAt,
  };
}
