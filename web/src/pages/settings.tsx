import { useState } from 'preact/hooks';
import { api, canManageUsers, type LlmPolicy, type ModelRole, type ModelsStatus, type Settings } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { NumberField } from '../components/field.tsx';
import { Badge } from '../components/format.tsx';
import { Form } from '../components/form.tsx';
import { Page } from '../components/page.tsx';
import { RadioGroup, type RadioOption } from '../components/radio-group.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { SecuritySettingsForm } from '../components/security-settings.tsx';
import { VoiceSettingsForm } from '../components/voice-settings.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { LIMIT_KEYS, LIMIT_LABELS, showLimit, type LimitKey } from '../limits.ts';
import { ExportPanel, RetentionSettings } from './settings-data.tsx';

const POLICY_LABELS: Record<LlmPolicy, string> = {
  'local-only': 'Local only',
  'local-then-cloud': 'Local first, cloud as fallback',
  'cloud-first': 'Cloud first',
};

function cloudName({ cloud }: Settings['engines']): string {
  const where = cloud.host ?? cloud.name ?? 'the cloud endpoint';
  return cloud.model ? `${where} (${cloud.model})` : where;
}

function policyOptions(engines: Settings['engines']): RadioOption[] {
  const cloud = cloudName(engines);
  const unconfigured = engines.cloud.configured ? '' : ' Not available: no cloud endpoint is configured.';
  return [
    {
      value: 'local-only',
      label: POLICY_LABELS['local-only'],
      description: `Answers are written by the model on this server; nothing leaves this machine. Without a local model, answers are the most relevant passages, quoted.`,
    },
    {
      value: 'local-then-cloud',
      label: POLICY_LABELS['local-then-cloud'],
      description: `The local model answers; the question and the passages it needs go to ${cloud} only when the local model is missing, busy or failing.${unconfigured}`,
      disabled: !engines.cloud.configured,
    },
    {
      value: 'cloud-first',
      label: POLICY_LABELS['cloud-first'],
      description: `Every question and the passages it needs go to ${cloud}; the local model answers only when the cloud cannot.${unconfigured}`,
      disabled: !engines.cloud.configured,
    },
  ];
}

function LocalStatus({ local }: { local: Settings['engines']['local'] }) {
  return (
    <p class="engine-status">
      <span class="engine-status-label">Local model:</span>{' '}
      {local.installed ? <Badge tone="good">Installed</Badge> : <Badge tone="bad">Not installed</Badge>} {local.model && <code>{local.model}</code>}
      {local.reason && <span class="muted"> — {local.reason}</span>}
    </p>
  );
}

function PolicyForm({ settings, canEdit, onSaved }: { settings: Settings; canEdit: boolean; onSaved(s: Settings): void }) {
  const toast = useToast();
  const form = useForm({
    initial: { llmPolicy: settings.llmPolicy as string },
    submit: async (v) => {
      const saved = await api.updateSettings({ llmPolicy: v.llmPolicy as LlmPolicy });
      toast.success(`Saved. New answers follow “${POLICY_LABELS[saved.llmPolicy]}”.`);
      onSaved(saved);
    },
  });
  const hint = [
    'Applies to every knowledge base of your organisation.',
    !settings.engines.cloud.configured && 'The cloud choices need an OpenAI-compatible endpoint, which the operator of this server sets with CLOUD_LLM_URL.',
    !canEdit && 'Only admins can change it.',
  ]
    .filter(Boolean)
    .join(' ');
  const radios = <RadioGroup legend="Where answers are written" options={policyOptions(settings.engines)} disabled={!canEdit} hint={hint} {...form.field('llmPolicy')} />;
  return canEdit ? (
    <Form form={form} submitLabel="Save">
      {radios}
    </Form>
  ) : (
    radios
  );
}

const fieldName = (key: LimitKey) => `limits.${key}`;

/** Rate limits and quotas: an empty field follows this server's default (shown as its placeholder). */
function LimitsForm({ settings, canEdit, onSaved }: { settings: Settings; canEdit: boolean; onSaved(s: Settings): void }) {
  const toast = useToast();
  const own = (key: LimitKey) => (settings.limits[key] === settings.limitDefaults[key] ? '' : String(settings.limits[key]));
  const form = useForm({
    initial: Object.fromEntries(LIMIT_KEYS.map((key) => [fieldName(key), own(key)])),
    validate: (v) =>
      Object.fromEntries(
        LIMIT_KEYS.map((key) => {
          const raw = v[fieldName(key)] ?? '';
          const min = key === 'organisationMultiplier' ? 1 : 0;
          const bad = raw !== '' && !(/^\d+$/.test(raw) && Number(raw) >= min);
          return [fieldName(key), bad ? `Enter a whole number of at least ${min}, or leave it empty for the default.` : undefined];
        }),
      ),
    submit: async (v) => {
      const limits = Object.fromEntries(LIMIT_KEYS.map((key) => [key, v[fieldName(key)] ? Number(v[fieldName(key)]) : null]));
      const saved = await api.updateSettings({ limits });
      toast.success('Saved. The new limits apply from the next request.');
      onSaved(saved);
    },
  });
  if (!canEdit) {
    return (
      <dl class="stats">
        {LIMIT_KEYS.map((key) => (
          <div key={key} class="stat">
            <dt>{LIMIT_LABELS[key].label}</dt>
            <dd>{showLimit(key, settings.limits[key])}</dd>
          </div>
        ))}
      </dl>
    );
  }
  return (
    <Form form={form} submitLabel="Save limits">
      <p class="field-hint">Each limit applies to each user, and to each API key on its own. Leave a field empty to follow this server's default (shown greyed); 0 means no limit. Requests past a limit are refused and asked to try again later.</p>
      {LIMIT_KEYS.map((key) => (
        <NumberField
          key={key}
          label={LIMIT_LABELS[key].label}
          hint={LIMIT_LABELS[key].hint}
          min={key === 'organisationMultiplier' ? 1 : 0}
          optional
          placeholder={`Default: ${settings.limitDefaults[key]}`}
          {...form.field(fieldName(key))}
        />
      ))}
    </Form>
  );
}

export const ROLE_LABELS: Record<ModelRole, string> = {
  llm: 'Language model',
  embeddings: 'Embeddings (meaning search)',
  stt: 'Speech to text',
  tts: 'Text to speech',
  vad: 'Voice activity detection',
};

type RoleRow = ModelsStatus['roles'][number];

const names = (list: readonly { id: string; name: string }[]) => (list.length === 0 ? <span class="muted">None</span> : list.map((m) => m.name).join(', '));

const modelColumns: Column<RoleRow>[] = [
  { header: 'Role', cell: (r) => ROLE_LABELS[r.role] },
  {
    header: 'In use',
    class: 'cell-wrap',
    cell: (r) => (
      <>
        {r.using ? <code>{r.using}</code> : <Badge tone="neutral">Nothing</Badge>}
        {r.note && <span class="cell-note">{r.note}</span>}
      </>
    ),
  },
  { header: 'Installed', class: 'cell-wrap', cell: (r) => names(r.installed) },
  {
    header: 'Not installed',
    class: 'cell-wrap',
    cell: (r) =>
      r.missing.length === 0 ? (
        <span class="muted">None</span>
      ) : (
        <ul class="plain-list">
          {r.missing.map((m) => (
            <li key={m.id}>
              {m.name}
              {m.profiles.length > 0 && <span class="cell-note">In the {m.profiles.join(', ')} profile{m.profiles.length === 1 ? '' : 's'}</span>}
            </li>
          ))}
        </ul>
      ),
  },
];

/** The models table with the command that fetches them; the System page shows it too. */
export function Models({ models }: { models: ModelsStatus }) {
  return (
    <>
      <DataTable caption="Models per role" columns={modelColumns} rows={models.roles} rowKey={(r) => r.role} empty="No model roles reported." />
      <p class="models-fetch">Models are downloaded on the server by its operator. To fetch the recommended small set, run:</p>
      <code id="fetch-command" class="secret">
        {models.fetchCommand}
      </code>
      <CopyButton text={models.fetchCommand} targetId="fetch-command" />
    </>
  );
}

export function SettingsPage() {
  const me = useMe();
  const canEdit = canManageUsers(me.user);
  const settings = useResource(() => api.getSettings(), []);
  const models = useResource(() => api.systemModels(), []);
  const [saved, setSaved] = useState<Settings | null>(null);

  return (
    <Page title="Settings" intro="Where your organisation's answers are written, how much each user may use, and which models this server has.">
      <section class="panel" aria-labelledby="engine-heading">
        <h2 id="engine-heading">Answer engine</h2>
        <ResourceView resource={settings}>
          {(loaded) => {
            const current = saved ?? loaded;
            return (
              <>
                <LocalStatus local={current.engines.local} />
                {current.engines.cloud.configured && (
                  <p class="engine-status">
                    <span class="engine-status-label">Cloud endpoint:</span> {cloudName(current.engines)}
                  </p>
                )}
                <PolicyForm settings={current} canEdit={canEdit} onSaved={setSaved} />
              </>
            );
          }}
        </ResourceView>
      </section>
      <section class="panel" aria-labelledby="limits-heading">
        <h2 id="limits-heading">Limits</h2>
        <ResourceView resource={settings}>{(loaded) => <LimitsForm settings={saved ?? loaded} canEdit={canEdit} onSaved={setSaved} />}</ResourceView>
      </section>
      <section class="panel" aria-labelledby="retention-heading">
        <h2 id="retention-heading">Retention</h2>
        <ResourceView resource={settings}>{(loaded) => <RetentionSettings settings={saved ?? loaded} canEdit={canEdit} onSaved={setSaved} />}</ResourceView>
      </section>
      {canEdit && (
        <section class="panel" aria-labelledby="export-heading">
          <h2 id="export-heading">Export</h2>
          <ExportPanel />
        </section>
      )}
      <section class="panel" aria-labelledby="security-heading">
        <h2 id="security-heading">Sign-in</h2>
        <ResourceView resource={settings}>{(loaded) => <SecuritySettingsForm settings={loaded} canEdit={canEdit} />}</ResourceView>
      </section>
      <section class="panel" aria-labelledby="voice-heading">
        <h2 id="voice-heading">Voice</h2>
        <ResourceView resource={settings}>{(loaded) => <VoiceSettingsForm settings={loaded} canEdit={canEdit} />}</ResourceView>
      </section>
      <section class="panel" aria-labelledby="models-heading">
        <h2 id="models-heading">Models</h2>
        <ResourceView resource={models}>{(m) => <Models models={m} />}</ResourceView>
      </section>
    </Page>
  );
}
