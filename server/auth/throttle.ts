import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { errors } from '../errors.ts';

/** Opens one limiter of a store with these options. */
export type LimiterFactory = (options: { keyPrefix: string; points: number; duration: number; blockDuration?: number }) => RateLimiterAbstract;

export interface ThrottleLimits {
  perAccount: number;
  perIp: number;
  windowSeconds: number;
}

/** What the caller reports once the password has been checked. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
  failed(): Promise<void>;
}

export interface SlowdownPolicy {
  /** Delay of the first attempt past the address's limit; each further failure doubles it. */
  baseMs: number;
  maxMs: number;
  /** Attempts from one slowed address that may wait at once; more are refused with 429. */
  maxWaiting: number;
}

const DEFAULT_SLOWDOWN: SlowdownPolicy = { baseMs: 250, maxMs: 8_000, maxWaiting: 20 };

/**
 * Login throttling, after OWASP's guidance: a per-account lock and a per-address slowdown.
 *
 * Each attempt takes a point from its account *before* the password is verified (the limiter's
 * consume is atomic), so under any concurrency at most `perAccount` passwords are evaluated per
 * window; a success gives the account its points back. Failures from one address past `perIp`
 * slow that address down — its attempts are evaluated one at a time, each after a growing delay —
 * rather than lock it out, because a clinic's whole staff may share one address.
 */
export class LoginThrottle {
  readonly #byAccount: RateLimiterAbstract;
  readonly #byIp: RateLimiterAbstract;
  readonly #slowdown: SlowdownPolicy;
  /** Per slowed address: the end of its queue of attempts and how many wait in it. */
  readonly #queues = new Map<string, { tail: Promise<void>; waiting: number }>();

  constructor(limiters: { byAccount: RateLimiterAbstract; byIp: RateLimiterAbstract }, slowdown: SlowdownPolicy = DEFAULT_SLOWDOWN) {
    this.#byAccount = limiters.byAccount;
    this.#byIp = limiters.byIp;
    this.#slowdown = slowdown;
  }

  static inMemory(limits: ThrottleLimits, slowdown?: SlowdownPolicy): LoginThrottle {
    return LoginThrottle.withStore(limits, { name: 'login', limiter: (options) => new RateLimiterMemory(options) }, slowdown);
  }

  /**
   * The throttle with its counts in a limiter store (rate-limiter-flexible's memory or Redis
   * store: with Redis every process counts the same attempts). `name` keeps throttles that share
   * a store apart (passwords and two-step codes).
   */
  static withStore(limits: ThrottleLimits, store: { name: string; limiter: LimiterFactory }, slowdown?: SlowdownPolicy): LoginThrottle {
    return new LoginThrottle(
      {
        byAccount: store.limiter({ keyPrefix: `${store.name}_account`, points: limits.perAccount, duration: limits.windowSeconds, blockDuration: limits.windowSeconds }),
        // Counts failures only; never blocks (see `#waitForTurn`).
        byIp: store.limiter({ keyPrefix: `${store.name}_ip`, points: limits.perIp, duration: limits.windowSeconds }),
      },
      slowdown,
    );
  }

  /**
   * Admits one attempt: throws 429 when the account has no attempts left in its window (or the
   * address's queue is full), waits out the address's slowdown, then hands back the attempt.
   */
  async admit(account: string, ip: string): Promise<LoginAttempt> {
    try {
      await this.#byAccount.consume(account);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw errors.rateLimited(seconds(err.msBeforeNext));
      throw err;
    }
    try {
      await this.#waitForTurn(ip);
    } catch (err) {
      await this.#byAccount.reward(account).catch(() => undefined);
      throw err;
    }
    return {
      succeeded: async () => void (await this.#byAccount.delete(account)),
      // Over the limit the consume rejects; the failure still counts, and that is all we need.
      failed: async () => void (await this.#byIp.consume(ip).catch(() => undefined)),
    };
  }

  async #waitForTurn(ip: string): Promise<void> {
    const failures = (await this.#byIp.get(ip))?.consumedPoints ?? 0;
    const excess = failures - this.#byIp.points;
    if (excess < 0) return;
    const delayMs = Math.min(this.#slowdown.maxMs, this.#slowdown.baseMs * 2 ** Math.min(excess, 16));
    const queue = this.#queues.get(ip) ?? { tail: Promise.resolve(), waiting: 0 };
    if (queue.waiting >= this.#slowdown.maxWaiting) throw errors.rateLimited(seconds(delayMs * queue.waiting));
    queue.waiting++;
    this.#queues.set(ip, queue);
    const turn = queue.tail.then(() => new Promise<void>((resolve) => setTimeout(resolve, delayMs)));
    queue.tail = turn;
    await turn;
    queue.waiting--;
    if (queue.waiting === 0 && queue.tail === turn) this.#queues.delete(ip);
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
