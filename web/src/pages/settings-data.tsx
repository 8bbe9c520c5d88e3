import { api, organisationExportUrl, type Retention, type RetentionPatch, type Settings } from '../api.ts';
import { TextField } from '../components/field.tsx';
import { Form } from '../components/form.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useToast } from '../hooks/use-toast.ts';

// Settings → Retention and Export: how long the organisation keeps what accumulates, and
// everything of it as one download.

type Kind = keyof Retention;

const KINDS: ReadonlyArray<{ kind: Kind; label: string; hint: string; min: number }> = [
  { kind: 'conversationsDays', label: 'Conversations', hint: 'A conversation nobody has continued for this many days is deleted with its messages.', min: 1 },
  { kind: 'auditDays', label: 'Audit log', hint: 'Entries older than this are deleted. At least 30 days, so what admins do stays on record.', min: 30 },
  { kind: 'usageDays', label: 'Usage records', hint: 'Records of each answer’s tokens and cost older than this are deleted.', min: 1 },
];

const fieldName = (kind: Kind) => `retention.${kind}`;
const days = (value: number | null) => (value === null ? 'kept for ever' : `${value} day${value === 1 ? '' : 's'}`);

/** Empty: the server's default; 0: for ever; otherwise days. */
function RetentionForm({ settings, onSaved }: { settings: Settings; onSaved(s: Settings): void }) {
  const toast = useToast();
  const own = (kind: Kind) => {
    const value = settings.retention[kind];
    if (value === settings.retentionDefaults[kind]) return '';
    return value === null ? '0' : String(value);
  };
  const form = useForm({
    initial: Object.fromEntries(KINDS.map(({ kind }) => [fieldName(kind), own(kind)])),
    validate: (v) =>
      Object.fromEntries(
        KINDS.map(({ kind, min }) => {
          const raw = v[fieldName(kind)] ?? '';
          const ok = raw === '' || raw === '0' || (/^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= 36_500);
          return [fieldName(kind), ok ? undefined : `Enter a number of days from ${min}, 0 to keep for ever, or leave it empty for the default.`];
        }),
      ),
    submit: async (v) => {
      const retention: RetentionPatch = {};
      for (const { kind } of KINDS) {
        const raw = v[fieldName(kind)] ?? '';
        retention[kind] = raw === '' ? 'default' : raw === '0' ? null : Number(raw);
      }
      const saved = await api.updateSettings({ retention });
      toast.success('Saved. The next daily purge applies it.');
      onSaved(saved);
    },
  });
  return (
    <Form form={form} submitLabel="Save retention">
      <p class="field-hint">
        Once a day, what is older than your organisation keeps it is deleted for good, and the audit log records how much went. Leave a field empty to follow this server’s default; 0 keeps for ever.
        Documents stay until someone deletes them.
      </p>
      {KINDS.map(({ kind, label, hint }) => (
        <TextField key={kind} label={`${label} (days)`} hint={`${hint} Empty: this server’s default, ${days(settings.retentionDefaults[kind])}.`} maxLength={5} {...form.field(fieldName(kind))} />
      ))}
    </Form>
  );
}

export function RetentionSettings({ settings, canEdit, onSaved }: { settings: Settings; canEdit: boolean; onSaved(s: Settings): void }) {
  if (canEdit) return <RetentionForm settings={settings} onSaved={onSaved} />;
  return (
    <dl class="stats">
      {KINDS.map(({ kind, label }) => (
        <div key={kind} class="stat">
          <dt>{label}</dt>
          <dd>{days(settings.retention[kind])}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The organisation's whole archive, for admins: the browser streams it to disk. */
export function ExportPanel() {
  return (
    <>
      <p>
        Everything of your organisation as one ZIP file: documents as uploaded, knowledge bases, conversations, the audit log, usage, users and API keys (never passwords or
        secrets), with a manifest listing each file’s checksum. The download is recorded in the audit log.
      </p>
      <a class="button button-secondary" href={organisationExportUrl} download>
        Export organisation data
      </a>
    </>
  );
}
