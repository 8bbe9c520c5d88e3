import type { Clock, Random } from '../clock.ts';
import type { Principal } from '../auth/principal.ts';
import type { CredentialCheck, Revoked } from '../auth/revocation.ts';
import { issueSecret, parseToken, secretMatches } from '../auth/tokens.ts';
import type { Collection, Filter } from '../store/store.ts';

/**
 * Short-lived secrets for realtime clients that cannot set an Authorization header (a browser's
 * WebSocket): minted by an authenticated caller, they act as that caller for a few minutes, for
 * one knowledge base. Only a hash is stored, as with sessions and API keys.
 */
export interface ClientSecretDoc {
  _id: string;
  organisationId: string;
  kbId: string;
  secretHash: string;
  principal: Principal;
  expiresAt: string;
}

const PREFIX = 'ek_';
const SEPARATOR = '_';

interface ClientSecretsDeps {
  secrets: Collection<ClientSecretDoc>;
  clock: Clock;
  random: Random;
  /** A secret is only as good as its minter's credential, checked again at each use. */
  minterHolds: CredentialCheck;
}

/** The secrets a revocation notice takes with it. */
function mintedUnder(notice: Revoked): Filter<ClientSecretDoc> {
  switch (notice.scope) {
    case 'session':
      return { 'principal.sessionId': notice.id };
    case 'apiKey':
      return { 'principal.apiKeyId': notice.id };
    case 'user':
      return { 'principal.userId': notice.id };
    case 'organisation':
      return { organisationId: notice.id };
  }
}

export class ClientSecrets {
  readonly #deps: ClientSecretsDeps;

  constructor(deps: ClientSecretsDeps) {
    this.#deps = deps;
  }

  async mint(principal: Principal, kbId: string, ttlSeconds: number): Promise<{ value: string; expiresAt: string }> {
    const now = this.#deps.clock.now().getTime();
    // Expired secrets are useless; clearing them here keeps the collection small without a timer.
    await this.#deps.secrets.deleteMany({ expiresAt: { $lt: new Date(now).toISOString() } });
    const { id, secret, secretHash } = issueSecret(this.#deps.random);
    const expiresAt = new Date(now + ttlSeconds * 1000).toISOString();
    await this.#deps.secrets.insertOne({ _id: id, organisationId: principal.organisationId, kbId, secretHash, principal, expiresAt });
    return { value: `${PREFIX}${id}${SEPARATOR}${secret}`, expiresAt };
  }

  /** The principal and knowledge base a live secret stands for, or null; a secret whose minter lost its credential is deleted. */
  async resolve(token: string): Promise<{ principal: Principal; kbId: string } | null> {
    const parts = parseToken(token, PREFIX, SEPARATOR);
    if (!parts) return null;
    const doc = await this.#deps.secrets.findOne({ _id: parts.id });
    if (!doc || !secretMatches(parts.secret, doc.secretHash) || doc.expiresAt <= this.#deps.clock.now().toISOString()) return null;
    if (!(await this.#deps.minterHolds(doc.principal))) {
      await this.#deps.secrets.deleteOne({ _id: doc._id });
      return null;
    }
    return { principal: doc.principal, kbId: doc.kbId };
  }

  /** Deletes the secrets minted under a revoked credential. */
  async forget(notice: Revoked): Promise<number> {
    return (await this.#deps.secrets.deleteMany(mintedUnder(notice))).deletedCount;
  }
}
