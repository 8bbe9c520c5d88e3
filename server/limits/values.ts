import { z } from 'zod';
import type { Config } from '../config.ts';

// What each organisation may use, per caller (a user, or an API key on its own) and — that many
// times over — for the organisation as a whole. Defaults come from configuration; an
// organisation's settings may override any of them (`settings.limits`).

export const limitKeys = ['uploadsPerMinute', 'searchesPerMinute', 'asksPerMinute', 'realtimeSessions', 'audioMinutesPerDay', 'organisationMultiplier'] as const;
export type LimitKey = (typeof limitKeys)[number];

// A type alias (not an interface) so it is assignable to the store's JSON value type.
export type LimitValues = { [K in LimitKey]: number };
/** What an organisation changed; absent keys follow the instance's defaults. */
export type LimitOverrides = { [K in LimitKey]?: number };

/** The largest value accepted for any limit: enough for any real use, small enough to stay an integer in every store. */
const MAX_LIMIT = 1_000_000;

/** A limit of 0 counts use without refusing any; the multiplier must be at least 1. */
export const limitValue = (key: LimitKey) => z.number().int().min(key === 'organisationMultiplier' ? 1 : 0).max(key === 'organisationMultiplier' ? 1_000 : MAX_LIMIT);

/** PATCH /settings: a number sets a limit for this organisation, null returns it to the instance's default. */
export const limitsPatch = z.strictObject(Object.fromEntries(limitKeys.map((key) => [key, limitValue(key).nullable().optional()])) as { [K in LimitKey]: z.ZodOptional<z.ZodNullable<z.ZodNumber>> });
export type LimitsPatch = z.output<typeof limitsPatch>;

export const limitValuesSchema = z.object(Object.fromEntries(limitKeys.map((key) => [key, z.number()])) as { [K in LimitKey]: z.ZodNumber }).meta({ id: 'Limits' });

/** The overrides after applying a patch: null removes one, a value equal to the default is kept (the admin chose it). */
export function applyLimitsPatch(current: LimitOverrides | undefined, patch: LimitsPatch): LimitOverrides {
  const next: LimitOverrides = { ...current };
  for (const key of limitKeys) {
    const value = patch[key];
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next;
}

export function effectiveLimits(defaults: LimitValues, overrides: LimitOverrides | undefined): LimitValues {
  const values = { ...defaults };
  for (const key of limitKeys) {
    const value = overrides?.[key];
    if (typeof value === 'number') values[key] = value;
  }
  return values;
}

/** The instance's defaults, from configuration. */
export function limitDefaults(config: Config): LimitValues {
  return {
    uploadsPerMinute: config.LIMIT_UPLOADS_PER_MINUTE,
    searchesPerMinute: config.LIMIT_SEARCHES_PER_MINUTE,
    asksPerMinute: config.LIMIT_ASKS_PER_MINUTE,
    realtimeSessions: config.LIMIT_REALTIME_SESSIONS,
    audioMinutesPerDay: config.LIMIT_AUDIO_MINUTES_PER_DAY,
    organisationMultiplier: config.LIMIT_ORGANISATION_MULTIPLIER,
  };
}
