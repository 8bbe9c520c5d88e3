import { api, type LimitUse } from '../api.ts';
import { ResourceTable, type Column } from '../components/data-table.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { LIMIT_LABELS } from '../limits.ts';

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function standing(s: LimitUse['caller'] | null): string {
  if (!s) return '—';
  return s.limit === 0 ? `${integer.format(s.used)} (no limit)` : `${integer.format(s.used)} of ${integer.format(s.limit)}`;
}

function resets(use: LimitUse): string {
  if (use.window === 'open') return 'As sessions close';
  const seconds = use.caller.resetSeconds;
  if (use.window === 'day') return 'At midnight UTC';
  return seconds === null ? 'A minute after the next use' : `In ${seconds} s`;
}

const columns: Column<LimitUse>[] = [
  { header: 'Limit', class: 'cell-wrap cell-name', cell: (u) => LIMIT_LABELS[u.setting].label },
  { header: 'You', cell: (u) => standing(u.caller) },
  { header: 'Organisation', cell: (u) => standing(u.organisation) },
  { header: 'Window starts again', cell: resets },
  {
    header: 'Refused today',
    cell: (u) => (u.refusedToday.organisation === null ? integer.format(u.refusedToday.caller) : `${integer.format(u.refusedToday.caller)} you · ${integer.format(u.refusedToday.organisation)} organisation`),
  },
];

/** The rate limits and quotas in force, what is used of each now, and what was refused today. */
export function LimitsUse() {
  const report = useResource(() => api.usageLimits().then((r) => r.usage), []);
  return (
    <section class="panel" aria-labelledby="limits-heading">
      <h2 id="limits-heading">Limits</h2>
      <p class="muted">
        What you (this account) and the whole organisation have used of each limit in its current window: a minute from the first use, or the UTC day for voice input. Requests past a limit are refused;
        admins change the limits in Settings.
      </p>
      <ResourceTable resource={report} caption="Limits and what is used of them" columns={columns} rowKey={(u) => u.name} empty="No limits." />
    </section>
  );
}
