import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { errors } from '../errors.ts';

export interface ThrottleLimits {
  perAccount: number;
  perIp: number;
  windowSeconds: number;
}

/**
 * Failed-login throttling per account and per client address (rate-limiter-flexible's
 * "login endpoint protection" pattern). Only failures count, so a user who signs in correctly
 * is never slowed; a success clears the account's count. The limiters are injected so the Redis
 * backend can replace the in-memory one without touching callers.
 */
export class LoginThrottle {
  readonly #byAccount: RateLimiterAbstract;
  readonly #byIp: RateLimiterAbstract;

  constructor(limiters: { byAccount: RateLimiterAbstract; byIp: RateLimiterAbstract }) {
    this.#byAccount = limiters.byAccount;
    this.#byIp = limiters.byIp;
  }

  static inMemory(limits: ThrottleLimits): LoginThrottle {
    const opts = (points: number, keyPrefix: string) => ({ keyPrefix, points, duration: limits.windowSeconds, blockDuration: limits.windowSeconds });
    return new LoginThrottle({
      byAccount: new RateLimiterMemory(opts(limits.perAccount, 'login_account')),
      byIp: new RateLimiterMemory(opts(limits.perIp, 'login_ip')),
    });
  }

  /** Throws 429 when either key has used up its failures. */
  async check(account: string, ip: string): Promise<void> {
    const [acc, addr] = await Promise.all([this.#byAccount.get(account), this.#byIp.get(ip)]);
    const blocked = [
      { res: acc, limit: this.#byAccount.points },
      { res: addr, limit: this.#byIp.points },
    ].filter((x) => x.res !== null && x.res.consumedPoints >= x.limit);
    if (blocked.length > 0) throw errors.rateLimited(retryAfter(blocked.map((x) => x.res)));
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    // A rejection means the limit was just reached; the caller still answers this attempt with
    // 401 and the next one meets `check`.
    await Promise.allSettled([this.#byAccount.consume(account), this.#byIp.consume(ip)]);
  }

  async recordSuccess(account: string): Promise<void> {
    await this.#byAccount.delete(account);
  }
}

function retryAfter(results: Array<RateLimiterRes | null>): number {
  const ms = Math.max(...results.map((r) => r?.msBeforeNext ?? 0));
  return Math.max(1, Math.ceil(ms / 1000));
}
