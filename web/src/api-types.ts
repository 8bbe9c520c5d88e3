// What the server sends, inferred from the response schemas its routes declare and parse every
// answer by, so the console's types cannot drift from the wire: a field the schema does not
// declare (and so the server strips) is not here either. `import type` only: erased at build
// time, so nothing of the server reaches the bundle. What the console sends is in api.ts.
import type { z } from 'zod';
import type { AgentEvent } from '../../server/agent/types.ts';
import type { ApiKey as ApiKeySchema, ApiKeyList, CreatedApiKey as CreatedApiKeySchema } from '../../server/api-keys/schema.ts';
import type { AuditActionList, AuditEntry as AuditEntrySchema, AuditPage as AuditPageSchema } from '../../server/audit/schema.ts';
import type { MeResponse, RecoveryCodes as RecoveryCodesSchema, Restriction, SetupResponse, SetupStatus as SetupStatusSchema, SignedIn, SignInResponse, TotpKey as TotpKeySchema, TotpStatus as TotpStatusSchema } from '../../server/auth/schema.ts';
import type { Citation as CitationSchema, ConversationDetail as ConversationDetailSchema, ConversationList, Conversation as ConversationSchema, Engine, Message as MessageSchema, RemovedCitation as RemovedCitationSchema, AskResponse, Usage } from '../../server/conversations/schema.ts';
import type { DocumentContent, DocumentList, Document as DocumentSchema, UploadedDocuments } from '../../server/documents/schema.ts';
import type { Chunk as ChunkSchema, Embeddings, Hit, KbList, Kb as KbSchema, Reindexed, SearchResponse } from '../../server/kb/schema.ts';
import type { CreatedOrganisationResponse, OrganisationListResponse, OrganisationRef, OrganisationResponse, Settings as SettingsSchema } from '../../server/organisations/schema.ts';
import type { BackupJob as BackupJobSchema, BackupsReport } from '../../server/backup/schema.ts';
import type { DiskStatus as DiskStatusSchema, HealthReport as HealthReportSchema, ModelDownload as ModelDownloadSchema, ModelDownloads as ModelDownloadsSchema, ModelsStatus as ModelsStatusSchema, SystemHistory as SystemHistorySchema } from '../../server/system/schema.ts';
import type { LimitsReport, UsageReport as UsageReportSchema } from '../../server/usage/schema.ts';
import type { ResetPasswordResponse, UserListResponse, UserResponse, User as UserSchema } from '../../server/users/schema.ts';

export type { ErrorDetail } from '../../server/errors.ts';
export type { ApiKeyRole, Role } from '../../server/auth/roles.ts';
export type { DocumentStage as DocStage, DocumentStatus as DocStatus } from '../../server/documents/documents.ts';
export type { RetrievalMode } from '../../server/kb/knowledge-bases.ts';
export type { LimitKey } from '../../server/limits/values.ts';

/** The body of a 2xx answer whose route declares `Schema`. */
type Wire<Schema extends z.ZodType> = z.output<Schema>;

// Accounts and sign-in.
export type User = Wire<typeof UserSchema>;
export type Organisation = Wire<typeof OrganisationRef>;
/** `password_change` after a password reset; `totp_enrolment` where the organisation requires two-step sign-in. */
export type SessionRestriction = NonNullable<Wire<typeof Restriction>>;
/** GET /me as the server sends it: `user` is null for an API key. */
export type MeAnswer = Wire<typeof MeResponse>;
/** Who is signed in to the console: always a person (the console has no API keys); `restriction`: the one thing the session may do. */
export type Me = Omit<MeAnswer, 'user' | 'apiKey'> & { user: User };
export type SetupState = Wire<typeof SetupStatusSchema>;
export type SetupDone = Wire<typeof SetupResponse>;
/**
 * The password step's answer: a session; with two-step sign-in on, the token for the code step; or,
 * when the password opens accounts in several organisations, which ones (sign in again naming one).
 */
export type SignInResult = Wire<typeof SignInResponse>;
export type SessionStarted = Wire<typeof SignedIn>;
export type TotpStatus = Wire<typeof TotpStatusSchema>;
export type TotpKey = Wire<typeof TotpKeySchema>;
export type RecoveryCodes = Wire<typeof RecoveryCodesSchema>;
export type PasswordReset = Wire<typeof ResetPasswordResponse>;
export type UserList = Wire<typeof UserListResponse>;
export type UserAnswer = Wire<typeof UserResponse>;

// Administration.
export type ApiKey = Wire<typeof ApiKeySchema>;
export type ApiKeys = Wire<typeof ApiKeyList>;
/** A new key with its secret, shown this once. */
export type CreatedApiKey = Wire<typeof CreatedApiKeySchema>;
export type AuditEntry = Wire<typeof AuditEntrySchema>;
export type AuditPage = Wire<typeof AuditPageSchema>;
export type AuditActions = Wire<typeof AuditActionList>;
export type OrganisationSummary = Wire<typeof OrganisationListResponse>['organisations'][number];
export type OrganisationList = Wire<typeof OrganisationListResponse>;
export type CreatedOrganisation = Wire<typeof CreatedOrganisationResponse>;
export type DeletingOrganisation = Wire<typeof OrganisationResponse>;
export type Settings = Wire<typeof SettingsSchema>;
export type LlmPolicy = Settings['llmPolicy'];
export type LimitValues = Settings['limits'];
/** Days kept (null: for ever), per kind of record. */
export type Retention = Settings['retention'];
/** Sign-in rules of the organisation. */
export type SecuritySettings = Settings['security'];
export type LimitsAndUse = Wire<typeof LimitsReport>;
/** One limit as it applies to you; `organisation` figures are for admins only (null otherwise). */
export type LimitUse = LimitsAndUse['usage'][number];
export type UsageReport = Wire<typeof UsageReportSchema>;
export type UsageGroup = UsageReport['groupBy'];
/** Keys: a day (YYYY-MM-DD, UTC), a user id or `apiKey:<id>`, a knowledge-base id, or an engine name. */
export type UsageRow = UsageReport['rows'][number];
export type ModelsStatus = Wire<typeof ModelsStatusSchema>;
export type ModelRole = ModelsStatus['roles'][number]['role'];
export type ModelDownload = Wire<typeof ModelDownloadSchema>;
export type ModelDownloads = Wire<typeof ModelDownloadsSchema>;
export type HealthReport = Wire<typeof HealthReportSchema>;
export type ComponentHealth = HealthReport['components'][number];
export type DiskStatus = Wire<typeof DiskStatusSchema>;
export type SystemHistory = Wire<typeof SystemHistorySchema>;
export type Backups = Wire<typeof BackupsReport>;
export type BackupJob = Wire<typeof BackupJobSchema>;

// Knowledge bases and documents.
export type Kb = Wire<typeof KbSchema>;
export type KbSettings = Kb['settings'];
export type Kbs = Wire<typeof KbList>;
export type Reindexing = Wire<typeof Reindexed>;
export type EmbeddingsStatus = Wire<typeof Embeddings>;
export type Doc = Wire<typeof DocumentSchema>;
export type Docs = Wire<typeof DocumentList>;
export type UploadedDocs = Wire<typeof UploadedDocuments>;
/** `duplicate`: identical content was already in the knowledge base; the entry is that document. */
export type UploadedDoc = UploadedDocs['documents'][number];
export type DocContent = Wire<typeof DocumentContent>;
/** Offsets index the document text (blocks joined by "\n\n"). */
export type ContentBlock = DocContent['blocks'][number];
export type BlockKind = ContentBlock['kind'];
export type Chunk = Wire<typeof ChunkSchema>;
export type SearchHit = Wire<typeof Hit>;
export type SearchResult = Wire<typeof SearchResponse>;

// Answers and conversations.
/** A citation; once its document is deleted, only its number, `removed`, and no quote, page or name. */
export type Citation = (Wire<typeof CitationSchema> & { removed?: false }) | Wire<typeof RemovedCitationSchema>;
export type Answer = Wire<typeof AskResponse>;
export type AnswerMode = Answer['mode'];
/** Which engine answered and why (the policy, a fallback and its cause, no model installed…). */
export type AnswerEngine = Wire<typeof Engine>;
export type AnswerUsage = Wire<typeof Usage>;
/** A knowledge-base search the model ran while answering (the `search` stream event). */
export type AskSearch = Omit<Extract<AgentEvent, { type: 'search' }>, 'type'>;
export type Conversation = Wire<typeof ConversationSchema>;
export type Conversations = Wire<typeof ConversationList>;
export type ConversationDetail = Wire<typeof ConversationDetailSchema>;
export type Message = Wire<typeof MessageSchema>;
/** Why an answer stopped early: the token limit, the engine failing mid-answer, or the listener interrupting a spoken one. */
export type AnswerIncomplete = Message['incomplete'];
export type Feedback = NonNullable<Message['feedback']>;
/** A spoken turn's timings (ms) and audio, stored with its answer; null where the turn had no such step. */
export type VoiceMetrics = NonNullable<Message['voice']>;
