import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { errors } from '../errors.ts';
import type { Counters } from './counters.ts';
import { effectiveLimits, type LimitKey, type LimitOverrides, type LimitValues } from './values.ts';

export const limitNames = ['uploads', 'searches', 'asks', 'realtimeSessions', 'audio'] as const;
/** What is counted: files uploaded, searches, questions, open voice sessions, voice input. */
export type LimitName = (typeof limitNames)[number];

export type LimitWindow = 'minute' | 'day' | 'open';

interface LimitSpec {
  setting: Exclude<LimitKey, 'organisationMultiplier'>;
  /** A fixed minute from the first use; a UTC day; or what is open right now. */
  window: LimitWindow;
  /** Points counted per unit of the setting: voice input is counted in milliseconds and set in minutes. */
  pointsPerUnit: number;
  /** The limit in words, after its number. */
  unit: string;
}

export const LIMIT_SPECS: Record<LimitName, LimitSpec> = {
  uploads: { setting: 'uploadsPerMinute', window: 'minute', pointsPerUnit: 1, unit: 'uploaded files per minute' },
  searches: { setting: 'searchesPerMinute', window: 'minute', pointsPerUnit: 1, unit: 'searches per minute' },
  asks: { setting: 'asksPerMinute', window: 'minute', pointsPerUnit: 1, unit: 'questions per minute' },
  realtimeSessions: { setting: 'realtimeSessions', window: 'open', pointsPerUnit: 1, unit: 'open voice sessions' },
  audio: { setting: 'audioMinutesPerDay', window: 'day', pointsPerUnit: 60_000, unit: 'minutes of voice input per day (UTC)' },
};

const WINDOW_SECONDS: Record<LimitWindow, number> = { minute: 60, day: 86_400, open: 0 };

/** A session slot frees when someone hangs up, which no window predicts: this is how soon trying again is reasonable. */
const OPEN_RETRY_SECONDS = 10;

export type LimitScope = 'caller' | 'organisation';

/** Where a subject stands against one limit, in the limit's points. */
export interface Standing {
  scope: LimitScope;
  /** 0: not limited (use is still counted). */
  limit: number;
  used: number;
  /** Until the window starts afresh; null for what is open right now. */
  resetMs: number | null;
}

export interface LimitReport {
  name: LimitName;
  setting: LimitKey;
  window: LimitWindow;
  /** In the setting's unit (voice input in minutes). */
  caller: { limit: number; used: number; resetSeconds: number | null };
  organisation: { limit: number; used: number; resetSeconds: number | null };
  refusedToday: { caller: number; organisation: number };
}

export interface RateLimitsDeps {
  counters: Counters;
  /** The instance's defaults (configuration). */
  defaults: LimitValues;
  /** An organisation's own choices (its settings), read on every check so a change applies at once. */
  overridesOf: (organisationId: string) => Promise<LimitOverrides | undefined>;
  clock: Clock;
}

/** The caller counts on its own: a user, or an API key apart from the user who made it. */
export function callerOf(principal: Principal): string {
  const who = principal.userId ? `user:${principal.userId}` : principal.apiKeyId ? `key:${principal.apiKeyId}` : `session:${principal.sessionId ?? 'none'}`;
  return `${principal.organisationId}:${who}`;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Rate limits and quotas per caller and per organisation. Each use is counted against the caller
 * and then the organisation (atomically in the counter store); when either would go past its
 * limit, both counts are given back and the use is refused with 429 `rate_limited`, naming the
 * limit. Refusals are counted per UTC day for the usage page.
 */
export class RateLimits {
  readonly #d: RateLimitsDeps;
  readonly #counters = new Map<LimitName, RateLimiterAbstract>();
  readonly #refusals: RateLimiterAbstract;

  constructor(deps: RateLimitsDeps) {
    this.#d = deps;
    for (const name of Object.keys(LIMIT_SPECS) as LimitName[]) {
      this.#counters.set(name, deps.counters({ keyPrefix: `limit_${name}`, duration: WINDOW_SECONDS[LIMIT_SPECS[name].window] }));
    }
    this.#refusals = deps.counters({ keyPrefix: 'limit_refusals', duration: WINDOW_SECONDS.day });
  }

  get defaults(): LimitValues {
    return { ...this.#d.defaults };
  }

  async limitsOf(organisationId: string): Promise<LimitValues> {
    return effectiveLimits(this.#d.defaults, await this.#d.overridesOf(organisationId));
  }

  /**
   * Counts `points` of `name` for the caller and its organisation, or refuses (429, nothing
   * counted). Resolves to the tighter of the two standings, for RateLimit-* headers.
   */
  async take(principal: Principal, name: LimitName, points = 1): Promise<Standing> {
    const spec = LIMIT_SPECS[name];
    const counter = this.#counter(name);
    const limits = this.#pointLimits(spec, await this.limitsOf(principal.organisationId));
    const window = this.#window(spec);
    const keys = { caller: this.#key(callerOf(principal), spec), organisation: this.#key(principal.organisationId, spec) };
    const caller = await counter.consume(keys.caller, points, window.options);
    if (limits.caller > 0 && caller.consumedPoints > limits.caller) {
      await counter.reward(keys.caller, points, window.options);
      throw await this.#refuse(principal, name, 'caller', limits.caller, caller, points);
    }
    const organisation = await counter.consume(keys.organisation, points, window.options);
    if (limits.organisation > 0 && organisation.consumedPoints > limits.organisation) {
      await Promise.all([counter.reward(keys.caller, points, window.options), counter.reward(keys.organisation, points, window.options)]);
      throw await this.#refuse(principal, name, 'organisation', limits.organisation, organisation, points);
    }
    const standings: Standing[] = [
      { scope: 'caller', limit: limits.caller, used: caller.consumedPoints, resetMs: window.resetMs(caller) },
      { scope: 'organisation', limit: limits.organisation, used: organisation.consumedPoints, resetMs: window.resetMs(organisation) },
    ];
    return tighter(standings);
  }

  /** Gives back what `take` counted for something that is no longer open (a closed voice session). */
  async release(principal: Principal, name: LimitName, points = 1): Promise<void> {
    const spec = LIMIT_SPECS[name];
    const counter = this.#counter(name);
    const window = this.#window(spec);
    await Promise.all([counter.reward(this.#key(callerOf(principal), spec), points, window.options), counter.reward(this.#key(principal.organisationId, spec), points, window.options)]);
  }

  /**
   * Refuses (429) when the caller or its organisation has nothing left of `name`, counting
   * nothing: the early check before work whose size is only known later (an upload's files).
   */
  async ensureLeft(principal: Principal, name: LimitName): Promise<void> {
    const spec = LIMIT_SPECS[name];
    const limits = this.#pointLimits(spec, await this.limitsOf(principal.organisationId));
    for (const [scope, key] of [['caller', callerOf(principal)], ['organisation', principal.organisationId]] as const) {
      const res = await this.#counter(name).get(this.#key(key, spec));
      if (res && limits[scope] > 0 && res.consumedPoints >= limits[scope]) throw await this.#refuse(principal, name, scope, limits[scope], res, 1);
    }
  }

  /** Every limit as it applies to this caller, what it and its organisation used, and today's refusals. */
  async report(principal: Principal): Promise<LimitReport[]> {
    const values = await this.limitsOf(principal.organisationId);
    const day = this.#day();
    return Promise.all(
      limitNames.map(async (name) => {
        const spec = LIMIT_SPECS[name];
        const limits = this.#pointLimits(spec, values);
        const window = this.#window(spec);
        const [caller, organisation, refusedCaller, refusedOrganisation] = await Promise.all([
          this.#counter(name).get(this.#key(callerOf(principal), spec)),
          this.#counter(name).get(this.#key(principal.organisationId, spec)),
          this.#refusals.get(`${callerOf(principal)}:${name}:${day}`),
          this.#refusals.get(`${principal.organisationId}:${name}:${day}`),
        ]);
        const inUnits = (points: number) => Math.round((points / spec.pointsPerUnit) * 10) / 10;
        const standing = (limit: number, res: RateLimiterRes | null) => {
          const resetMs = res ? window.resetMs(res) : null;
          return { limit: inUnits(limit), used: inUnits(Math.max(0, res?.consumedPoints ?? 0)), resetSeconds: resetMs === null ? null : seconds(resetMs) };
        };
        return {
          name,
          setting: spec.setting,
          window: spec.window,
          caller: standing(limits.caller, caller),
          organisation: standing(limits.organisation, organisation),
          refusedToday: { caller: refusedCaller?.consumedPoints ?? 0, organisation: refusedOrganisation?.consumedPoints ?? 0 },
        };
      }),
    );
  }

  #counter(name: LimitName): RateLimiterAbstract {
    const counter = this.#counters.get(name);
    if (!counter) throw new Error(`no counter for limit ${name}`);
    return counter;
  }

  #pointLimits(spec: LimitSpec, values: LimitValues): Record<LimitScope, number> {
    const caller = values[spec.setting] * spec.pointsPerUnit;
    return { caller, organisation: caller * values.organisationMultiplier };
  }

  #day(): string {
    return this.#d.clock.now().toISOString().slice(0, 10);
  }

  #msToMidnight(): number {
    const now = this.#d.clock.now();
    return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime();
  }

  /** A day's counts live under that day's key and expire at its end, so "today" is the UTC day. */
  #key(subject: string, spec: LimitSpec): string {
    return spec.window === 'day' ? `${subject}:${this.#day()}` : subject;
  }

  #window(spec: LimitSpec): { options: { customDuration?: number }; resetMs(res: RateLimiterRes): number | null } {
    if (spec.window === 'day') {
      const ms = this.#msToMidnight();
      return { options: { customDuration: seconds(ms) }, resetMs: () => ms };
    }
    if (spec.window === 'open') return { options: {}, resetMs: () => null };
    return { options: {}, resetMs: (res) => Math.max(0, res.msBeforeNext) };
  }

  async #refuse(principal: Principal, name: LimitName, scope: LimitScope, limit: number, res: RateLimiterRes, points: number) {
    const spec = LIMIT_SPECS[name];
    const window = this.#window(spec);
    const resetMs = window.resetMs(res);
    const day = { customDuration: seconds(this.#msToMidnight()) };
    const stamp = this.#day();
    await Promise.all([
      this.#refusals.consume(`${callerOf(principal)}:${name}:${stamp}`, 1, day),
      this.#refusals.consume(`${principal.organisationId}:${name}:${stamp}`, 1, day),
    ]);
    const units = limit / spec.pointsPerUnit;
    const whose = scope === 'caller' ? (principal.userId ? 'for each user' : 'for each API key') : 'for the whole organisation';
    const tooBig = name === 'uploads' && points > limit ? `this upload has ${points} files; ` : '';
    const headers = rateLimitHeaders({ scope, limit, used: limit, resetMs });
    return errors.rateLimited(resetMs === null ? OPEN_RETRY_SECONDS : seconds(resetMs), { path: `limits.${spec.setting}`, message: `${tooBig}at most ${units} ${spec.unit} ${whose}` }, headers);
  }
}

/** The standing with the least left, so a client sees the limit it will meet first. */
function tighter(standings: Standing[]): Standing {
  const left = (s: Standing) => (s.limit > 0 ? s.limit - s.used : Infinity);
  return standings.reduce((a, b) => (left(b) < left(a) ? b : a));
}

/** The IETF draft's RateLimit-Limit/-Remaining/-Reset fields; none for what is not limited. */
export function rateLimitHeaders(standing: Standing): Record<string, string> {
  if (standing.limit <= 0) return {};
  const headers: Record<string, string> = { 'RateLimit-Limit': String(standing.limit), 'RateLimit-Remaining': String(Math.max(0, standing.limit - standing.used)) };
  if (standing.resetMs !== null) headers['RateLimit-Reset'] = String(seconds(standing.resetMs));
  return headers;
}
