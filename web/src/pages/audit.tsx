import { useEffect, useId, useState } from 'preact/hooks';
import { api, toApiError, type ApiError, type AuditEntry, type AuditQuery } from '../api.ts';
import { Button } from '../components/button.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { Badge, Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { useResource } from '../hooks/use-resource.ts';

// Imperative phrasing reads right with either outcome ("Sign in — Failed").
const ACTIONS: Record<string, string> = {
  setup: 'Set up instance',
  login: 'Sign in',
  logout: 'Sign out',
  'password.change': 'Change password',
  'password.reset': 'Reset password',
  'totp.enable': 'Turn on two-step sign-in',
  'totp.disable': 'Turn off two-step sign-in',
  'totp.recovery_code': 'Sign in with a recovery code',
  'totp.recovery_codes': 'Renew recovery codes',
  'user.create': 'Add user',
  'user.update': 'Update user',
  'user.disable': 'Disable user',
  'user.enable': 'Enable user',
  'user.delete': 'Delete user',
  'user.role': 'Change role',
  'apikey.create': 'Create API key',
  'apikey.revoke': 'Revoke API key',
  'organisation.create': 'Create organisation',
  'organisation.delete': 'Delete organisation',
  'settings.update': 'Change settings',
  'kb.create': 'Create knowledge base',
  'kb.update': 'Change knowledge base',
  'kb.reindex': 'Reindex knowledge base',
  'kb.delete': 'Delete knowledge base',
  'document.create': 'Upload document',
  'document.view': 'View document',
  'document.download': 'Download original',
  'document.reprocess': 'Reprocess document',
  'document.delete': 'Delete document',
  'document.quarantine': 'Quarantine document',
  'conversation.read': "Read someone's conversation",
  'llm.cloud': 'Send to cloud language model',
  'speech.cloud': 'Send to cloud speech service',
  'retention.purge': 'Delete expired records',
  export: 'Export data',
  'audit.export': 'Export audit log',
};

/** The action list's groups, by what an action starts with; actions without one sit with sign-in. */
const GROUPS: Record<string, string> = {
  '': 'Sign-in and setup',
  password: 'Sign-in and setup',
  totp: 'Sign-in and setup',
  user: 'Users',
  apikey: 'API keys',
  organisation: 'Organisations',
  settings: 'Settings',
  kb: 'Knowledge bases',
  document: 'Documents',
  conversation: 'Conversations',
  llm: 'Cloud engines',
  speech: 'Cloud engines',
  export: 'Exports',
  audit: 'Exports',
  retention: 'Settings',
};

const TARGET_TYPES: Record<string, string> = {
  user: 'User',
  apiKey: 'API key',
  apikey: 'API key',
  organisation: 'Organisation',
  kb: 'Knowledge base',
  document: 'Document',
  conversation: 'Conversation',
  session: 'Session',
};

function actor({ actor: a }: AuditEntry): string {
  if (a.type === 'anonymous') return 'Anonymous';
  if (a.type === 'system') return 'Lectern';
  const name = a.name ?? a.id ?? 'unknown';
  return a.type === 'apiKey' ? `API key “${name}”` : name;
}

function target({ target: t }: AuditEntry): string {
  if (!t) return '—';
  return `${TARGET_TYPES[t.type] ?? t.type}: ${t.name ?? t.id}`;
}

function details(entry: AuditEntry): string {
  if (!entry.details) return '';
  return Object.entries(entry.details)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

const columns: Column<AuditEntry>[] = [
  { header: 'Time', cell: (e) => <Time value={e.at} seconds /> },
  { header: 'Actor', cell: actor },
  {
    header: 'Action',
    cell: (e) => (
      <>
        {ACTIONS[e.action] ?? e.action}
        {e.details && <span class="audit-details">{details(e)}</span>}
      </>
    ),
  },
  { header: 'Target', cell: target, class: 'cell-wrap' },
  { header: 'Outcome', cell: (e) => (e.outcome === 'success' ? <Badge tone="good">Success</Badge> : <Badge tone="bad">Failed</Badge>) },
  { header: 'IP address', cell: (e) => e.ip ?? '—' },
];

interface Choice {
  value: string;
  label: string;
}

interface ChoiceGroup {
  label: string;
  choices: Choice[];
}

/** A labelled select whose options sit in groups (a group without a label: none); the first option (`all`) clears the filter. */
function GroupedSelect({ label, value, onValue, all, groups }: { label: string; value: string; onValue(v: string): void; all: string; groups: readonly ChoiceGroup[] }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
        <option value="">{all}</option>
        {groups
          .filter((g) => g.choices.length > 0)
          .map((g) => {
            const options = g.choices.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ));
            return g.label ? (
              <optgroup key={g.label} label={g.label}>
                {options}
              </optgroup>
            ) : (
              options
            );
          })}
      </select>
    </div>
  );
}

function DateField({ label, value, onValue, min, max }: { label: string; value: string; onValue(v: string): void; min?: string | undefined; max?: string | undefined }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} type="date" value={value} min={min} max={max} onChange={(e) => onValue(e.currentTarget.value)} />
    </div>
  );
}

function actionGroups(actions: readonly string[], groups: readonly string[]): ChoiceGroup[] {
  const byLabel = new Map<string, ChoiceGroup>();
  for (const action of actions) {
    const prefix = action.includes('.') ? action.slice(0, action.indexOf('.')) : action in GROUPS ? action : '';
    const label = GROUPS[prefix] ?? prefix;
    const group = byLabel.get(label) ?? { label, choices: [] };
    byLabel.set(label, group);
    // A group of several actions can be chosen as a whole ("document." is every document action).
    const whole = `${prefix}.`;
    if (groups.includes(whole) && actions.filter((a) => a.startsWith(whole)).length > 1 && !group.choices.some((c) => c.value === whole)) {
      group.choices.push({ value: whole, label: `All ${label.toLowerCase()} actions` });
    }
    group.choices.push({ value: action, label: ACTIONS[action] ?? action });
  }
  return [...byLabel.values()];
}

/** The form's local days as the API's instants: from the start of `from` to the end of `to`. */
function auditQuery(filters: { actor: string; action: string; from: string; to: string; outcome: string }): AuditQuery {
  const dayStart = (day: string, plusDays = 0) => {
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    return new Date(y, m - 1, d + plusDays).toISOString();
  };
  const query: AuditQuery = {};
  if (filters.actor) query.actor = filters.actor;
  if (filters.action) query.action = filters.action;
  if (filters.from) query.from = dayStart(filters.from);
  if (filters.to) query.to = dayStart(filters.to, 1);
  if (filters.outcome === 'success' || filters.outcome === 'failure') query.outcome = filters.outcome;
  return query;
}

const PAGE_SIZE = 100;
const NO_FILTERS = { actor: '', action: '', from: '', to: '', outcome: '' };

export function AuditPage() {
  const [filters, setFilters] = useState(NO_FILTERS);
  const set = (key: keyof typeof NO_FILTERS) => (value: string) => setFilters((f) => ({ ...f, [key]: value }));
  const query = auditQuery(filters);
  const queryKey = JSON.stringify(query);

  const actors = useResource(async () => {
    const [{ users }, { apiKeys }] = await Promise.all([api.listUsers(), api.listApiKeys()]);
    return [
      { label: 'People', choices: users.map((u) => ({ value: u.id, label: u.name })) },
      { label: 'API keys', choices: apiKeys.map((k) => ({ value: k.id, label: `API key “${k.name}”` })) },
    ];
  }, []);
  const vocabulary = useResource(() => api.auditActions(), []);

  const first = useResource(() => api.listAudit({ ...query, limit: PAGE_SIZE }), [queryKey]);
  // Pages after the first, appended by "Load more"; a new first page (new filters, refresh) drops them.
  const [more, setMore] = useState<{ entries: AuditEntry[]; next: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiError | null>(null);
  useEffect(() => {
    setMore(null);
    setMoreError(null);
  }, [first.data]);
  const next = more ? more.next : (first.data?.nextCursor ?? null);

  const loadMore = async () => {
    if (!next) return;
    setLoadingMore(true);
    try {
      const page = await api.listAudit({ ...query, limit: PAGE_SIZE, before: next });
      setMore((m) => ({ entries: [...(m?.entries ?? []), ...page.entries], next: page.nextCursor }));
      setMoreError(null);
    } catch (err) {
      setMoreError(toApiError(err));
    } finally {
      setLoadingMore(false);
    }
  };

  const filtered = queryKey !== '{}';
  return (
    <Page
      title="Audit log"
      intro="Who signed in, changed, viewed, downloaded or exported what in your organisation, and from where, newest first. Dates are your local days."
      actions={
        <>
          <a class="button button-secondary" href={api.auditExportUrl(query, 'csv')} download>
            Export CSV
          </a>
          <a class="button button-secondary" href={api.auditExportUrl(query, 'jsonl')} download>
            Export JSONL
          </a>
          <Button onClick={first.reload} pending={first.loading}>
            Refresh
          </Button>
        </>
      }
    >
      <form class="toolbar audit-filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <GroupedSelect label="Actor" value={filters.actor} onValue={set('actor')} all="Anyone" groups={actors.data ?? []} />
        <GroupedSelect label="Action" value={filters.action} onValue={set('action')} all="Any action" groups={vocabulary.data ? actionGroups(vocabulary.data.actions, vocabulary.data.groups) : []} />
        <DateField label="From" value={filters.from} max={filters.to || undefined} onValue={set('from')} />
        <DateField label="To" value={filters.to} min={filters.from || undefined} onValue={set('to')} />
        <GroupedSelect label="Outcome" value={filters.outcome} onValue={set('outcome')} all="Any outcome" groups={[{ label: '', choices: [{ value: 'success', label: 'Success' }, { value: 'failure', label: 'Failed' }] }]} />
        {filtered && (
          <Button variant="ghost" onClick={() => setFilters(NO_FILTERS)}>
            Clear filters
          </Button>
        )}
      </form>
      <ResourceView resource={first}>
        {(page) => {
          const rows = [...page.entries, ...(more?.entries ?? [])];
          return (
            <>
              <p class="audit-count" role="status">
                {rows.length === 0 ? '' : `Showing ${rows.length} ${rows.length === 1 ? 'entry' : 'entries'}${next ? '' : ', all there are'}.`}
              </p>
              <DataTable caption="Audit log entries" columns={columns} rows={rows} rowKey={(e) => e.id} empty={filtered ? 'Nothing matches these filters.' : 'Nothing has been recorded yet.'} />
              {moreError && <ErrorBanner error={moreError} />}
              {next && (
                <div class="load-more">
                  <Button onClick={() => void loadMore()} pending={loadingMore}>
                    Load more
                  </Button>
                </div>
              )}
            </>
          );
        }}
      </ResourceView>
    </Page>
  );
}
