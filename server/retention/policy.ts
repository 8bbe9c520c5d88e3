import { z } from 'zod';
import { MIN_AUDIT_RETENTION_DAYS, type Config } from '../config.ts';

// How long an organisation keeps what accumulates as it is used: conversations, the audit log and
// the usage ledger. Documents are kept until someone deletes them. Each organisation may set its
// own days; what it has not set follows the instance's defaults (RETENTION_*).

/** Days to keep each kind of record; null: for ever. A type alias, so it is a JSON value for the store. */
export type Retention = {
  /** Conversations not continued for this long go, with their messages. */
  conversationsDays: number | null;
  auditDays: number | null;
  usageDays: number | null;
};

export const retentionKinds = ['conversationsDays', 'auditDays', 'usageDays'] as const;

/** What an organisation chose; a kind it has not set follows the default. */
export type RetentionOverrides = { [K in keyof Retention]?: Retention[K] };

export function retentionDefaults(config: Pick<Config, 'RETENTION_CONVERSATIONS_DAYS' | 'RETENTION_AUDIT_DAYS' | 'RETENTION_USAGE_DAYS'>): Retention {
  return { conversationsDays: config.RETENTION_CONVERSATIONS_DAYS ?? null, auditDays: config.RETENTION_AUDIT_DAYS ?? null, usageDays: config.RETENTION_USAGE_DAYS ?? null };
}

/** The retention in force: the organisation's own days, the defaults for the rest. */
export function retentionInForce(overrides: RetentionOverrides | undefined, defaults: Retention): Retention {
  const inForce = { ...defaults };
  for (const kind of retentionKinds) if (overrides?.[kind] !== undefined) inForce[kind] = overrides[kind];
  return inForce;
}

const days = z.number().int().min(1).max(36_500);

export const retentionSchema = z
  .object({ conversationsDays: days.nullable(), auditDays: days.nullable(), usageDays: days.nullable() })
  .meta({ id: 'Retention' });

/** A change: days, `null` to keep for ever, or `"default"` to follow the instance's default again. */
export const retentionPatch = z.strictObject({
  conversationsDays: z.union([days, z.null(), z.literal('default')]).optional(),
  auditDays: z
    .union([days.min(MIN_AUDIT_RETENTION_DAYS, `must be at least ${MIN_AUDIT_RETENTION_DAYS} days, so what admins do stays on record for a while`), z.null(), z.literal('default')])
    .optional(),
  usageDays: z.union([days, z.null(), z.literal('default')]).optional(),
});

export function applyRetentionPatch(current: RetentionOverrides | undefined, patch: z.output<typeof retentionPatch>): RetentionOverrides {
  const next: RetentionOverrides = { ...current };
  for (const kind of retentionKinds) {
    const value = patch[kind];
    if (value === 'default') delete next[kind];
    else if (value !== undefined) next[kind] = value;
  }
  return next;
}
