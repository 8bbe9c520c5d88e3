import type { Clock, Random } from '../clock.ts';
import type { Principal } from '../auth/principal.ts';
import { issueSecret, parseToken, secretMatches } from '../auth/tokens.ts';
import type { Collection } from '../store/store.ts';

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

export class ClientSecrets {
  readonly #d: { secrets: Collection<ClientSecretDoc>; clock: Clock; random: Random };

  constructor(deps: { secrets: Collection<ClientSecretDoc>; clock: Clock; random: Random }) {
    this.#d = deps;
  }

  async mint(principal: Principal, kbId: string, ttlSeconds: number): Promise<{ value: string; expiresAt: string }> {
    const now = this.#d.clock.now().getTime();
    // Expired secrets are useless; clearing them here keeps the collection small without a timer.
    await this.#d.secrets.deleteMany({ expiresAt: { $lt: new Date(now).toISOString() } });
    const { id, secret, secretHash } = issueSecret(this.#d.random);
    const expiresAt = new Date(now + ttlSeconds * 1000).toISOString();
    await this.#d.secrets.insertOne({ _id: id, organisationId: principal.organisationId, kbId, secretHash, principal, expiresAt });
    return { value: `${PREFIX}${id}${SEPARATOR}${secret}`, expiresAt };
  }

  /** The principal and knowledge base a live secret stands for, or null. */
  async resolve(token: string): Promise<{ principal: Principal; kbId: string } | null> {
    const parts = parseToken(token, PREFIX, SEPARATOR);
    if (!parts) return null;
    const doc = await this.#d.secrets.findOne({ _id: parts.id });
    if (!doc || !secretMatches(parts.secret, doc.secretHash) || doc.expiresAt <= this.#d.clock.now().toISOString()) return null;
    return { principal: doc.principal, kbId: doc.kbId };
  }
}
