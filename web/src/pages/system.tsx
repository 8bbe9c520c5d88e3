import { api, type ComponentHealth, type DiskStatus, type HealthReport, type SystemHistory } from '../api.ts';
import { LineChart } from '../components/line-chart.tsx';
import { Button } from '../components/button.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { Badge } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { useMe } from '../hooks/use-session.ts';
import { useResource } from '../hooks/use-resource.ts';
import { Models } from './settings.tsx';
import { BackupsSummary } from './system-backups.tsx';
import { ModelDownloadsPanel } from './system-models.tsx';

// The operator's view of the server (#12): each component's health, the job queue, disk space,
// backups, the models (with downloads) and activity charts. The page is a column of panels, each its
// own component reading its own endpoint.

const STATE: Record<ComponentHealth['state'], { label: string; tone: 'good' | 'bad' | 'info' | 'neutral' }> = {
  ok: { label: 'OK', tone: 'good' },
  degraded: { label: 'Degraded', tone: 'info' },
  loading: { label: 'Loading', tone: 'neutral' },
  down: { label: 'Down', tone: 'bad' },
};

const OVERALL: Record<HealthReport['status'], string> = {
  ready: 'Ready: every component answers.',
  loading: 'Starting: some components are still loading.',
  not_ready: 'Not ready: a component is down.',
};

const componentColumns: Column<ComponentHealth>[] = [
  { header: 'Component', class: 'cell-name', cell: (c) => c.name },
  { header: 'Implementation', cell: (c) => c.kind },
  { header: 'State', cell: (c) => <Badge tone={STATE[c.state].tone}>{STATE[c.state].label}</Badge> },
  { header: 'Details', class: 'cell-wrap', cell: (c) => c.message ?? '' },
  { header: 'Checked in', cell: (c) => `${Math.round(c.ms)} ms` },
];

const bytes = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'gigabyte', maximumFractionDigits: 1 });
const gigabytes = (n: number) => bytes.format(n / 1e9);

function Components({ report }: { report: HealthReport }) {
  return (
    <>
      <p role="status">{OVERALL[report.status]}</p>
      <DataTable caption="Components and their readiness" columns={componentColumns} rows={report.components} rowKey={(c) => c.name} empty="No components reported." />
    </>
  );
}

/** The queue's own readiness line says what it holds: "N pending, N running, N failed". */
function Queue({ report }: { report: HealthReport }) {
  const queue = report.components.find((c) => c.name === 'queue');
  if (!queue) return <p class="muted">This server reports no job queue.</p>;
  return (
    <p>
      <Badge tone={STATE[queue.state].tone}>{STATE[queue.state].label}</Badge> {queue.kind === 'redis' ? 'In Redis' : `In the ${queue.kind} store`}: {queue.message ?? 'no counts reported'}.
    </p>
  );
}

function Disk({ disk }: { disk: DiskStatus }) {
  const share = disk.totalBytes > 0 ? disk.freeBytes / disk.totalBytes : 0;
  const low = share < 0.1;
  return (
    <>
      <p>
        <meter id="disk-free" min={0} max={disk.totalBytes} low={disk.totalBytes * 0.1} optimum={disk.totalBytes} value={disk.freeBytes} aria-labelledby="disk-heading disk-text" />{' '}
        <span id="disk-text">
          {gigabytes(disk.freeBytes)} free of {gigabytes(disk.totalBytes)} ({Math.round(share * 100)} %) on the disk holding DATA_DIR
        </span>
      </p>
      {low && <p class="failure">Less than 10 % is free: uploads, backups and the search index need room to grow.</p>}
    </>
  );
}

/** How far back the charts look, minutes. */
const CHART_MINUTES = 180;
const number = new Intl.NumberFormat();
const sum = (values: ReadonlyArray<number | null>) => values.reduce<number>((total, v) => total + (v ?? 0), 0);
const peak = (values: ReadonlyArray<number | null>) => values.reduce<number | null>((top, v) => (v === null ? top : Math.max(top ?? v, v)), null);

function Activity({ history }: { history: SystemHistory }) {
  const points = history.points;
  const times = points.map((p) => Date.parse(p.at) / 1000);
  const of = <K extends keyof SystemHistory['points'][number]>(key: K) => points.map((p) => p[key] as number | null);
  const requests = of('requests');
  const errors = of('serverErrors');
  const p95 = of('p95Ms');
  const firstAudio = of('firstAudioMs');
  const answers = of('answers');
  const documents = of('documents');
  const ms = (v: number | null) => (v === null ? 'none measured' : `${number.format(v)} ms`);
  return (
    <div class="charts">
      <LineChart
        id="chart-requests"
        title="API requests per minute"
        summary={`${number.format(sum(requests))} in the last ${CHART_MINUTES / 60} hours, ${number.format(sum(errors))} of them failed on the server (5xx).`}
        times={times}
        unit="requests"
        series={[
          { label: 'Requests', values: requests, stroke: '--color-chart-1' },
          { label: 'Server errors', values: errors, stroke: '--color-chart-2', dash: [6, 4] },
        ]}
      />
      <LineChart id="chart-latency" title="Request latency (95th percentile)" summary={`At worst ${ms(peak(p95))} in a minute.`} times={times} unit="ms" series={[{ label: 'p95', values: p95, stroke: '--color-chart-3' }]} />
      <LineChart id="chart-voice" title="Voice: end of speech to first audio (median)" summary={`At worst ${ms(peak(firstAudio))} in a minute.`} times={times} unit="ms" series={[{ label: 'First audio', values: firstAudio, stroke: '--color-chart-4' }]} />
      <LineChart
        id="chart-usage"
        title="Answers and documents ingested per minute"
        summary={`${number.format(sum(answers))} answers and ${number.format(sum(documents))} documents (${number.format(sum(of('pages')))} pages) ingested.`}
        times={times}
        unit="per minute"
        series={[
          { label: 'Answers', values: answers, stroke: '--color-chart-1' },
          { label: 'Documents', values: documents, stroke: '--color-chart-3', dash: [6, 4] },
        ]}
      />
    </div>
  );
}

export function SystemPage() {
  const me = useMe();
  // Health, queue and disk are the whole instance's, so the instance owner's alone (as /readyz's detail is).
  const owner = me.user.instanceOwner;
  const health = useResource(() => (owner ? api.systemHealth() : Promise.resolve(null)), [owner]);
  const disk = useResource(() => (owner ? api.systemDisk() : Promise.resolve(null)), [owner]);
  const models = useResource(() => api.systemModels(), []);
  const history = useResource(() => (owner ? api.systemHistory(CHART_MINUTES) : Promise.resolve(null)), [owner]);
  const backups = useResource(() => (owner ? api.backups() : Promise.resolve(null)), [owner]);
  const refresh = () => {
    health.reload();
    disk.reload();
    models.reload();
    history.reload();
    backups.reload();
  };

  return (
    <Page
      title="System"
      intro="How this Lectern server is doing: its components, the job queue, disk space and models."
      actions={
        <Button onClick={refresh} disabled={health.loading || disk.loading || models.loading}>
          Refresh
        </Button>
      }
    >
      {!owner && <p class="muted">Component health, the job queue and disk space are shown to the instance owner, who runs the server.</p>}
      {owner && (
        <section class="panel" aria-labelledby="health-heading">
          <h2 id="health-heading">Components</h2>
          <ResourceView resource={health}>{(report) => report && <Components report={report} />}</ResourceView>
        </section>
      )}
      {owner && (
        <section class="panel" aria-labelledby="queue-heading">
          <h2 id="queue-heading">Job queue</h2>
          <ResourceView resource={health}>{(report) => report && <Queue report={report} />}</ResourceView>
        </section>
      )}
      {owner && (
        <section class="panel" aria-labelledby="disk-heading">
          <h2 id="disk-heading">Disk</h2>
          <ResourceView resource={disk}>{(space) => space && <Disk disk={space} />}</ResourceView>
        </section>
      )}
      {owner && (
        <section class="panel" aria-labelledby="backups-heading">
          <h2 id="backups-heading">Backups</h2>
          <ResourceView resource={backups}>{(report) => report && <BackupsSummary report={report} />}</ResourceView>
        </section>
      )}
      <section class="panel" aria-labelledby="models-heading">
        <h2 id="models-heading">Models</h2>
        <ResourceView resource={models}>{(m) => <Models models={m} />}</ResourceView>
        {owner && (
          <>
            <h3>Download</h3>
            <ResourceView resource={models}>{(m) => <ModelDownloadsPanel models={m} onInstalled={models.reload} />}</ResourceView>
          </>
        )}
      </section>
      {owner && (
        <section class="panel" aria-labelledby="activity-heading">
          <h2 id="activity-heading">Activity</h2>
          <p class="muted">The last {CHART_MINUTES / 60} hours of this server process, minute by minute (kept in memory: a restart starts afresh; Prometheus keeps the long view, see /metrics).</p>
          <ResourceView resource={history}>{(h) => h && <Activity history={h} />}</ResourceView>
        </section>
      )}
    </Page>
  );
}
