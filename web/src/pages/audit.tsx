import { useState } from 'preact/hooks';
import { api, type AuditEntry } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ResourceTable, type Column } from '../components/data-table.tsx';
import { SelectField } from '../components/field.tsx';
import { Badge, Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { useResource } from '../hooks/use-resource.ts';

// Imperative phrasing reads right with either outcome ("Sign in — Failed").
const ACTIONS: Record<string, string> = {
  setup: 'Set up instance',
  login: 'Sign in',
  logout: 'Sign out',
  'password.change': 'Change password',
  'user.create': 'Add user',
  'user.update': 'Update user',
  'user.disable': 'Disable user',
  'user.enable': 'Enable user',
  'user.delete': 'Delete user',
  'user.role': 'Change role',
  'apikey.create': 'Create API key',
  'apikey.revoke': 'Revoke API key',
  'organisation.create': 'Create organisation',
};

const TARGET_TYPES: Record<string, string> = { user: 'User', apiKey: 'API key', apikey: 'API key', organisation: 'Organisation' };

function actor({ actor: a }: AuditEntry): string {
  if (a.type === 'anonymous') return 'Anonymous';
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

const LIMITS = ['50', '100', '250', '500'].map((n) => ({ value: n, label: `Latest ${n}` }));

export function AuditPage() {
  const [limit, setLimit] = useState('100');
  const entries = useResource(() => api.listAudit(Number(limit)).then((r) => r.entries), [limit]);
  return (
    <Page
      title="Audit log"
      intro="Security-relevant events in your organisation, newest first."
      actions={
        <Button onClick={entries.reload} pending={entries.loading}>
          Refresh
        </Button>
      }
    >
      <div class="toolbar">
        <SelectField label="Show" name="limit" value={limit} error={undefined} onValue={setLimit} options={LIMITS} />
      </div>
      <ResourceTable resource={entries} caption="Audit log entries" columns={columns} rowKey={(e) => e.id} empty="Nothing has been recorded yet." />
    </Page>
  );
}
