import { z } from 'zod';
import { displayName } from '../http/names.ts';
import { limitValuesSchema } from '../limits/values.ts';
import { retentionSchema } from '../retention/policy.ts';
import { User } from '../users/schema.ts';
import { llmPolicies } from '../engines/policy.ts';

export const organisationName = displayName(120);

/** An organisation as a signed-in member sees it: which one. */
export const OrganisationRef = z.object({ id: z.string(), name: z.string() });

export const Organisation = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    deleting: z
      .object({ since: z.string(), step: z.enum(['starting', 'access', 'conversations', 'documents', 'records']) })
      .nullable()
      .describe('Set while the organisation is being deleted: since when, and the step it is at'),
  })
  .meta({ id: 'Organisation' });

export const OrganisationSummary = Organisation.extend({ userCount: z.number() });

export const OrganisationListResponse = z.object({ organisations: z.array(OrganisationSummary) });
export const CreatedOrganisationResponse = z.object({ organisation: Organisation, admin: User });
export const OrganisationResponse = z.object({ organisation: Organisation });

export const securitySettings = z
  .strictObject({ requireTotp: z.boolean().describe('Members without two-step sign-in must set it up right after signing in (their sessions can do nothing else until they have)') })
  .describe('Sign-in rules');

export const voiceSettings = z
  .strictObject({ answerSeconds: z.number().int().min(5).max(300).describe('About how long a spoken answer takes, its spoken source included: the best sentences that fit are said, the whole answer is shown. Default 20') })
  .describe('Spoken answers');

export const Settings = z
  .object({
    llmPolicy: z.enum(llmPolicies),
    engines: z.object({
      local: z.object({ installed: z.boolean(), model: z.string().nullable(), reason: z.string().nullable() }),
      cloud: z.object({ configured: z.boolean(), name: z.string().nullable(), model: z.string().nullable(), host: z.string().nullable() }),
    }),
    limits: limitValuesSchema.describe("Rate limits and quotas in force: this organisation's own values, the instance's defaults for the rest. Per user or API key; the organisation as a whole gets `organisationMultiplier` times each. 0: not limited."),
    limitDefaults: limitValuesSchema.describe('The instance\'s defaults (LIMIT_* configuration), which a limit set to null returns to.'),
    security: securitySettings,
    voice: voiceSettings,
    retention: retentionSchema.describe(
      "Days kept in force (this organisation's own, the instance's defaults for the rest): conversations not continued for `conversationsDays` go with their messages, audit entries and usage records older than theirs; null: kept for ever. A daily purge applies them and records what it removed in the audit log.",
    ),
    retentionDefaults: retentionSchema.describe("The instance's defaults (RETENTION_* configuration), which `\"default\"` returns a kind to."),
  })
  .meta({ id: 'OrganisationSettings' });
