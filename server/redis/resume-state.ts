import { z } from 'zod';
import type { Keyring } from '../crypto/data-key.ts';
import { isSealed, textSeal } from '../crypto/envelope.ts';
import type { Logger } from '../logger.ts';
import type { SessionConfig } from '../realtime/protocol.ts';
import type { DetachedSessions, SessionHolder } from '../realtime/resume-state.ts';
import type { SessionSnapshot } from '../realtime/session.ts';
import { REDIS_PREFIX, type RedisConnection } from './connection.ts';

// A dropped realtime session as one Redis hash (owner, kbId, snapshot) that expires with the
// resume window, so a client may resume on whichever process its reconnect reaches. A snapshot is
// plain data (the session's settings, conversation id and the spoken text of its last answers),
// stored as JSON. That text is conversation content: with a data key it is sealed, bound to the
// session id and its holder, as the store seals messages.

const key = (id: string) => `${REDIS_PREFIX}realtime:detached:${id}`;

// GETDEL would hand the session to whoever asks first; only its holder may take it, and a
// mismatch must leave it for them, so the check and the DEL happen in one script.
const RECLAIM = `
local held = redis.call('HMGET', KEYS[1], 'owner', 'kbId', 'snapshot')
if not held[1] or held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then return false end
redis.call('DEL', KEYS[1])
return held[3]`;

const snapshotShape = z.object({
  config: z.looseObject({ id: z.string() }),
  conversationId: z.string().nullable(),
  lastItem: z.string().nullable(),
  items: z.array(z.tuple([z.string(), z.object({ messageId: z.string().nullable(), sentences: z.array(z.object({ text: z.string(), startMs: z.number(), endMs: z.number() })), audioMs: z.number() })])),
});

export class RedisDetachedSessions implements DetachedSessions {
  readonly outlivesProcess = true;
  readonly #redis: RedisConnection;
  readonly #keys: Keyring | null;
  readonly #log: Logger;

  constructor(redis: RedisConnection, options: { keys: Keyring | null; log: Logger }) {
    this.#redis = redis;
    this.#keys = options.keys;
    this.#log = options.log;
  }

  async detach(snapshot: SessionSnapshot, holder: SessionHolder, ttlMs: number): Promise<void> {
    const id = snapshot.config.id;
    const sealed = this.#seal(id, holder).seal(JSON.stringify(snapshot));
    // One transaction: a hash without its expiry would outlive the window.
    const results = await this.#redis.client.multi().del(key(id)).hset(key(id), { owner: holder.owner, kbId: holder.kbId, snapshot: sealed }).pexpire(key(id), Math.max(1, Math.round(ttlMs))).exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (!results || failed) throw failed ?? new Error('the transaction keeping a detached session was aborted');
  }

  async reclaim(id: string, holder: SessionHolder): Promise<SessionSnapshot | null> {
    const stored = (await this.#redis.client.eval(RECLAIM, 1, key(id), holder.owner, holder.kbId)) as string | null;
    if (stored === null) return null;
    try {
      // With a data key only a sealed snapshot resumes: plain text in Redis was not written by a process holding the key.
      if (this.#keys && !isSealed(stored)) throw new Error('the snapshot is not sealed, and DATA_KEY_FILE is set');
      const snapshot = snapshotShape.parse(JSON.parse(this.#seal(id, holder).open(stored)));
      if (snapshot.config.id !== id) throw new Error(`the snapshot is of session ${snapshot.config.id}`);
      return { ...snapshot, config: snapshot.config as unknown as SessionConfig };
    } catch (err) {
      this.#log.warn({ err, sessionId: id }, 'a detached realtime session in redis could not be read: starting a new one');
      return null;
    }
  }

  #seal(id: string, holder: SessionHolder) {
    return textSeal(this.#keys, `realtime.detached ${id} ${holder.owner} ${holder.kbId}`);
  }
}
