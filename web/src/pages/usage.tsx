import { useId, useState } from 'preact/hooks';
import { api, type UsageGroup, type UsageRow } from '../api.ts';
import { BarChart } from '../components/bar-chart.tsx';
import { addDays, everyDay } from '../components/chart-scale.ts';
import { DataTable, ResourceTable, type Column } from '../components/data-table.tsx';
import { SelectField } from '../components/field.tsx';
import { Page } from '../components/page.tsx';
import { RadioGroup } from '../components/radio-group.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { LimitsUse } from './usage-limits.tsx';

type Metric = 'messages' | 'tokens';
type Breakdown = Exclude<UsageGroup, 'day'>;

const DEFAULT_DAYS = 30;
const integer = new Intl.NumberFormat();
const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 4 });
// Usage days are UTC days (the ledger's), so they are labelled in UTC too.
const dayLabel = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const dayLong = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
const showDay = (day: string, format = dayLabel) => format.format(new Date(`${day}T00:00:00Z`));

const tokens = (r: UsageRow) => r.promptTokens + r.completionTokens;
const metricOf: Record<Metric, (r: UsageRow) => number> = { messages: (r) => r.messages, tokens };
const metricUnit: Record<Metric, string> = { messages: 'messages', tokens: 'tokens' };
const ms = (v: number | null) => (v === null ? '—' : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`);

const emptyRow = (key: string): UsageRow => ({ key, messages: 0, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, cost: 0, cloudMessages: 0, avgFirstTokenMs: null, avgTotalMs: 0, audioInSeconds: 0, audioOutSeconds: 0, charactersSynthesised: 0 });

/** The columns every breakdown shares; the first one names the row. */
function usageColumns(name: Column<UsageRow>): Column<UsageRow>[] {
  return [
    name,
    { header: 'Messages', cell: (r) => integer.format(r.messages) },
    { header: 'Cloud messages', cell: (r) => integer.format(r.cloudMessages) },
    { header: 'Prompt tokens', cell: (r) => integer.format(r.promptTokens) },
    { header: 'Cached tokens', cell: (r) => integer.format(r.cachedPromptTokens) },
    { header: 'Completion tokens', cell: (r) => integer.format(r.completionTokens) },
    { header: 'Cost estimate', cell: (r) => money.format(r.cost) },
    { header: 'Avg first token', cell: (r) => ms(r.avgFirstTokenMs) },
    { header: 'Avg total', cell: (r) => ms(r.avgTotalMs) },
    { header: 'Voice in / out', cell: (r) => (r.audioInSeconds || r.audioOutSeconds ? `${r.audioInSeconds} s / ${r.audioOutSeconds} s` : '—') },
  ];
}

const BREAKDOWNS: { value: Breakdown; label: string }[] = [
  { value: 'user', label: 'User' },
  { value: 'kb', label: 'Knowledge base' },
  { value: 'engine', label: 'Engine' },
];

function engineName(key: string): string {
  if (key === 'extractive') return 'Passage search (no language model)';
  if (key === 'local') return 'Local model';
  return key.startsWith('cloud:') ? `Cloud (${key.slice('cloud:'.length)})` : key;
}

/** Names for the ids the ledger groups by; ids of deleted users or knowledge bases stay visible as ids. */
function useNames() {
  const lookup = useResource(async () => {
    const [{ users }, { kbs }, { apiKeys }] = await Promise.all([api.listUsers(), api.listKbs(), api.listApiKeys()]);
    return new Map<string, string>([
      ...users.map((u) => [u.id, u.name] as const),
      ...kbs.map((k) => [k.id, k.name] as const),
      ...apiKeys.map((k) => [`apiKey:${k.id}`, `API key “${k.name}”`] as const),
    ]);
  }, []);
  return (group: Breakdown, key: string): string => {
    if (group === 'engine') return engineName(key);
    const known = lookup.data?.get(key);
    if (known) return known;
    if (key.startsWith('apiKey:')) return `Revoked API key (${key.slice('apiKey:'.length)})`;
    return key === 'unknown' || key === 'none' ? 'Unknown' : `Deleted (${key})`;
  };
}

function DateField({ label, value, onValue, min, max }: { label: string; value: string; onValue(v: string): void; min?: string; max?: string }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} type="date" value={value} min={min} max={max} required onChange={(e) => e.currentTarget.value && onValue(e.currentTarget.value)} />
    </div>
  );
}

function chartSummary(days: readonly UsageRow[], metric: Metric): string {
  const value = metricOf[metric];
  const total = days.reduce((sum, d) => sum + value(d), 0);
  const busiest = days.reduce<UsageRow | null>((best, d) => (value(d) > (best ? value(best) : 0) ? d : best), null);
  const range = days.length ? `from ${showDay(days[0]?.key ?? '', dayLong)} to ${showDay(days.at(-1)?.key ?? '', dayLong)}` : '';
  const peak = busiest ? `; the busiest day was ${showDay(busiest.key, dayLong)} with ${integer.format(value(busiest))}` : '';
  return `Bar chart of ${metricUnit[metric]} per day ${range}: ${integer.format(total)} in total${peak}. The table “Every day” lists each day.`;
}

const dayColumns = usageColumns({ header: 'Day', cell: (r) => <time dateTime={r.key}>{showDay(r.key, dayLong)}</time> });

function Daily({ rows, from, to }: { rows: UsageRow[]; from: string; to: string }) {
  const [metric, setMetric] = useState<Metric>('messages');
  const days = everyDay(rows, from, to, emptyRow);
  const value = metricOf[metric];
  const totals = rows.reduce((t, r) => ({ messages: t.messages + r.messages, cloud: t.cloud + r.cloudMessages, tokens: t.tokens + tokens(r), cost: t.cost + r.cost }), { messages: 0, cloud: 0, tokens: 0, cost: 0 });
  const stats: [string, string][] = [
    ['Messages', integer.format(totals.messages)],
    ['Sent to a cloud engine', integer.format(totals.cloud)],
    ['Tokens', integer.format(totals.tokens)],
    ['Cost estimate', money.format(totals.cost)],
  ];
  return (
    <>
      <dl class="stats">
        {stats.map(([k, v]) => (
          <div key={k} class="stat">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <RadioGroup legend="Chart" name="metric" layout="inline" value={metric} onValue={(v) => setMetric(v as Metric)} options={[{ value: 'messages', label: 'Messages' }, { value: 'tokens', label: 'Tokens' }]} />
      <BarChart
        bars={days.map((d) => ({ key: d.key, value: value(d), title: `${showDay(d.key, dayLong)}: ${integer.format(value(d))} ${metricUnit[metric]}` }))}
        summary={chartSummary(days, metric)}
        startLabel={showDay(from)}
        endLabel={showDay(to)}
        format={(n) => integer.format(n)}
      />
      <details class="chart-table">
        <summary>Every day</summary>
        <DataTable caption="Every day" columns={dayColumns} rows={days.toReversed()} rowKey={(r) => r.key} empty="No days in this range." />
      </details>
    </>
  );
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export function UsagePage() {
  const [to, setTo] = useState(today);
  const [from, setFrom] = useState(() => addDays(today(), 1 - DEFAULT_DAYS));
  const [group, setGroup] = useState<Breakdown>('user');
  const name = useNames();
  // The form's dates are inclusive; the API's `to` is exclusive.
  const range = { from, to: addDays(to, 1) };
  const daily = useResource(() => api.usage({ groupBy: 'day', ...range }).then((r) => r.rows), [from, to]);
  const breakdown = useResource(() => api.usage({ groupBy: group, ...range }).then((r) => r.rows), [group, from, to]);
  const label = BREAKDOWNS.find((b) => b.value === group)?.label ?? '';

  return (
    <Page title="Usage" intro="Questions answered in your organisation, the tokens they used, what cloud engines would cost, and where each rate limit stands. Days are UTC days.">
      <div class="toolbar usage-range">
        <DateField label="From" value={from} max={to} onValue={setFrom} />
        <DateField label="To" value={to} min={from} onValue={setTo} />
      </div>
      <section class="panel" aria-labelledby="daily-heading">
        <h2 id="daily-heading">Per day</h2>
        <ResourceView resource={daily}>{(rows) => <Daily rows={rows} from={from} to={to} />}</ResourceView>
      </section>
      <LimitsUse />
      <section class="panel" aria-labelledby="breakdown-heading">
        <div class="section-header">
          <h2 id="breakdown-heading">By {label.toLowerCase()}</h2>
          <div class="toolbar">
            <SelectField label="Group by" name="group" value={group} error={undefined} onValue={(v) => setGroup(v as Breakdown)} options={BREAKDOWNS} />
          </div>
        </div>
        <ResourceTable
          resource={breakdown}
          caption={`Usage by ${label.toLowerCase()}`}
          columns={usageColumns({ header: label, class: 'cell-wrap cell-name', cell: (r) => name(group, r.key) })}
          rowKey={(r) => r.key}
          empty="Nothing was asked in this range."
        />
      </section>
    </Page>
  );
}
