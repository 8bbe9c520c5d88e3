import { api, type ComponentHealth, type DiskStatus, type HealthReport } from '../api.ts';
import { Button } from '../components/button.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { Badge } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { useMe } from '../hooks/use-session.ts';
import { useResource } from '../hooks/use-resource.ts';
import { Models } from './settings.tsx';

// The operator's view of the server (#12): each component's health, the job queue, disk space and
// the models. The page is a column of panels, each its own component reading its own endpoint, so
// the backups panel and the charts (request and voice latency, usage, ingestion) join it as panels
// of their own, in the places marked below, without touching these.

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

export function SystemPage() {
  const me = useMe();
  // Health, queue and disk are the whole instance's, so the instance owner's alone (as /readyz's detail is).
  const owner = me.user.instanceOwner;
  const health = useResource(() => (owner ? api.systemHealth() : Promise.resolve(null)), [owner]);
  const disk = useResource(() => (owner ? api.systemDisk() : Promise.resolve(null)), [owner]);
  const models = useResource(() => api.systemModels(), []);
  const refresh = () => {
    health.reload();
    disk.reload();
    models.reload();
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
      {/* Backups panel: last success, last drill, run one now (#12, backups). */}
      <section class="panel" aria-labelledby="models-heading">
        <h2 id="models-heading">Models</h2>
        <ResourceView resource={models}>{(m) => <Models models={m} />}</ResourceView>
      </section>
      {/* Charts: request latency, voice latency, usage over time, ingestion (#12, metrics). */}
    </Page>
  );
}
