import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { isDuplicateKeyError, type Store } from './store.ts';

// A lock shared by every process on one store, for work that must run once (migrations): one
// document per lock name with its holder and a lease expiry. Taking it is a compare-and-set the
// store makes atomic: an insert that a duplicate key refuses, or the takeover of a lease that has
// expired (its holder died). The holder renews the lease while it works and deletes it at the end.
// Leases compare the processes' clocks, so those must agree to well within a lease.

export interface LeaseDoc {
  _id: string;
  owner: string;
  expiresAt: string;
}

export interface LeaseOptions {
  clock: Clock;
  /** How long a lease lasts unless renewed; a crashed holder blocks the others this long at most. */
  leaseMs?: number;
  /** How often a waiting process tries again. */
  pollMs?: number;
  /** Who holds the lock, for the lock document; unique per call by default. */
  owner?: string;
}

export const LOCKS_COLLECTION = 'locks';

/**
 * Waits for the lock `name`, runs `work` holding it, and releases it. `signal` aborts when the lease
 * was lost (not renewed in time, so another process may hold it now): `work` should stop at its
 * next step. The result is `work`'s, or its error.
 */
export async function withLeaseLock<R>(store: Store, name: string, options: LeaseOptions, work: (signal: AbortSignal) => Promise<R>): Promise<R> {
  const { clock, leaseMs = 30_000, pollMs = 250, owner = randomUUID() } = options;
  const locks = store.collection<LeaseDoc>(LOCKS_COLLECTION);
  const expiry = () => new Date(clock.now().getTime() + leaseMs).toISOString();

  const take = async (): Promise<boolean> => {
    try {
      await locks.insertOne({ _id: name, owner, expiresAt: expiry() });
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const now = clock.now().toISOString();
    return (await locks.findOneAndUpdate({ _id: name, expiresAt: { $lt: now } }, { $set: { owner, expiresAt: expiry() } })) !== null;
  };
  while (!(await take())) await new Promise((resolve) => setTimeout(resolve, pollMs));

  const lost = new AbortController();
  const renew = async () => {
    try {
      const { matchedCount } = await locks.updateOne({ _id: name, owner }, { $set: { expiresAt: expiry() } });
      if (matchedCount === 0) lost.abort(new Error(`lost the lease on lock '${name}'`));
    } catch {
      // The store is unreachable for now; the lease holds until it expires, and the next renewal may get through.
    }
  };
  // Three renewals per lease, so one late or failed renewal does not lose it.
  const renewing = setInterval(() => void renew(), Math.max(1, Math.floor(leaseMs / 3)));
  try {
    return await work(lost.signal);
  } finally {
    clearInterval(renewing);
    await locks.deleteOne({ _id: name, owner });
  }
}
